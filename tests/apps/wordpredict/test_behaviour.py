"""Behaviour tests against the registered champion, when this checkout has one.

``make demo`` (and CI's ``gazer demo --check``) trains ``wordpredict-ca-help`` into ``.gazer``;
the domain cases then run against that champion. The same cases on a model trained in the
test live in ``test_app.py`` (tiny corpus, tiny cases).
"""

from __future__ import annotations

from typing import Any

import pytest

from gazer.apps.wordpredict.behaviour import (
    DOMAIN_DIRECTIONAL,
    DOMAIN_INVARIANCE,
    Invariance,
    case,
    run_behaviour,
)
from gazer.registry.protocol import CHAMPION
from gazer.settings import Settings


def _champion() -> Any:
    home = Settings().home.resolve()  # GAZER_HOME, else ./.gazer (where `make demo` trains)
    if not (home / "mlflow.db").exists():
        pytest.skip(f"no registry in {home}: run `make demo` to train a champion")
    from gazer.registry.resolve import registry_from_settings

    registry = registry_from_settings(Settings(home=home))
    if registry.find_alias("wordpredict-ca-help", CHAMPION) is None:
        pytest.skip("no wordpredict-ca-help champion yet: run `make demo`")
    return registry.load_model("wordpredict-ca-help", CHAMPION)


def test_the_champion_passes_the_share_of_domain_cases_its_gate_asked_for() -> None:
    report = run_behaviour(_champion())
    assert report.total == len(DOMAIN_INVARIANCE) + len(DOMAIN_DIRECTIONAL)
    assert report.pass_rate >= 0.5, report.as_markdown()


def test_the_champion_never_answers_padding_or_unknown() -> None:
    model = _champion()
    rows = [c.words for pair in DOMAIN_INVARIANCE for c in (pair.base, pair.perturbed)]
    rows.append(["zzz", "yyy", "xxx", "www", "vvv", "uuu"])
    assert not {"<pad>", "<unk>"} & set(model.predict(rows).tolist())


def test_a_case_needs_three_words_each_side() -> None:
    with pytest.raises(ValueError, match="needs 3 words each side of _"):
        case("short", "Feu clic _ acord per a", "a")
    good = case("ok", "Feu clic a _ acord per a", "D' d'")
    assert good.words == ["Feu", "clic", "a", "acord", "per", "a"]
    assert Invariance(good, good).base.accepted == {"D'", "d'"}
