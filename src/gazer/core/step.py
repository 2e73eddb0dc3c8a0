"""Steps: typed functions (or parameter-storing classes) that a pipeline wires together.

A step's parameters *without* defaults are its inputs, filled with artifacts produced by
upstream steps; parameters *with* defaults are its params, settable per run
(``--param train.C=0.5``). A class step stores its params in ``__init__`` (as a
scikit-learn estimator does) and does its work in ``run``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import textwrap
from collections.abc import Callable, Mapping
from typing import Any, overload

from gazer.errors import InvalidArtifact, InvalidParam, InvalidPipeline


@dataclasses.dataclass(frozen=True)
class Step:
    """One named unit of work; ``outputs`` names what it returns."""

    name: str
    fn: Callable[..., Any]
    inputs: tuple[str, ...]
    params: Mapping[str, Any]
    annotations: Mapping[str, Any]
    outputs: tuple[str, ...]
    retries: int = 0
    retry_delay_s: float = 1.0
    timeout_s: float | None = None
    cache: bool = True
    # what the step needs from the node it runs on (the ray executor's scheduling):
    # ``num_cpus``, ``num_gpus``, ``memory`` in bytes, and custom Ray resources
    resources: Mapping[str, float] = dataclasses.field(default_factory=dict)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the step as a plain function (handy in notebooks and unit tests)."""
        if inspect.isclass(self.fn):
            params = {k: kwargs.pop(k) for k in list(kwargs) if k in self.params}
            return self.fn(**params).run(*args, **kwargs)  # type: ignore[attr-defined]
        return self.fn(*args, **kwargs)

    def named(self, name: str) -> Step:
        """A copy of this step under another name, to use the same code twice."""
        return dataclasses.replace(self, name=name)

    def with_params(self, **defaults: Any) -> Step:
        """A copy whose params default to ``defaults`` (names must be params of the step)."""
        unknown = sorted(set(defaults) - set(self.params))
        if unknown:
            raise InvalidParam(f"step {self.name!r} has no param {', '.join(unknown)}; its "
                               f"params: {', '.join(self.params) or 'none'}")
        return dataclasses.replace(self, params={**self.params, **defaults})

    def with_options(self, **options: Any) -> Step:
        """A copy with other options (``retries``, ``timeout_s``, ``cache``, ...)."""
        return dataclasses.replace(self, **options)

    @property
    def code_hash(self) -> str:
        """Hash of the step's source, so editing the code invalidates its cache."""
        try:
            code = textwrap.dedent(inspect.getsource(self.fn))
        except (OSError, TypeError):
            code_obj = getattr(self.fn, "__code__", None)
            code = repr((code_obj.co_code, code_obj.co_consts)) if code_obj else repr(self.fn)
        digest = hashlib.sha256(code.encode())
        digest.update(repr(self.outputs).encode())
        return digest.hexdigest()[:16]

    def invoke(self, inputs: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
        """Run the step's code and return its outputs by name."""
        if inspect.isclass(self.fn):
            result = self.fn(**params).run(**inputs)  # type: ignore[attr-defined]
        else:
            result = self.fn(**inputs, **params)
        return self._name_outputs(result)

    def _name_outputs(self, result: Any) -> dict[str, Any]:
        if len(self.outputs) == 1:
            return {self.outputs[0]: result}
        if isinstance(result, Mapping) and set(result) == set(self.outputs):
            return dict(result)
        if isinstance(result, tuple | list) and len(result) == len(self.outputs):
            return dict(zip(self.outputs, result, strict=True))
        raise InvalidArtifact(
            f"step {self.name!r} declares outputs {self.outputs} and must return a tuple of "
            f"{len(self.outputs)} values or a dict with those keys; got {type(result).__name__}"
        )


@overload
def step(fn: Callable[..., Any], /) -> Step: ...
@overload
def step(
    *,
    name: str | None = None,
    outputs: str | tuple[str, ...] | list[str] | None = None,
    retries: int = 0,
    retry_delay_s: float = 1.0,
    timeout_s: float | None = None,
    cache: bool = True,
    resources: Mapping[str, Any] | None = None,
) -> Callable[[Callable[..., Any]], Step]: ...


def step(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    outputs: str | tuple[str, ...] | list[str] | None = None,
    retries: int = 0,
    retry_delay_s: float = 1.0,
    timeout_s: float | None = None,
    cache: bool = True,
    resources: Mapping[str, Any] | None = None,
) -> Step | Callable[[Callable[..., Any]], Step]:
    """Make a function or class a pipeline step; usable bare (``@step``) or with options.

    Args:
        name: the step's name in a pipeline (default: the function's name).
        outputs: the name(s) of what it returns (default: the step's name).
        retries: extra attempts after a failure, waiting ``retry_delay_s * 2**attempt``.
        timeout_s: optional wall-clock limit; the step then runs in its own process.
        cache: whether an unchanged step (code, params, inputs) may be skipped.
        resources: what it needs from the node it runs on, for the ray executor:
            ``{"num_cpus": 2, "memory": "4GB", "num_gpus": 1}`` and any custom Ray resource
            (``{"accelerator_v100": 1}``). The local executor runs it as it is.
    """

    def wrap(target: Callable[..., Any]) -> Step:
        step_name = name or target.__name__
        out = (outputs,) if isinstance(outputs, str) else tuple(outputs or (step_name,))
        inputs, params, annotations = _signature(target, step_name)
        if retries < 0 or (timeout_s is not None and timeout_s <= 0):
            raise InvalidPipeline(f"step {step_name!r}: retries must be >= 0 and timeout_s > 0")
        return Step(
            name=step_name,
            fn=target,
            inputs=inputs,
            params=params,
            annotations=annotations,
            outputs=out,
            retries=retries,
            retry_delay_s=retry_delay_s,
            timeout_s=timeout_s,
            cache=cache,
            resources=parse_resources(step_name, resources or {}),
        )

    return wrap(fn) if fn is not None else wrap


_UNITS = {"b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4,
          "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4}


def parse_resources(step_name: str, resources: Mapping[str, Any]) -> dict[str, float]:
    """``resources`` as numbers (``memory`` in bytes: ``"4GB"``, ``"512MiB"`` or a number);
    anything negative, non-numeric or an unknown unit is refused with what was expected."""
    out: dict[str, float] = {}
    for key, value in resources.items():
        if key == "memory" and isinstance(value, str):
            text = value.strip().lower().replace(" ", "")
            number = text.rstrip("abcdefghijklmnopqrstuvwxyz")
            unit = text[len(number):] or "b"
            if unit not in _UNITS or not number:
                raise InvalidPipeline(f"step {step_name!r}: memory must be bytes or a size "
                                      f"like '4GB' or '512MiB'; got {value!r}")
            value = float(number) * _UNITS[unit]
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise InvalidPipeline(f"step {step_name!r}: resource {key!r} must be a number >= 0 "
                                  f"(num_cpus, num_gpus, memory, or a custom Ray resource); "
                                  f"got {value!r}")
        out[str(key)] = float(value)
    return out


def _signature(
    target: Callable[..., Any], step_name: str
) -> tuple[tuple[str, ...], dict[str, Any], dict[str, Any]]:
    """Split a callable's signature into inputs (no default) and params (default)."""
    if inspect.isclass(target):
        if not callable(getattr(target, "run", None)):
            raise InvalidPipeline(f"class step {step_name!r} needs a run(self, ...) method")
        param_sig = _parameters(target.__init__, step_name, skip_self=True)  # type: ignore[misc]
        input_sig = _parameters(target.run, step_name, skip_self=True)  # type: ignore[attr-defined]
        params = {p.name: p.default for p in param_sig}
        if any(p.default is inspect.Parameter.empty for p in param_sig):
            raise InvalidPipeline(
                f"class step {step_name!r}: every __init__ parameter needs a default"
            )
        inputs = tuple(p.name for p in input_sig)
        annotations = {p.name: p.annotation for p in (*param_sig, *input_sig)}
        return inputs, params, annotations
    sig = _parameters(target, step_name, skip_self=False)
    inputs = tuple(p.name for p in sig if p.default is inspect.Parameter.empty)
    params = {p.name: p.default for p in sig if p.default is not inspect.Parameter.empty}
    return inputs, params, {p.name: p.annotation for p in sig}


def _parameters(
    fn: Callable[..., Any], step_name: str, *, skip_self: bool
) -> list[inspect.Parameter]:
    try:
        hints = inspect.get_annotations(fn, eval_str=True)
    except Exception:  # unresolvable forward references: keep the raw strings
        hints = getattr(fn, "__annotations__", {})
    found = []
    for i, p in enumerate(inspect.signature(fn).parameters.values()):
        if skip_self and i == 0:
            continue
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise InvalidPipeline(
                f"step {step_name!r}: *args/**kwargs cannot be wired; name each input"
            )
        found.append(p.replace(annotation=hints.get(p.name, p.annotation)))
    return found
