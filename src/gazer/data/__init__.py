"""Datasets: content-hash versions, schemas, dataset cards."""

from gazer.data.versions import describe_schema, hash_dataset

__all__ = ["describe_schema", "hash_dataset"]
