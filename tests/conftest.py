"""Shared fixtures: real components with in-memory or temporary backends."""

from __future__ import annotations

import os
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
