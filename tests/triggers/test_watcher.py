"""The storage watcher: exactly once across restarts, moves, failures, local and S3."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from gazer.errors import InvalidInput
from gazer.settings import Settings, StorageSettings
from gazer.storage import LocalStorage, Storage, open_storage
from gazer.triggers.ledger import PROCESSING, LedgerRow, WatchLedger
from gazer.triggers.watcher import Binding, StorageWatcher, load_bindings


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.integration)])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    if request.param == "local":
        yield LocalStorage(tmp_path / "store")
    else:
        endpoint = request.getfixturevalue("s3_endpoint")
        yield open_storage(f"s3://watch-{uuid.uuid4().hex[:8]}",
                           StorageSettings(endpoint_url=endpoint, key="k", secret="s"))


class Recorder:
    def __init__(self, fail_on: str = "") -> None:
        self.seen: list[str] = []
        self.fail_on = fail_on

    def __call__(self, binding: Binding, key: str, storage: Storage) -> str:
        self.seen.append(key)
        if self.fail_on and self.fail_on in key:
            raise ValueError(f"cannot read {key}")
        return f"{len(storage.read_bytes(key))} bytes"


BINDING = Binding(name="reviews", prefix="landing/reviews/", batch={"model": "m"})


def test_each_object_is_handled_once_across_restarts(storage: Storage, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    storage.write_bytes("landing/reviews/a.csv", b"text\nhello\n")
    storage.write_bytes("landing/reviews/b.csv", b"text\nworld\n")
    storage.write_bytes("landing/reviews/notes.txt", b"ignored: wrong suffix")
    first = Recorder()
    handled = StorageWatcher(storage, [BINDING], WatchLedger(url), first).scan_once()
    assert sorted(handled) == [("landing/reviews/a.csv", "done"), ("landing/reviews/b.csv", "done")]
    assert storage.exists("processed/landing/reviews/a.csv")
    assert not storage.exists("landing/reviews/a.csv")
    # the watcher restarts; one file arrived while it was down, one old file is put back
    storage.write_bytes("landing/reviews/c.csv", b"text\nnew\n")
    second = Recorder()
    restarted = StorageWatcher(storage, [BINDING], WatchLedger(url), second)
    assert restarted.scan_once() == [("landing/reviews/c.csv", "done")]
    assert restarted.scan_once() == []
    assert first.seen + second.seen == ["landing/reviews/a.csv", "landing/reviews/b.csv",
                                        "landing/reviews/c.csv"]


def test_a_failed_object_moves_to_failed_with_a_report(storage: Storage, tmp_path: Path) -> None:
    ledger = WatchLedger(f"sqlite:///{tmp_path / 'runs.db'}")
    storage.write_bytes("landing/reviews/bad.csv", b"broken")
    result = StorageWatcher(storage, [BINDING], ledger, Recorder(fail_on="bad")).scan_once()
    assert result == [("landing/reviews/bad.csv", "failed")]
    assert storage.exists("failed/landing/reviews/bad.csv")
    assert b"cannot read landing/reviews/bad.csv" in storage.read_bytes(
        "failed/landing/reviews/bad.csv.error.json")
    (row,) = ledger.entries("reviews")
    assert row.status == "failed" and "ValueError" in (row.result or "")


def test_a_claim_left_by_a_dead_watcher_is_taken_up_again(tmp_path: Path) -> None:
    ledger = WatchLedger(f"sqlite:///{tmp_path / 'runs.db'}")
    assert ledger.claim("b", "k", "v1", 3)
    assert not ledger.claim("b", "k", "v1", 3)  # this process holds it
    from sqlalchemy.orm import Session

    with Session(ledger.engine) as s, s.begin():
        s.query(LedgerRow).update({"pid": 2**22 + 777})  # its owner died
    assert ledger.claim("b", "k", "v1", 3)
    assert ledger.entries()[0].status == PROCESSING
    assert ledger.claim("b", "k", "v2", 4)  # a new version of the same key is new work


def test_bindings_files_are_checked(tmp_path: Path) -> None:
    good = tmp_path / "w.yaml"
    good.write_text("bindings:\n  - name: r\n    prefix: landing/r/\n"
                    "    batch: {model: summarizer@champion, output: 'output/r/{stem}'}\n")
    (binding,) = load_bindings(good)
    assert binding.batch == {"model": "summarizer@champion", "output": "output/r/{stem}"}
    bad = tmp_path / "bad.yaml"
    bad.write_text("bindings:\n  - name: r\n    prefix: landing/r/\n")
    with pytest.raises(InvalidInput, match="exactly one of 'batch', 'pipeline' or 'app'"):
        load_bindings(bad)
    bad.write_text("bindings:\n  - name: r\n    prefix: x/\n    pipeline: p\n    colour: red\n")
    with pytest.raises(InvalidInput, match="unknown keys \\['colour'\\]"):
        load_bindings(bad)


@pytest.mark.integration
def test_a_csv_landing_starts_a_summarizer_batch_job(tmp_path: Path) -> None:
    from gazer.apps.summarizer.model import ClusterSummarizer, SummarizerConfig, split_sentences
    from gazer.registry.memory import MemoryRegistry
    from gazer.registry.promotion import promote
    from gazer.services import Services
    from gazer.triggers.actions import make_action
    from tests.apps.summarizer.test_model import DOC

    settings = Settings(home=tmp_path / "home", tracking={"co2": False})  # type: ignore[arg-type]
    # an in-memory registry: the batch workers get the model from this process
    registry = MemoryRegistry()
    registry.register("summarizer", ClusterSummarizer(SummarizerConfig(embedding="tfidf")))
    promote(registry, "summarizer", 1)
    services = Services(settings, registry=registry)
    storage = services.storage
    frame = pd.DataFrame({"text": [DOC, "", DOC.replace("phone", "tablet")]})
    storage.write_bytes("landing/reviews/week1.csv", frame.to_csv(index=False).encode())
    binding = Binding(name="reviews", prefix="landing/reviews/",
                      batch={"model": "summarizer@champion", "output": "output/reviews/{stem}",
                             "workers": 1})
    lines: list[str] = []
    watcher = StorageWatcher(storage, [binding], WatchLedger(services.db),
                             make_action(services, lines.append), lines.append)
    assert watcher.scan_once() == [("landing/reviews/week1.csv", "done")]
    out = pd.read_parquet(storage.local_path("output/reviews/week1/predictions.parquet"))
    assert list(out["row_id"]) == [0, 2]
    tablet = DOC.replace("phone", "tablet")
    assert all(sentence in tablet for sentence in split_sentences(out["prediction"][1]))
    assert storage.exists("output/reviews/week1/_SUCCESS")
    assert storage.exists("processed/landing/reviews/week1.csv")
    assert os.path.exists(storage.local_path("output/reviews/week1/errors.parquet"))
