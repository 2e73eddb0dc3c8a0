"""Decide whether a user's SQL may run, from DuckDB's own parse of it (never a regex).

The rules, each named in the 422 a refused statement gets:

- ``one-statement``: exactly one statement (``SELECT 1; SELECT 2`` is two).
- ``select-only``: DuckDB must parse it as a ``SELECT`` (``WITH``, ``FROM``-first, ``VALUES``,
  ``DESCRIBE`` and ``SUMMARIZE`` of a query are selects); ``COPY``, ``EXPORT``, ``ATTACH``,
  ``INSTALL``/``LOAD``, ``PRAGMA``, ``SET``, ``CALL``, DDL and DML are not. ``PRAGMA x`` is
  rewritten to ``SELECT * FROM pragma_x()`` by the parser, so the original text must also
  serialise as a select (``json_serialize_sql`` refuses anything else).
- ``table-function``: only generators (``range``, ``generate_series``, ``unnest``) and the
  catalogue listings may appear in ``FROM``; every reader (``read_csv``, ``read_parquet``,
  ``read_text``, ``glob``, ``sniff_csv``, ``parquet_metadata``, ``query``, ...) is refused
  by name, before DuckDB's own external-access switch would stop it anyway.
- ``syntax``: DuckDB could not parse it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from gazer.errors import QueryRefused

ALLOWED_TABLE_FUNCTIONS = frozenset({
    "range", "generate_series", "unnest",
    "duckdb_tables", "duckdb_columns", "duckdb_views", "duckdb_schemas",
})


def check_statement(sql: str) -> None:
    """Raise ``QueryRefused`` unless ``sql`` is one read-only ``SELECT``."""
    import duckdb

    if not sql.strip():
        raise QueryRefused("one-statement", "expected one SELECT statement; got an empty string")
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryRefused("syntax", _first_line(exc)) from exc
    if len(statements) != 1:
        raise QueryRefused("one-statement", f"expected exactly one statement; got "
                                            f"{len(statements)} (remove the ';'-joined extras)")
    kind = statements[0].type.name
    if kind != "SELECT":
        raise QueryRefused("select-only", f"only SELECT (or WITH ... SELECT) statements may "
                                          f"run; got a {kind} statement")
    try:
        tree = _serialised(sql)
        names = sorted(set(table_functions(tree)))
    except RecursionError:
        raise QueryRefused("syntax", "the statement is nested too deeply") from None
    for name in names:
        if name not in ALLOWED_TABLE_FUNCTIONS:
            raise QueryRefused(
                "table-function",
                f"{name}() is not allowed: queries read only the registered tables (and "
                f"{', '.join(sorted(ALLOWED_TABLE_FUNCTIONS))})")


def _serialised(sql: str) -> dict[str, Any]:
    import duckdb

    con = duckdb.connect(config={"enable_external_access": False})
    try:
        row = con.execute("SELECT json_serialize_sql(?::VARCHAR)", [sql]).fetchone()
    finally:
        con.close()
    tree: dict[str, Any] = json.loads(row[0]) if row else {"error": True}
    if tree.get("error"):
        message = str(tree.get("error_message", "not a SELECT"))
        if "Only SELECT" in message:
            raise QueryRefused("select-only", "only SELECT (or WITH ... SELECT) statements may "
                                              "run; PRAGMA and other statements may not")
        raise QueryRefused("syntax", message.splitlines()[0])
    return tree


def table_functions(tree: Any) -> Iterator[str]:
    """Every table function named anywhere in a serialised statement, CTEs and subqueries too."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("type") == "TABLE_FUNCTION":
                function = node.get("function") or {}
                yield str(function.get("function_name", "")).lower()
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
