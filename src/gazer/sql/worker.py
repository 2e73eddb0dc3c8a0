"""The SQL worker process: ``python -m gazer.sql.worker``, started by ``QuerySandbox``.

It reads the settings, then one request at a time, from its stdin and answers each on its
stdout (``multiprocessing`` connections: length-prefixed pickles between gazer's own two
processes, never from a user). Each query gets a fresh locked-down DuckDB connection.
"""

from __future__ import annotations

import sys
import tempfile
import threading
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

import pandas as pd

from gazer.errors import GazerError, InvalidInput, QueryLimitExceeded, QueryRefused
from gazer.settings import QuerySettings, Settings
from gazer.sql.sandbox import Table, timeout_message
from gazer.sql.statement import check_statement


def main() -> None:
    """Serve requests until the pipe closes; stdout carries only replies."""
    from gazer.storage.resolve import storage_from_settings

    requests = Connection(sys.stdin.fileno(), writable=False)
    replies = Connection(sys.stdout.fileno(), readable=False)
    sys.stdout = sys.stderr  # a stray print must not corrupt the reply stream
    try:
        settings = Settings(**requests.recv())
    except (EOFError, OSError):
        return
    spill = tempfile.mkdtemp(prefix="gazer-sql-")
    storage = storage_from_settings(settings)
    while True:
        try:
            request = requests.recv()
        except (EOFError, OSError):
            return
        try:
            replies.send(("ok", execute(storage, spill, settings.query, **request)))
        except QueryRefused as exc:
            replies.send(("error", ("QueryRefused", exc.rule, str(exc))))
        except QueryLimitExceeded as exc:
            replies.send(("error", ("QueryLimitExceeded", exc.limit, str(exc))))
        except GazerError as exc:
            replies.send(("error", (type(exc).__name__, "", str(exc))))


def execute(storage: Any, spill: str, limits: QuerySettings, sql: str,
            tables: Sequence[Table], max_rows: int) -> tuple[pd.DataFrame, bool]:
    """Run one checked statement on a fresh locked-down connection (in the worker)."""
    import duckdb
    import pyarrow as pa

    check_statement(sql)
    con = duckdb.connect(config={
        "enable_external_access": False, "autoinstall_known_extensions": False,
        "autoload_known_extensions": False, "allow_community_extensions": False,
        "python_enable_replacements": False, "threads": limits.threads,
        "memory_limit": limits.memory_limit, "temp_directory": spill,
        "max_temp_directory_size": limits.temp_limit,
    })
    try:
        _register(con, storage, tables)
        con.execute("SET lock_configuration = true")
        timer = threading.Timer(limits.timeout_s, con.interrupt)
        timer.start()
        try:
            reader = con.execute(sql).fetch_record_batch(min(max_rows + 1, 100_000))
            batches, rows = [], 0
            for batch in reader:
                batches.append(batch)
                rows += batch.num_rows
                if rows > max_rows:
                    break
            table = pa.Table.from_batches(batches, schema=reader.schema)
        except duckdb.Error as exc:
            raise _translate(exc, limits, tables) from exc
        finally:
            timer.cancel()
        return table.slice(0, max_rows).to_pandas(), rows > max_rows
    finally:
        con.close()


def _register(con: Any, storage: Any, tables: Sequence[Table]) -> None:
    schemas = {t.name.rpartition(".")[0] for t in tables} - {""}
    for schema in sorted(schemas):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {_quoted(schema)}")
    for i, table in enumerate(tables):
        schema, _, name = table.name.rpartition(".")
        qualified = f"{_quoted(schema)}.{_quoted(name)}" if schema else _quoted(name)
        con.register(f"_arrow_{i}", arrow_dataset(storage, table))
        view = f'CREATE VIEW {qualified} AS SELECT * FROM "_arrow_{i}"'  # nosec B608 # quoted
        con.execute(view)  # identifiers of gazer's own tables, before any user SQL runs


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def arrow_dataset(storage: Any, table: Table) -> Any:
    """A pyarrow dataset over ``table.prefix`` in ``storage`` (local folder or S3)."""
    import pyarrow.dataset as ds
    import pyarrow.fs as pafs

    local = storage.local_path(table.prefix)
    if local is not None:
        fs: Any = pafs.LocalFileSystem()
        root = str(local)
    else:
        source = getattr(storage, "fs", None)  # S3Storage's s3fs filesystem, endpoint set
        if source is None:
            import fsspec

            source, root = fsspec.core.url_to_fs(storage.url(table.prefix))
        else:
            root = storage.url(table.prefix).split("://", 1)[1]
        fs = pafs.PyFileSystem(pafs.FSSpecHandler(source))
    return ds.dataset(root, filesystem=fs, format="parquet", partitioning=table.partitioning)


def _translate(exc: Exception, limits: QuerySettings, tables: Sequence[Table]) -> GazerError:
    import duckdb

    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, duckdb.InterruptException):
        return QueryLimitExceeded("timeout", timeout_message(limits))
    if isinstance(exc, duckdb.OutOfMemoryException):
        return QueryLimitExceeded("memory", f"the query needed more than the "
                                            f"{limits.memory_limit} memory limit "
                                            f"(GAZER_QUERY__MEMORY_LIMIT): {first}")
    if isinstance(exc, duckdb.PermissionException):
        return QueryRefused("file-access", f"queries cannot read or write files, only the "
                                           f"registered tables: {first}")
    known = ", ".join(t.name for t in tables) or "none"
    return InvalidInput(f"{first} (tables: {known})")


if __name__ == "__main__":
    main()
