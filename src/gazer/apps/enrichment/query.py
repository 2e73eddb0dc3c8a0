"""SQL over the partitioned Parquet with DuckDB: ``enrichment.<table>`` views.

Each folder under ``curated/enrichment/`` (local or S3, wherever gazer's storage is) becomes a
view in the ``enrichment`` schema, read as a hive-partitioned Arrow dataset, so ``source``,
``topic`` and ``date`` are columns and filters on them skip whole folders. Queries run in
``gazer.sql``'s sandbox: one SELECT, no file access, time, memory and row limits.
"""

from __future__ import annotations

import re
from typing import Any

from gazer.errors import NotFound
from gazer.sql import QueryResult, QuerySandbox, Table, check_statement

PREFIX = "curated/enrichment"


def tables(storage: Any) -> list[str]:
    names = {key.split("/")[2] for key in storage.list(PREFIX + "/") if key.endswith(".parquet")
             and key.count("/") >= 3}
    return sorted(names)


def sources(storage: Any) -> list[Table]:
    """Each written table as ``enrichment.<name>`` for the SQL sandbox."""
    return [Table("enrichment." + re.sub(r"\W", "_", t), f"{PREFIX}/{t}")
            for t in tables(storage)]


def run_query(sandbox: QuerySandbox, storage: Any, sql: str, limit: int | None = None,
              extra: list[Table] | None = None) -> QueryResult:
    """``sql`` over the enrichment tables (and ``extra`` ones, such as the exported
    prediction log), run in the sandbox (at most ``limit`` rows)."""
    known = sources(storage) + list(extra or [])
    if not known:
        check_statement(sql)  # a refused statement says why even before any table exists
        raise NotFound(f"no enrichment tables under {storage.url(PREFIX)}: run a workflow "
                       f"first (gazer run social-listening --param ingest.path=FILE)")
    return sandbox.run(sql, known, limit)
