"""User SQL is sandboxed the same way on the HTTP route and in ``gazer query``.

Each attack is sent to both; each must be refused with the rule it broke, or bounded (time,
rows), and no file may appear anywhere the worker could have written it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gazer.apps.enrichment import steps
from gazer.apps.enrichment.messages import normalise
from gazer.cli import main
from gazer.serving.app import create_app
from gazer.settings import Settings

TIMEOUT_S = 1.5
OUT = "/tmp/gazer-sql-attack"  # nosec B108: a path the attacks try to write; must not appear
TABLE = "enrichment.social_listening"

# (sql, expected status, fragment the error detail must contain)
ATTACKS = [
    ("SELECT * FROM read_csv('/etc/passwd', header=false)", 422, "(table-function): read_csv()"),
    (f"COPY (SELECT 42) TO '{OUT}.csv'", 422, "(select-only): only SELECT"),
    ("SELECT * FROM read_csv_auto('/etc/passwd')", 422, "read_csv_auto() is not allowed"),
    ("SELECT * FROM read_parquet('/etc/*.parquet')", 422, "read_parquet() is not allowed"),
    ("SELECT * FROM read_json_auto('/etc/os-release')", 422, "read_json_auto() is not allowed"),
    ("SELECT content FROM read_text('/etc/passwd')", 422, "read_text() is not allowed"),
    ("SELECT content FROM read_blob('/etc/hostname')", 422, "read_blob() is not allowed"),
    ("SELECT * FROM glob('/etc/*')", 422, "glob() is not allowed"),
    ("SELECT * FROM sniff_csv('/etc/passwd')", 422, "sniff_csv() is not allowed"),
    ("SELECT * FROM parquet_metadata('/etc/x.parquet')", 422, "parquet_metadata() is not"),
    ("SELECT * FROM query('SELECT 1')", 422, "query() is not allowed"),
    ("WITH t AS (SELECT * FROM read_csv('/etc/passwd')) SELECT * FROM t", 422,
     "read_csv() is not allowed"),
    (f"SELECT 1 WHERE 1 IN (SELECT 1 FROM read_text('/etc/passwd')) AND 'a' = '{OUT}'", 422,
     "read_text() is not allowed"),
    ("SELECT * FROM '/etc/passwd'", 422, "does not exist"),
    (f"ATTACH '{OUT}.db' AS x", 422, "got a ATTACH statement"),
    ("INSTALL httpfs", 422, "got a LOAD statement"),
    ("LOAD httpfs", 422, "got a LOAD statement"),
    (f"EXPORT DATABASE '{OUT}'", 422, "got a EXPORT statement"),
    ("PRAGMA version", 422, "PRAGMA and other statements may not"),
    ("SET enable_external_access = true", 422, "got a SET statement"),
    ("CALL pragma_version()", 422, "got a CALL statement"),
    (f"CREATE TABLE t AS SELECT * FROM {TABLE}", 422, "got a CREATE statement"),
    (f"SELECT 1; COPY (SELECT 1) TO '{OUT}.csv'", 422, "(one-statement): expected exactly one"),
    ("SELECT count(*) FROM range(100000000) a, range(100000000) b", 422,
     f"ran past the {TIMEOUT_S:g} s limit"),
]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("sql") / "home"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GAZER_HOME", str(home))
        mp.setenv("GAZER_QUERY__TIMEOUT_S", str(TIMEOUT_S))
        frame = normalise([{"text": f"m{i}", "source": "social",
                            "created_at": "2026-11-01T10:00:00Z"} for i in range(4)])
        frame["topics"] = [["products"]] * 4
        steps.write_partitioned.fn(frame, table="social_listening")
        yield home


@pytest.fixture(scope="module")
def client(home: Path) -> Iterator[TestClient]:
    settings = Settings(home=home, tracking={"co2": False},  # type: ignore[arg-type]
                        query={"timeout_s": TIMEOUT_S})
    with TestClient(create_app(settings, endpoints=[])) as c:
        yield c


def _no_file_appeared() -> None:
    leftovers = [p for p in Path(OUT).parent.glob(Path(OUT).name + "*")]
    assert leftovers == []


@pytest.mark.parametrize(("sql", "status", "fragment"), ATTACKS)
def test_an_attack_over_http_is_refused_with_the_rule_it_broke(
    client: TestClient, sql: str, status: int, fragment: str,
) -> None:
    r = client.post("/api/enrichment/query", json={"sql": sql})
    assert r.status_code == status, r.text
    assert set(r.json()) == {"error", "detail"}
    assert fragment in r.json()["detail"]
    _no_file_appeared()


@pytest.mark.parametrize(("sql", "status", "fragment"), ATTACKS)
def test_an_attack_in_gazer_query_is_refused_with_one_line(
    home: Path, sql: str, status: int, fragment: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GAZER_HOME", str(home))
    monkeypatch.setenv("GAZER_QUERY__TIMEOUT_S", str(TIMEOUT_S))
    with pytest.raises(SystemExit) as exit_:
        main(["query", sql])
    err = capsys.readouterr().err
    assert exit_.value.code == 2, err
    assert err.startswith("error: ") and fragment in " ".join(err.split())
    assert "Traceback" not in err
    _no_file_appeared()


def test_ten_million_rows_come_back_capped_and_marked_truncated(client: TestClient) -> None:
    r = client.post("/api/enrichment/query",
                    json={"sql": "SELECT * FROM range(10000000)", "limit": 10_000})
    assert r.status_code == 200, r.text
    assert len(r.json()["rows"]) == 10_000 and r.json()["truncated"] is True
    small = client.post("/api/enrichment/query", json={"sql": f"SELECT count(*) FROM {TABLE}"})
    assert small.json()["rows"] == [[4]] and small.json()["truncated"] is False


def test_gazer_query_says_when_the_result_was_truncated(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GAZER_HOME", str(home))
    main(["query", "--format", "csv", "--limit", "3", "SELECT * FROM range(10000000)"])
    captured = capsys.readouterr()
    assert captured.out.split() == ["range", "0", "1", "2"]
    assert "truncated: only the first 3 rows" in captured.err
