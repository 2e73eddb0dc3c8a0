"""Web UI: pages and static assets, mounted by the serving app."""
