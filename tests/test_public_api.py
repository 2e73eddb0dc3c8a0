"""The public API is locked: ``__all__`` is sorted and matches the namespace."""

from __future__ import annotations

import pkgutil

import gazer
from gazer.errors import GazerError, InvalidPipeline, ModelNotFound, StorageUnavailable


def test_all_is_sorted_and_complete() -> None:
    assert gazer.__all__ == sorted(gazer.__all__)
    public = {n for n in dir(gazer) if not n.startswith("_")}
    assert set(gazer.__all__) <= public
    submodules = {m.name for m in pkgutil.iter_modules(gazer.__path__)}
    # importing a submodule makes it an attribute of the package; nothing else may leak
    assert public - set(gazer.__all__) <= submodules


def test_errors_carry_status_codes_and_builtin_bases() -> None:
    assert issubclass(InvalidPipeline, ValueError) and InvalidPipeline.status_code == 422
    assert issubclass(ModelNotFound, LookupError) and ModelNotFound.status_code == 404
    assert StorageUnavailable.status_code == 503
    assert GazerError.status_code == 500


def test_settings_read_nested_environment_variables(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("GAZER_HOME", "/tmp/somewhere")
    monkeypatch.setenv("GAZER_STORAGE__URI", "s3://bucket/x")
    monkeypatch.setenv("GAZER_EXECUTOR__MAX_WORKERS", "8")
    settings = gazer.get_settings()
    assert str(settings.home) == "/tmp/somewhere"
    assert settings.storage_uri == "s3://bucket/x"
    assert settings.executor.max_workers == 8
    assert settings.runs_url == "sqlite:////tmp/somewhere/runs.db"
