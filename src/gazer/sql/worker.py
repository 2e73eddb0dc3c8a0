"""The SQL worker process: ``python -m gazer.sql.worker``, started by ``QuerySandbox``.

It reads the settings, then one request at a time, from its stdin and answers each on its
stdout (``multiprocessing`` connections: length-prefixed pickles between gazer's own two
processes, never from a user). Each query gets a fresh locked-down DuckDB connection.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

import pandas as pd

from gazer.errors import GazerError, InvalidInput, QueryLimitExceeded, QueryRefused
from gazer.settings import QuerySettings, Settings
from gazer.sql.sandbox import Table, timeout_message
from gazer.sql.statement import check_statement

log = logging.getLogger("gazer.sql")
BATCH_ROWS = 2048  # small batches, so the row and byte caps stop the stream early


def main() -> None:
    """Serve requests until the pipe closes; the spill folder is ``argv[1]``."""
    from gazer.storage.resolve import storage_from_settings

    spill = sys.argv[1]
    requests = Connection(sys.stdin.fileno(), writable=False)
    replies = Connection(os.dup(sys.stdout.fileno()), readable=False)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray writes, C's too, go to stderr
    sys.stdout = sys.stderr
    try:
        settings = Settings(**requests.recv())
    except (EOFError, OSError):
        return
    storage = storage_from_settings(settings)
    while True:
        try:
            request = requests.recv()
        except (EOFError, OSError):
            return
        replies.send(answer(storage, spill, settings.query, request))


def answer(storage: Any, spill: str, limits: QuerySettings, request: dict[str, Any]
           ) -> tuple[str, Any]:
    """One reply: ``("ok", (frame, truncated))`` or ``("error", (kind, tag, message))``."""
    try:
        return "ok", execute(storage, spill, limits, **request)
    except QueryRefused as exc:
        return "error", ("QueryRefused", exc.rule, exc.message)
    except QueryLimitExceeded as exc:
        return "error", ("QueryLimitExceeded", exc.limit, str(exc))
    except InvalidInput as exc:
        return "error", ("InvalidInput", "", str(exc))
    except Exception as exc:  # the worker's boundary: report it, stay up for the next query
        log.exception("query failed in the SQL worker")
        return "error", (type(exc).__name__, "", str(exc).strip().split("\n")[0][:500])


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
            reader = con.execute(sql).fetch_record_batch(BATCH_ROWS)
            batches, truncated = _capped(reader, max_rows, limits.max_result_bytes)
            table = pa.Table.from_batches(batches, schema=reader.schema)
        except duckdb.Error as exc:
            raise _translate(exc, limits, tables) from exc
        finally:
            timer.cancel()
        return table.to_pandas(), truncated
    finally:
        con.close()


def _capped(reader: Any, max_rows: int, max_bytes: int) -> tuple[list[Any], bool]:
    """Stream batches until ``max_rows`` rows or ``max_bytes`` bytes; ``True`` if cut."""
    batches: list[Any] = []
    rows = size = 0
    for batch in reader:
        cut = False
        if rows + batch.num_rows > max_rows:
            batch, cut = batch.slice(0, max_rows - rows), True
        if size + batch.nbytes > max_bytes:
            fits = int(batch.num_rows * (max_bytes - size) / max(batch.nbytes, 1))
            batch, cut = batch.slice(0, max(fits, 0)), True
        batches.append(batch)
        rows, size = rows + batch.num_rows, size + batch.nbytes
        if cut:
            return batches, True
    return batches, False


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
                                            f"(GAZER_QUERY__MEMORY_LIMIT) or the "
                                            f"{limits.temp_limit} spill limit "
                                            f"(GAZER_QUERY__TEMP_LIMIT): {first}")
    if isinstance(exc, duckdb.PermissionException):
        return QueryRefused("file-access", f"queries cannot read or write files, only the "
                                           f"registered tables: {first}")
    known = ", ".join(t.name for t in tables) or "none"
    return InvalidInput(f"{first} (tables: {known})")


if __name__ == "__main__":
    main()
