"""``gazer demo``: train every registered app that has no champion, then check each.

Once serving exists, the demo also starts ``gazer serve``; until then it prints where to
look at the runs, the MLflow UI and the registered models.
"""

from __future__ import annotations

from collections.abc import Callable

from gazer.apps.catalog import list_apps
from gazer.core.runner import Runner
from gazer.registry.protocol import CHAMPION
from gazer.settings import Settings


def run_demo(settings: Settings, echo: Callable[[str], None], check: bool = False) -> bool:
    """Return whether every app ended with a champion that answers."""
    runner = Runner(settings, echo=echo)
    registry = runner.registry
    ok = True
    try:
        for app in list_apps():
            echo(f"== app {app.name}: {app.description}")
            champion = registry.find_alias(app.model_name, CHAMPION) if app.model_name else None
            if champion is None:
                record = runner.run(app.build(), app.quick_params)
                if record.status != "succeeded":
                    echo(f"   {app.name} failed: {record.error}")
                    ok = False
                    continue
                echo(f"   details: gazer runs show {record.id}")
            else:
                echo(f"   champion v{champion.version} exists; not retraining")
            if app.model_name:
                ok = _smoke(registry, app.model_name, app.smoke, echo) and ok
    finally:
        runner.close()
    echo("")
    echo(f"Runs:      gazer runs list        (store: {settings.runs_url})")
    echo(f"Models:    gazer models list      (MLflow: {settings.tracking_uri})")
    echo(f"MLflow UI: mlflow ui --backend-store-uri {settings.tracking_uri}")
    echo(f"Logs:      {settings.logs_dir}")
    if not check:
        echo("Serving (gazer serve) arrives with the serving issue; nothing to start yet.")
    return ok


def _smoke(
    registry: object, name: str, smoke: Callable[[object], str] | None,
    echo: Callable[[str], None],
) -> bool:
    champion = registry.find_alias(name, CHAMPION)  # type: ignore[attr-defined]
    if champion is None:
        echo(f"   {name}: no champion after training (the gate refused every candidate)")
        return False
    model = registry.load_model(name, CHAMPION)  # type: ignore[attr-defined]
    answer = smoke(model) if smoke else "loaded"
    metrics = ", ".join(f"{k}={v:.3f}" for k, v in sorted(champion.metrics.items()))
    echo(f"   {name} champion v{champion.version} ({metrics}): {answer}")
    return True
