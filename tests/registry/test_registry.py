"""Registry contract (in-memory and real MLflow), gates, promotion and rollback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from gazer.errors import Conflict, InvalidInput, ModelNotFound
from gazer.registry import (
    CHALLENGER,
    CHAMPION,
    Check,
    Gate,
    MemoryRegistry,
    Registry,
    champion_history,
    promote,
    publish,
    rollback,
)
from gazer.registry.mlflow import MlflowRegistry

X = np.array([[0.0], [1.0], [2.0], [3.0]])
Y = np.array([0, 0, 1, 1])


@pytest.fixture(params=["memory", "mlflow"])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Registry]:
    if request.param == "memory":
        yield MemoryRegistry()
    else:
        yield MlflowRegistry(f"sqlite:///{tmp_path / 'mlflow.db'}",
                             (tmp_path / "artifacts").as_uri())


def _model() -> LogisticRegression:
    return LogisticRegression().fit(X, Y)


def test_registered_versions_count_up_and_load_back(registry: Registry) -> None:
    v1 = registry.register("clf", _model(), metrics={"accuracy": 0.9}, tags={"k": "v"})
    v2 = registry.register("clf", _model(), metrics={"accuracy": 0.95})
    assert (v1.version, v2.version) == (1, 2)
    assert v1.metrics == {"accuracy": 0.9} and v1.tags["k"] == "v"
    assert [v.version for v in registry.list_versions("clf")] == [2, 1]
    assert list(registry.load_model("clf", 1).predict(X)) == [0, 0, 1, 1]


def test_aliases_point_at_versions(registry: Registry) -> None:
    registry.register("clf", _model())
    registry.register("clf", _model())
    registry.set_alias("clf", CHAMPION, 2)
    assert registry.get_version("clf", CHAMPION).version == 2
    assert registry.get_version("clf", CHAMPION).aliases == (CHAMPION,)
    assert registry.find_alias("clf", CHALLENGER) is None
    assert registry.list_versions("clf")[0].aliases == (CHAMPION,)


def test_unknown_models_and_versions_raise_model_not_found(registry: Registry) -> None:
    with pytest.raises(ModelNotFound):
        registry.get_version("nope", 1)
    registry.register("clf", _model())
    with pytest.raises(ModelNotFound):
        registry.get_version("clf", 7)
    with pytest.raises(ModelNotFound):
        registry.list_versions("nope")
    with pytest.raises(ModelNotFound):  # a name no model can have (MLflow refuses ':' and '/')
        registry.get_version("bad:name/x", "champion")


def test_promote_and_rollback_walk_the_champion_history(registry: Registry) -> None:
    for _ in range(3):
        registry.register("clf", _model())
    promote(registry, "clf", 1)
    promote(registry, "clf", 3)
    assert registry.get_version("clf", CHAMPION).version == 3
    assert rollback(registry, "clf").version == 1
    assert [h["version"] for h in champion_history(registry, "clf")] == [1, 3, 1]
    with pytest.raises(Conflict, match="no earlier champion"):
        rollback(registry, "clf")


def test_gate_keeps_the_champion_when_the_candidate_is_worse(registry: Registry) -> None:
    gate = Gate("accuracy", "max", margin=0.01)
    first, d1 = publish(registry, "clf", _model(), {"accuracy": 0.90}, gate)
    assert d1.passed and CHAMPION in first.aliases
    worse, d2 = publish(registry, "clf", _model(), {"accuracy": 0.905}, gate)
    assert not d2.passed and worse.aliases == (CHALLENGER,)
    assert "not higher by more than the margin 0.01" in d2.reasons[0]
    assert registry.get_version("clf", CHAMPION).version == first.version
    assert registry.get_version("clf", worse.version).tags["gazer.gate"] == "failed"


def test_gate_replaces_the_champion_when_the_candidate_is_better(registry: Registry) -> None:
    gate = Gate("loss", "min", margin=0.0)
    publish(registry, "clf", _model(), {"loss": 0.5}, gate)
    better, decision = publish(registry, "clf", _model(), {"loss": 0.4}, gate)
    assert decision.passed and decision.champion == 0.5
    assert registry.get_version("clf", CHAMPION).version == better.version


def test_a_failing_check_blocks_promotion_with_its_reason(registry: Registry) -> None:
    gate = Gate("accuracy", checks=[Check("never", lambda m: (False, "refused on purpose")),
                                    Check("crash", lambda m: 1 / 0)])
    version, decision = publish(registry, "clf", _model(), {"accuracy": 0.99}, gate)
    assert not decision.passed
    assert "check never: FAIL (refused on purpose)" in decision.reasons
    assert any("ZeroDivisionError" in r for r in decision.reasons)
    assert version.aliases == (CHALLENGER,)


def test_gate_metric_must_be_present() -> None:
    with pytest.raises(InvalidInput, match="gate metric 'accuracy' missing"):
        Gate("accuracy").decide({"f1": 0.3}, None)


def test_an_absolute_floor_holds_with_or_without_a_champion(registry: Registry) -> None:
    gate = Gate("accuracy", "max", floor=0.35)  # the word-prediction seed's success bar
    low, decision = publish(registry, "clf", _model(), {"accuracy": 0.30}, gate)
    assert not decision.passed and low.aliases == (CHALLENGER,)
    assert "floor: accuracy 0.3 must be at least 0.35: FAIL" in decision.reasons
    high, decision = publish(registry, "clf", _model(), {"accuracy": 0.40}, gate)
    assert decision.passed and CHAMPION in high.aliases
    loss = Gate("loss", "min", floor=1.0).decide({"loss": 1.5}, {"loss": 2.0})
    assert not loss.passed and "must be at most 1" in loss.reasons[-1]


def test_without_auto_promote_a_passing_version_becomes_challenger(registry: Registry) -> None:
    first, _ = publish(registry, "clf", _model(), {"accuracy": 0.8}, Gate("accuracy"))
    second, decision = publish(registry, "clf", _model(), {"accuracy": 0.9}, Gate("accuracy"),
                               auto_promote=False)
    assert decision.passed and second.aliases == (CHALLENGER,)
    assert registry.get_version("clf", CHAMPION).version == first.version
