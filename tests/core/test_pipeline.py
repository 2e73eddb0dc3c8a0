"""Steps and pipelines: signatures, wiring and the checks run before anything starts."""

from __future__ import annotations

import pandas as pd
import pytest

from gazer import Pipeline, step
from gazer.errors import InvalidArtifact, InvalidParam, InvalidPipeline


@step(outputs="df")
def load(n: int = 10) -> pd.DataFrame:
    return pd.DataFrame({"x": range(n)})


@step(outputs="total")
def add(df: pd.DataFrame, offset: float = 0.0) -> float:
    return float(df["x"].sum() + offset)


def test_inputs_are_parameters_without_defaults_and_params_those_with() -> None:
    assert add.inputs == ("df",)
    assert dict(add.params) == {"offset": 0.0}
    assert add.outputs == ("total",)


def test_steps_stay_callable_as_plain_functions() -> None:
    assert add(load(3), offset=1) == 4.0


def test_class_steps_take_params_in_init_and_inputs_in_run() -> None:
    @step(outputs="scaled")
    class Scale:
        def __init__(self, factor: float = 2.0) -> None:
            self.factor = factor

        def run(self, total: float) -> float:
            return total * self.factor

    assert Scale.inputs == ("total",)
    assert dict(Scale.params) == {"factor": 2.0}
    assert Scale.invoke({"total": 3.0}, {"factor": 3.0}) == {"scaled": 9.0}


def test_wiring_by_name_orders_steps() -> None:
    pipe = Pipeline("p", [add, load])
    assert pipe.order == ["load", "add"]
    assert pipe.edges["add"] == {"df": ("load", "df")}


def test_explicit_wiring_feeds_one_step_into_a_renamed_copy() -> None:
    pipe = Pipeline("p", [load, add, add.named("add2")], wiring={"add2.df": "load.df"})
    assert pipe.edges["add2"] == {"df": ("load", "df")}


def test_a_missing_input_names_the_step_and_the_fix() -> None:
    with pytest.raises(InvalidPipeline, match=r"step 'add' needs input 'df'.*wiring="):
        Pipeline("p", [add])


def test_duplicate_names_are_refused_with_the_fix() -> None:
    with pytest.raises(InvalidPipeline, match=r"two steps are named 'load'.*named"):
        Pipeline("p", [load, load])


def test_cycles_are_refused_and_drawn() -> None:
    @step(outputs="a")
    def first(b: int) -> int:
        return b

    @step(outputs="b")
    def second(a: int) -> int:
        return a

    with pytest.raises(InvalidPipeline, match="cycle: .*first.*second|cycle: .*second.*first"):
        Pipeline("p", [first, second])


def test_ambiguous_producers_must_be_wired() -> None:
    with pytest.raises(InvalidPipeline, match="could come from any of"):
        Pipeline("p", [load, load.named("load2"), add])


def test_wiring_to_an_unknown_step_suggests_the_close_name() -> None:
    with pytest.raises(InvalidPipeline, match="did you mean 'load'"):
        Pipeline("p", [load, add], wiring={"add.df": "lod"})


def test_unknown_params_are_refused_with_a_suggestion() -> None:
    pipe = Pipeline("p", [load, add])
    with pytest.raises(InvalidParam, match="did you mean 'add.offset'"):
        pipe.resolve_params({"add.ofset": 1})
    assert pipe.resolve_params({"offset": 2})["add.offset"] == 2.0  # one step has it
    twice = Pipeline("p", [load, add, add.named("add2")], wiring={"add2.df": "load.df"})
    with pytest.raises(InvalidParam, match="ambiguous: add.offset, add2.offset"):
        twice.resolve_params({"offset": 1})
    with pytest.raises(InvalidParam, match="no step has a param 'ofset'; did you mean 'offset'"):
        pipe.resolve_params({"ofset": 1})


def test_params_are_coerced_to_their_annotation() -> None:
    pipe = Pipeline("p", [load, add])
    resolved = pipe.resolve_params({"load.n": "5", "add.offset": "0.5"})
    assert resolved == {"load.n": 5, "add.offset": 0.5}
    with pytest.raises(InvalidParam, match="expects float; got 'abc'"):
        pipe.resolve_params({"add.offset": "abc"})


def test_var_args_cannot_be_wired() -> None:
    with pytest.raises(InvalidPipeline, match=r"\*args"):
        step(lambda *xs: xs)


def test_multi_output_steps_must_return_matching_values() -> None:
    @step(outputs=("a", "b"))
    def pair() -> tuple[int, int]:
        return 1  # type: ignore[return-value]

    with pytest.raises(InvalidArtifact, match="tuple of 2"):
        pair.invoke({}, {})


def test_code_hash_changes_with_the_code() -> None:
    @step
    def one() -> int:
        return 1

    @step
    def two() -> int:
        return 2

    assert one.code_hash != two.code_hash
    assert one.code_hash == one.code_hash


def test_with_params_changes_defaults_and_names_unknown_params() -> None:
    from gazer.core.step import step as make_step

    @make_step(outputs="y")
    def scale(factor: float = 2.0, shift: float = 0.0) -> float:
        return factor + shift

    tripled = scale.named("triple").with_params(factor=3.0)
    assert tripled.params == {"factor": 3.0, "shift": 0.0} and scale.params["factor"] == 2.0
    assert Pipeline("p", [tripled]).defaults() == {"triple.factor": 3.0, "triple.shift": 0.0}
    with pytest.raises(InvalidParam, match="step 'scale' has no param fator; its params: "
                                           "factor, shift"):
        scale.with_params(fator=1.0)
