"""Checks a pipeline passes before it runs; each raises ``InvalidPipeline`` with the fix."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any

from gazer.core.step import Step
from gazer.errors import InvalidParam, InvalidPipeline


def check_unique_names(steps: Sequence[Step]) -> None:
    seen: set[str] = set()
    for s in steps:
        if s.name in seen:
            raise InvalidPipeline(
                f"two steps are named {s.name!r}; rename one with {s.name}.named('other_name')"
            )
        seen.add(s.name)


def check_wiring_targets(steps: Mapping[str, Step], wiring: Mapping[str, str]) -> None:
    for target, source in wiring.items():
        step_name, _, input_name = target.partition(".")
        if step_name not in steps or input_name not in steps[step_name].inputs:
            known = [f"{s.name}.{i}" for s in steps.values() for i in s.inputs]
            raise InvalidPipeline(
                f"wiring key {target!r} must name a step input as STEP.INPUT; "
                f"known inputs: {', '.join(known) or 'none'}"
            )
        producer, _, output = source.partition(".")
        if producer not in steps:
            raise InvalidPipeline(
                f"wiring {target!r} <- {source!r}: no step named {producer!r}"
                f"{_hint(producer, steps)}"
            )
        if output and output not in steps[producer].outputs:
            raise InvalidPipeline(
                f"wiring {target!r} <- {source!r}: step {producer!r} outputs "
                f"{', '.join(steps[producer].outputs)}, not {output!r}"
            )


def check_inputs_satisfied(
    steps: Mapping[str, Step], edges: Mapping[str, Mapping[str, tuple[str, str] | None]]
) -> None:
    for name, inputs in edges.items():
        for input_name, source in inputs.items():
            if source is None:
                available = [f"{o} (from {s.name})" for s in steps.values() for o in s.outputs]
                raise InvalidPipeline(
                    f"step {name!r} needs input {input_name!r} but no step outputs "
                    f"{input_name!r}; outputs available: {', '.join(available) or 'none'}. "
                    f"Fix: name an output {input_name!r} with @step(outputs=...) or wire it: "
                    f"Pipeline(..., wiring={{'{name}.{input_name}': 'STEP.OUTPUT'}})"
                )


def check_no_cycles(edges: Mapping[str, Mapping[str, tuple[str, str] | None]]) -> list[str]:
    """Return the steps in a topological order, or raise on a cycle."""
    deps = {n: {src[0] for src in ins.values() if src} for n, ins in edges.items()}
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        if state.get(node) == 2:
            return
        if state.get(node) == 1:
            cycle = " -> ".join([*path[path.index(node) :], node])
            raise InvalidPipeline(f"the steps form a cycle: {cycle}; remove one of these edges")
        state[node] = 1
        for dep in sorted(deps[node]):
            visit(dep, [*path, node])
        state[node] = 2
        order.append(node)

    for node in edges:
        visit(node, [])
    return order


def check_params_known(steps: Mapping[str, Step], params: Mapping[str, Any]) -> None:
    known = [f"{s.name}.{p}" for s in steps.values() for p in s.params]
    for key in params:
        step_name, dot, param = key.partition(".")
        if not dot or not param:
            close = difflib.get_close_matches(key, [k.split(".")[1] for k in known], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise InvalidParam(f"no step has a param {key!r}{hint} Known params: "
                               f"{', '.join(known) or 'none'}")
        if step_name not in steps or param not in steps[step_name].params:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise InvalidParam(
                f"unknown param {key!r}{hint} Known params: {', '.join(known) or 'none'}"
            )


def _hint(name: str, steps: Mapping[str, Step]) -> str:
    close = difflib.get_close_matches(name, list(steps), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""
