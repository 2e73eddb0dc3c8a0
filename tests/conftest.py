"""Shared fixtures: real components with in-memory or temporary backends."""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gazer.core.runner import Runner
from gazer.core.runs import SqlRunStore
from gazer.registry.memory import MemoryRegistry
from gazer.settings import Settings
from gazer.storage.local import LocalStorage
from gazer.tracking.memory import MemoryTracker

pytest_plugins = ["tests.servers"]
os.environ.setdefault("GAZER_TRACKING__CO2", "false")
PR_SET_CHILD_SUBREAPER = 36


def pytest_sessionstart(session: pytest.Session) -> None:
    """Adopt orphans: a process a test started that outlives its parent is reparented to
    this one (not to init), so the check below sees it."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the suite when processes it started outlive it: a test stops what it starts."""
    from multiprocessing import resource_tracker

    import psutil

    own_tracker = getattr(resource_tracker._resource_tracker, "_pid", None)  # ends with us
    children = [p for p in psutil.Process().children(recursive=True) if p.pid != own_tracker]
    _, alive = psutil.wait_procs(children, timeout=15)
    if not alive:
        return
    lines = []
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            lines.append(f"  pid {proc.pid}: {' '.join(proc.cmdline())[:200]}")
            proc.kill()
    sys.stderr.write("\nprocesses started by the tests outlived them (killed now):\n"
                     + "\n".join(lines) + "\n")
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with every file under a temporary GAZER_HOME; CO2 off for speed."""
    return Settings(home=tmp_path / "home", tracking={"co2": False})  # type: ignore[arg-type]


@pytest.fixture
def tracker() -> MemoryTracker:
    return MemoryTracker()


@pytest.fixture
def registry() -> MemoryRegistry:
    return MemoryRegistry()


@pytest.fixture
def make_runner(
    settings: Settings, tracker: MemoryTracker, registry: MemoryRegistry
) -> Iterator[Callable[..., Runner]]:
    """Build runners that share one run store, local storage, tracker and registry."""
    store = SqlRunStore(settings.runs_url)
    storage = LocalStorage(settings.home / "storage")
    made: list[Runner] = []

    def make(**overrides: object) -> Runner:
        options = {"store": store, "storage": storage, "tracker": tracker, "registry": registry}
        options.update(overrides)
        runner = Runner(settings, **options)  # type: ignore[arg-type]
        made.append(runner)
        return runner

    yield make
    for runner in made:
        runner.close()
    store.close()
