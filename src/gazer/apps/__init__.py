"""Built-in apps, one package each, registered in the catalogue."""

from gazer.catalog import App, get_app, get_pipeline, list_apps, register_app

__all__ = ["App", "get_app", "get_pipeline", "list_apps", "register_app"]
