"""The sandbox's own guarantees: limits hold, and a dead worker is replaced, not fatal."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gazer.errors import QueryCrashed, QueryLimitExceeded, QueryRefused
from gazer.settings import Settings
from gazer.sql import QuerySandbox, Table, check_statement


@pytest.fixture
def tables(tmp_path: Path) -> list[Table]:
    folder = tmp_path / "storage" / "t" / "k=a"
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"x": list(range(10))}), folder / "part.parquet")
    return [Table("s.t", "t")]


def sandbox_for(tmp_path: Path, **query: object) -> QuerySandbox:
    return QuerySandbox(Settings(home=tmp_path / "home",  # type: ignore[arg-type]
                                 storage={"uri": f"file://{tmp_path / 'storage'}"},
                                 query=query))


def test_registered_tables_are_read_with_their_partitions(tmp_path: Path,
                                                          tables: list[Table]) -> None:
    with sandbox_for(tmp_path) as sandbox:
        result = sandbox.run("SELECT k, count(*) AS n, sum(x) AS s FROM s.t GROUP BY k", tables)
    assert result.frame.to_dict("records") == [{"k": "a", "n": 10, "s": 45}]
    assert result.truncated is False


def test_a_query_over_the_memory_limit_is_stopped_and_says_the_limit(
        tmp_path: Path, tables: list[Table]) -> None:
    with sandbox_for(tmp_path, memory_limit="64MB", temp_limit="0B", timeout_s=60) as sandbox:
        with pytest.raises(QueryLimitExceeded) as err:
            sandbox.run("SELECT list(range) FROM range(100000000)", tables)
        assert err.value.limit == "memory" and "64MB memory limit" in str(err.value)
        assert sandbox.run("SELECT 1 AS one", tables).frame["one"].tolist() == [1]


def test_a_worker_that_dies_mid_query_is_replaced_and_the_caller_survives(
        tmp_path: Path, tables: list[Table]) -> None:
    with sandbox_for(tmp_path, timeout_s=60) as sandbox:
        sandbox.run("SELECT 1", tables)  # the worker is up
        worker = sandbox._idle.queue[0]

        def kill_when_busy() -> None:
            while sandbox._idle.qsize():  # taken by the query below
                time.sleep(0.01)
            time.sleep(0.3)
            worker.process.kill()

        killer = threading.Thread(target=kill_when_busy)
        killer.start()
        with pytest.raises(QueryCrashed, match="worker process died"):
            sandbox.run("SELECT count(*) FROM range(100000000) a, range(100000000) b", tables)
        killer.join()
        assert sandbox.run("SELECT 2 AS two", tables).frame["two"].tolist() == [2]


@pytest.mark.parametrize(("sql", "rule"), [
    ("", "one-statement"), ("SELEC 1", "syntax"), ("SELECT 1;;SELECT 2", "one-statement"),
    ("DESCRIBE s.t", None), ("FROM range(3)", None), ("VALUES (1), (2)", None),
    ("WITH a AS (SELECT 1) SELECT * FROM a, generate_series(1, 3)", None),
    ("EXPLAIN SELECT 1", "select-only"), ("UPDATE s.t SET x = 1", "select-only"),
    ("SELECT * FROM read_csv_auto('x') UNION SELECT 1", "table-function"),
])
def test_statements_are_judged_from_duckdbs_parse(sql: str, rule: str | None) -> None:
    if rule is None:
        check_statement(sql)
    else:
        with pytest.raises(QueryRefused) as err:
            check_statement(sql)
        assert err.value.rule == rule


def test_every_table_function_duckdb_knows_is_refused_but_the_allowed_ones() -> None:
    import duckdb

    from gazer.sql.statement import ALLOWED_TABLE_FUNCTIONS

    con = duckdb.connect()
    names = sorted({row[0] for row in con.execute(
        "SELECT function_name FROM duckdb_functions() WHERE function_type = 'table'").fetchall()})
    con.close()
    assert {"read_csv", "read_parquet", "read_text", "glob", "sniff_csv"} <= set(names)
    refused = []
    for name in names:
        if name in ALLOWED_TABLE_FUNCTIONS:
            continue
        with pytest.raises(QueryRefused) as err:
            check_statement(f"SELECT * FROM {name}('/etc/passwd')")
        assert err.value.rule == "table-function"
        refused.append(name)
    assert len(refused) >= 50


def test_a_result_over_the_byte_cap_is_cut_and_marked_truncated(
        tmp_path: Path, tables: list[Table]) -> None:
    with sandbox_for(tmp_path, max_result_bytes=8 * 2**20) as sandbox:
        result = sandbox.run("SELECT repeat('x', 1000000) AS big FROM range(200)", tables)
        small = sandbox.run("SELECT repeat('x', 10) AS s FROM range(200)", tables)
    assert result.truncated is True and 0 < len(result.frame) < 10
    assert small.truncated is False and len(small.frame) == 200


def test_a_failure_inside_the_worker_is_an_answer_and_the_worker_stays_up(
        tmp_path: Path, tables: list[Table]) -> None:
    with sandbox_for(tmp_path) as sandbox:
        with pytest.raises(QueryCrashed, match="failed in the SQL worker"):
            sandbox.run("SELECT 1", [Table("s.gone", "no/such/prefix")])
        pid = sandbox._idle.queue[0].process.pid
        assert sandbox.run("SELECT 3 AS three", tables).frame["three"].tolist() == [3]
        assert sandbox._idle.queue[0].process.pid == pid


def test_bad_limits_and_deep_nesting_are_refused_before_any_worker(tmp_path: Path) -> None:
    from gazer.errors import InvalidInput

    with sandbox_for(tmp_path) as sandbox:
        with pytest.raises(InvalidInput, match="at least 1"):
            sandbox.run("SELECT 1", [], max_rows=0)
        nested = "SELECT " + "(SELECT " * 400 + "1" + ")" * 400
        with pytest.raises(QueryRefused) as err:
            sandbox.run(nested, [])
        assert err.value.rule == "syntax"
        assert sandbox._idle.qsize() == 0  # no worker was started


def test_a_query_waits_for_a_busy_worker_at_most_queue_s_then_gets_503(
        tmp_path: Path, tables: list[Table]) -> None:
    from gazer.errors import QueryBusy

    with sandbox_for(tmp_path, timeout_s=3, queue_s=0.2) as sandbox:
        slow = threading.Thread(target=lambda: pytest.raises(
            QueryLimitExceeded, sandbox.run,
            "SELECT count(*) FROM range(100000000) a, range(100000000) b", tables))
        slow.start()
        while sandbox._slots.acquire(blocking=False):  # until the slow query holds the slot
            sandbox._slots.release()
            time.sleep(0.01)
        with pytest.raises(QueryBusy) as err:
            sandbox.run("SELECT 1", tables)
        assert err.value.status_code == 503 and "stayed busy for 0.2 s" in str(err.value)
        slow.join()
