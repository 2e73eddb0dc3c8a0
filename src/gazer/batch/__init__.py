"""Batch inference: chunked, resumable jobs over files in storage."""
