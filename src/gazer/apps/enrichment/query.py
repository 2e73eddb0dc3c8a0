"""SQL over the partitioned Parquet with DuckDB: ``enrichment.<table>`` views.

Each folder under ``curated/enrichment/`` (local or S3, wherever gazer's storage is) becomes a
view in the ``enrichment`` schema, read as a hive-partitioned Arrow dataset, so ``source``,
``topic`` and ``date`` are columns and filters on them skip whole folders.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from gazer.errors import InvalidInput, NotFound

PREFIX = "curated/enrichment"


def _filesystem(storage: Any) -> tuple[Any, str]:
    """A pyarrow filesystem and the dataset root for ``storage``."""
    import pyarrow.fs as pafs

    local = storage.local_path(PREFIX)
    if local is not None:
        return pafs.LocalFileSystem(), str(local)
    fs = getattr(storage, "fs", None)  # S3Storage's s3fs filesystem, endpoint and keys set
    if fs is None:
        import fsspec

        fs, root = fsspec.core.url_to_fs(storage.url(PREFIX))
    else:
        root = storage.url(PREFIX).split("://", 1)[1]
    return pafs.PyFileSystem(pafs.FSSpecHandler(fs)), root


def tables(storage: Any) -> list[str]:
    names = {key.split("/")[2] for key in storage.list(PREFIX + "/") if key.endswith(".parquet")
             and key.count("/") >= 3}
    return sorted(names)


def connect(storage: Any) -> Any:
    """A DuckDB connection with one view per written table."""
    import duckdb
    import pyarrow.dataset as ds

    con = duckdb.connect()
    con.execute("CREATE SCHEMA IF NOT EXISTS enrichment")
    fs, root = _filesystem(storage)
    for table in tables(storage):
        dataset = ds.dataset(f"{root}/{table}", filesystem=fs, format="parquet",
                             partitioning="hive")
        view = re.sub(r"\W", "_", table)
        con.register(f"_arrow_{view}", dataset)
        con.execute(f'CREATE VIEW enrichment."{view}" AS SELECT * FROM "_arrow_{view}"')
    return con


def run_query(storage: Any, sql: str, limit: int = 10_000) -> pd.DataFrame:
    """The result of ``sql`` as a frame (at most ``limit`` rows); errors name the tables."""
    if not sql.strip():
        raise InvalidInput("expected an SQL query; got an empty string")
    known = tables(storage)
    if not known:
        raise NotFound(f"no enrichment tables under {storage.url(PREFIX)}: run a workflow "
                       f"first (gazer run social-listening --param ingest.path=FILE)")
    con = connect(storage)
    try:
        import duckdb

        try:
            return con.execute(sql).fetch_df().head(limit)
        except duckdb.Error as exc:
            raise InvalidInput(f"{str(exc).splitlines()[0]} (tables: "
                               f"{', '.join('enrichment.' + t for t in known)})") from exc
    finally:
        con.close()
