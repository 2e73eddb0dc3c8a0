"""``Pipeline``: a named DAG of steps, wired by input/output names or explicitly."""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter, ValidationError

from gazer.core import checks
from gazer.core.step import Step
from gazer.errors import InvalidParam
from gazer.settings import get_settings

if TYPE_CHECKING:
    from gazer.core.runs import RunRecord
    from gazer.settings import Settings


class Pipeline:
    """A DAG of named steps; checked on construction, so a bad pipeline never starts.

    ``wiring`` maps ``"step.input"`` to ``"producer"`` or ``"producer.output"`` where names
    alone do not say which output feeds which input.
    """

    def __init__(
        self,
        name: str,
        steps: Sequence[Step],
        *,
        wiring: Mapping[str, str] | None = None,
        description: str = "",
    ) -> None:
        checks.check_unique_names(steps)
        self.name = name
        self.description = description
        self.steps: dict[str, Step] = {s.name: s for s in steps}
        self.wiring = dict(wiring or {})
        checks.check_wiring_targets(self.steps, self.wiring)
        self.edges = self._resolve_edges()
        checks.check_inputs_satisfied(self.steps, self.edges)
        self.order = checks.check_no_cycles(self.edges)  # type: ignore[arg-type]

    def _resolve_edges(self) -> dict[str, dict[str, tuple[str, str] | None]]:
        producers: dict[str, list[str]] = {}
        for s in self.steps.values():
            for out in s.outputs:
                producers.setdefault(out, []).append(s.name)
        edges: dict[str, dict[str, tuple[str, str] | None]] = {}
        for s in self.steps.values():
            edges[s.name] = {}
            for inp in s.inputs:
                explicit = self.wiring.get(f"{s.name}.{inp}")
                if explicit:
                    producer, _, output = explicit.partition(".")
                    edges[s.name][inp] = (producer, output or _only_output(self.steps[producer]))
                    continue
                candidates = [p for p in producers.get(inp, []) if p != s.name]
                if len(candidates) > 1:
                    raise checks.InvalidPipeline(
                        f"step {s.name!r} input {inp!r} could come from any of "
                        f"{', '.join(candidates)}; wire it: wiring={{'{s.name}.{inp}': "
                        f"'{candidates[0]}.{inp}'}}"
                    )
                edges[s.name][inp] = (candidates[0], inp) if candidates else None
        return edges

    def upstream(self, name: str) -> set[str]:
        """The steps whose outputs ``name`` reads."""
        return {src[0] for src in self.edges[name].values() if src}

    def levels(self) -> list[list[str]]:
        """The steps in rank order of the DAG: a step's rank is one more than its deepest
        upstream step's, so steps of one rank can run side by side."""
        rank: dict[str, int] = {}
        for name in self.order:
            rank[name] = 1 + max((rank[u] for u in self.upstream(name)), default=-1)
        out: list[list[str]] = [[] for _ in range(max(rank.values(), default=-1) + 1)]
        for name in self.order:
            out[rank[name]].append(name)
        return out

    def defaults(self) -> dict[str, Any]:
        """Every param with its default, keyed ``step.param``."""
        return {f"{s.name}.{k}": v for s in self.steps.values() for k, v in s.params.items()}

    def resolve_params(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Defaults updated by ``overrides``, each checked against its annotation."""
        overrides = {self._qualify(k): v for k, v in (overrides or {}).items()}
        checks.check_params_known(self.steps, overrides)
        resolved = self.defaults()
        for key, value in overrides.items():
            step_name, _, param = key.partition(".")
            hint = self.steps[step_name].annotations.get(param)
            resolved[key] = _coerce(key, value, hint)
        return resolved

    def _qualify(self, key: str) -> str:
        """``dataset`` → ``importer.dataset`` when exactly one step has that param."""
        if "." in key:
            return key
        owners = [s.name for s in self.steps.values() if key in s.params]
        if len(owners) > 1:
            raise InvalidParam(
                f"param {key!r} is ambiguous: {', '.join(f'{o}.{key}' for o in owners)}; "
                f"name one as STEP.PARAM"
            )
        return f"{owners[0]}.{key}" if owners else key

    def run(
        self,
        params: Mapping[str, Any] | None = None,
        *,
        settings: Settings | None = None,
        executor: str | None = None,
        resume: str | None = None,
    ) -> RunRecord:
        """Run the pipeline on services built from ``settings``; raises ``RunFailed`` (a
        ``StepFailed``) unless the run succeeded."""
        from gazer.core.runner import run_once  # the runner builds on this module

        return run_once(self, params, settings=settings or get_settings(), executor=executor,
                        resume=resume)

    def __repr__(self) -> str:
        return f"Pipeline({self.name!r}, steps={self.order})"


def _only_output(step: Step) -> str:
    if len(step.outputs) != 1:
        raise checks.InvalidPipeline(
            f"step {step.name!r} has outputs {', '.join(step.outputs)}; wire one as "
            f"'{step.name}.OUTPUT'"
        )
    return step.outputs[0]


def _coerce(key: str, value: Any, hint: Any) -> Any:
    if hint is None or hint is Any or isinstance(hint, str) or hint is inspect.Parameter.empty:
        return value
    try:
        return TypeAdapter(hint).validate_python(value)
    except ValidationError as exc:
        expected = getattr(hint, "__name__", str(hint))
        raise InvalidParam(f"param {key!r} expects {expected}; got {value!r}") from exc
    except Exception:  # a type pydantic cannot validate (e.g. an arbitrary class): keep as is
        return value

