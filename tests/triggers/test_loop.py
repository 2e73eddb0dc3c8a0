"""``gazer watch``'s loop survives a storage outage: SeaweedFS stopped and started under it."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from gazer.settings import StorageSettings
from gazer.storage import open_storage
from gazer.triggers.ledger import WatchLedger
from gazer.triggers.loop import watch_forever
from gazer.triggers.watcher import StorageWatcher
from tests.servers import SeaweedServer
from tests.triggers.test_watcher import BINDING, Recorder


def wait_for(condition: Callable[[], bool], what: str, limit_s: float = 120.0) -> None:
    deadline = time.monotonic() + limit_s  # a bound on a hang, not a timing assertion
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.05)


def test_a_failing_tick_is_logged_backed_off_and_the_loop_goes_on() -> None:
    calls, lines, stop = [], [], threading.Event()

    def tick() -> None:
        calls.append(1)
        if len(calls) in (2, 3):
            raise ConnectionError("storage down")
        if len(calls) == 5:
            stop.set()

    watch_forever(tick, 0.001, lines.append, max_backoff_s=0.01, stop=stop)
    assert len(calls) == 5
    assert [line.split(";")[0] for line in lines] == [
        "watch: scan failed: ConnectionError: storage down"] * 2 + [
        "watch: recovered after 2 failed scan(s)"]
    assert "retrying in 0.0 s (2 failure(s) in a row)" in lines[1]


@pytest.mark.integration
def test_the_watch_loop_survives_seaweedfs_going_down_and_coming_back(tmp_path: Path) -> None:
    (tmp_path / "weed").mkdir()
    server = SeaweedServer(tmp_path / "weed")
    server.start()
    storage = open_storage(f"s3://outage-{uuid.uuid4().hex[:8]}", StorageSettings(
        endpoint_url=server.endpoint, key="k", secret="s", connect_timeout_s=1))
    storage.write_bytes("landing/reviews/a.csv", b"text\nbefore\n")
    seen, lines, stop = Recorder(), [], threading.Event()
    watcher = StorageWatcher(storage, [BINDING], WatchLedger(f"sqlite:///{tmp_path / 'r.db'}"),
                             seen)
    loop = threading.Thread(target=watch_forever, args=(watcher.scan_once, 0.1, lines.append),
                            kwargs={"max_backoff_s": 0.5, "stop": stop})
    loop.start()
    try:
        wait_for(lambda: seen.seen == ["landing/reviews/a.csv"], "the first object handled")
        server.stop()
        wait_for(lambda: any("scan failed" in line for line in lines), "a failed scan logged")
        server.start()
        wait_for(lambda: any("recovered" in line for line in lines), "the loop recovered")
        storage.write_bytes("landing/reviews/b.csv", b"text\nafter\n")
        wait_for(lambda: "landing/reviews/b.csv" in seen.seen, "the second object handled")
    finally:
        stop.set()
        loop.join(30)
        server.stop()
    assert seen.seen == ["landing/reviews/a.csv", "landing/reviews/b.csv"]  # each once
    assert loop.is_alive() is False
