"""Triggers: storage watchers and schedules that start pipelines and batch jobs."""
