"""Steps, pipelines, artifacts, the runner and its run store."""
