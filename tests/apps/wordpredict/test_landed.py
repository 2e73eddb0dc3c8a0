"""Catalan text landed in storage joins a corpus, and a policy on OOV drift retrains on it."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from gazer.apps.wordpredict import landed  # noqa: F401 # registers the +landed corpora
from gazer.apps.wordpredict.corpus import load_corpus
from gazer.core.runner import Runner
from gazer.monitoring.drift import record_report
from gazer.registry.memory import MemoryRegistry
from gazer.settings import Settings
from gazer.storage.local import LocalStorage
from gazer.triggers.policies import Policy, engine_for
from tests.apps.wordpredict.tiny import write_tiny_corpus

MANUAL = ("El programa desa els documents a la carpeta que trieu quan els obriu per primera "
          "vegada, i podeu canviar-la més tard des del menú de preferències del sistema.")
OTHER = ("Per imprimir una pàgina, feu clic al botó d'impressió de la barra d'eines i trieu "
         "la impressora que voleu fer servir abans de confirmar l'ordre.")


def test_landed_files_join_every_split_once_per_content(
        tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAZER_HOME", str(settings.home))
    base = write_tiny_corpus(tmp_path / "tiny")
    storage = LocalStorage(settings.home / "storage")
    cache = str(tmp_path / "cache")
    assert load_corpus("ca-wiki+landed", folder=str(base), cache=cache).folder == base  # none
    storage.write_bytes("landing/wordpredict/manual.txt",
                        f"{MANUAL}\n\n{MANUAL}\n\nOK\n".encode())
    storage.write_bytes("landing/wordpredict/page.html",
                        f"<html><title>Impressió</title><body><p>{OTHER}</p>"
                        f"<p>Print the page now, please, before you leave.</p></body></html>"
                        .encode())
    first = load_corpus("ca-wiki+landed", folder=str(base), cache=cache)
    assert first.name == "ca-wiki+landed" and first.folder != base
    assert first.stats["landed.files"] == 2 and first.stats["landed.kept"] == 2  # no dupes,
    text = " ".join(" ".join(first.lines(s)) for s in ("train", "valid", "test"))  # no English
    assert "carpeta" in text and "impressora" in text and "Print" not in text
    base_tokens = sum(len(list(load_corpus("ca-wiki", folder=str(base)).lines(s)))
                      for s in ("train", "valid", "test"))
    assert sum(len(list(first.lines(s))) for s in ("train", "valid", "test")) > base_tokens
    again = load_corpus("ca-wiki+landed", folder=str(base), cache=cache)
    assert again.folder == first.folder and again.fingerprint() == first.fingerprint()
    storage.write_bytes("landing/wordpredict/more.txt", OTHER.replace("pàgina", "fulla").encode())
    assert load_corpus("ca-wiki+landed", folder=str(base), cache=cache).folder != first.folder


def test_a_policy_on_oov_drift_retrains_on_the_landed_text(
        make_runner: Callable[..., Runner], registry: MemoryRegistry, settings: Settings,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gazer.services import Services

    monkeypatch.setenv("GAZER_HOME", str(settings.home))
    base = write_tiny_corpus(tmp_path / "tiny")
    tiny = {"corpus.folder": str(base), "train.dim": 32, "train.heads": 2, "train.ff": 64,
            "train.epochs": 3, "train.batch_size": 64, "preprocess.min_count": 2,
            "register.min_behaviour": 0.0, "register.margin": -1.0}
    services = Services(settings, registry=registry)
    services.run_pipeline("wordpredict", {**tiny, "corpus.corpus": "ca-wiki"})
    LocalStorage(settings.home / "storage").write_bytes("landing/wordpredict/manual.txt",
                                                        MANUAL.encode())
    policy = Policy(name="oov", app="wordpredict", endpoint="wordpredict",
                    model="wordpredict-ca-wiki",
                    triggers=[{"kind": "drift", "windows": 2, "features": ["oov"]}],
                    action={"params": {**tiny, "corpus.corpus": "ca-wiki+landed"}},
                    limits={"min_interval": "1h"})
    engine = engine_for(services, {"oov": policy})

    def check(drivers: list[str]) -> None:
        record_report(services.db, {"at": time.time(), "endpoint": "wordpredict",
                                    "model": "wordpredict-ca-wiki", "version": 1,
                                    "drifted": True, "n_window": 500, "drivers": drivers})

    check(["chars"])
    check(["chars"])
    assert engine.tick()[0].kind == "idle"  # drift, but not in the OOV rate
    check(["oov", "text (domain classifier)"])
    check(["oov"])
    [retrained] = engine.tick()
    assert retrained.kind == "retrained", retrained.reason
    version = registry.get_version("wordpredict-ca-wiki", retrained.version or 0)
    assert version.tags["wordpredict.corpus"] == "ca-wiki+landed"
    services.close()
