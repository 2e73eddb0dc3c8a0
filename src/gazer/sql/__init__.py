"""User SQL over registered tables, sandboxed: see ``gazer.sql.sandbox``."""

from gazer.sql.sandbox import QueryResult, QuerySandbox, Table
from gazer.sql.statement import check_statement

__all__ = ["QueryResult", "QuerySandbox", "Table", "check_statement"]
