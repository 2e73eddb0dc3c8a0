"""arXiv search and import against a local server that replays Atom feeds and serves a PDF."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from fastapi.testclient import TestClient

from gazer.apps.papers.arxiv import ArxivClient, parse_id
from gazer.errors import InvalidInput
from gazer.registry.memory import MemoryRegistry
from gazer.serving.app import create_app
from gazer.settings import EndpointSettings, PapersSettings, Settings
from tests.apps.papers.factory import text_pdf

FEEDS = Path(__file__).parents[2] / "fixtures" / "arxiv"
PDF = text_pdf()
INTERVAL = 0.3


class Replay(ThreadingHTTPServer):
    """Answers ``/api/query`` from recorded feeds (by ``start``) and ``/pdf/ID`` with a PDF;
    remembers when each request came."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests: list[tuple[float, str]] = []

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: Replay

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        url = urlparse(self.path)
        self.server.requests.append((time.monotonic(), self.path))
        if url.path == "/api/query":
            start = parse_qs(url.query).get("start", ["0"])[0]
            feed = FEEDS / f"kernel-{start}.xml"
            feed = feed if feed.is_file() else FEEDS / "kernel-0.xml"  # any other page
            body, kind = feed.read_bytes(), "application/atom+xml"
        elif url.path.startswith("/pdf/2101.00001"):
            body, kind = PDF, "application/pdf"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("content-type", kind)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def replay() -> Iterator[Replay]:
    server = Replay()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def _settings(replay: Replay) -> PapersSettings:
    return PapersSettings(arxiv_api=f"{replay.base}/api/query", arxiv_pdf=f"{replay.base}/pdf/",
                          arxiv_interval_s=INTERVAL)


def test_search_pages_through_results_spaced_by_the_interval_and_cached(replay: Replay) -> None:
    client = ArxivClient(_settings(replay))
    first = client.search("kernel", 0, 2)
    assert first["total"] == 3 and first["query"] == "all:kernel"
    assert [e["id"] for e in first["entries"]] == ["2101.00001v1", "2101.00002v2"]
    entry = first["entries"][0]
    assert entry["title"] == "Heteroskedasticity-Robust Inference with Kernel Weights"
    assert entry["authors"] == ["Ada Lovelace", "Charles Babbage"]
    assert entry["pdf_url"] == "https://arxiv.org/pdf/2101.00001v1"
    second = client.search("kernel", 2, 2)
    assert [e["id"] for e in second["entries"]] == ["2101.00003v1"]
    again = client.search("kernel", 0, 2)
    assert again == first
    times = [t for t, _ in replay.requests]
    assert len(times) == 2  # the repeated page came from the cache
    assert times[1] - times[0] >= INTERVAL  # arXiv's one request per interval


def test_arxiv_ids_and_urls_are_parsed_and_anything_else_is_refused() -> None:
    assert parse_id("arXiv:2101.00001v2") == "2101.00001v2"
    assert parse_id("https://arxiv.org/abs/2101.00001") == "2101.00001"
    assert parse_id("https://arxiv.org/pdf/hep-th/9901001v1.pdf") == "hep-th/9901001v1"
    with pytest.raises(InvalidInput, match="expected an arXiv id"):
        parse_id("../../etc/passwd")


def test_a_paper_is_imported_by_arxiv_id_and_found_by_search(replay: Replay,
                                                             tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", tracking={"co2": False},  # type: ignore[arg-type]
                        papers=_settings(replay))
    app = create_app(settings, registry=MemoryRegistry(),
                     endpoints=[EndpointSettings(name="papers-reranker")])
    with TestClient(app) as client:
        found = client.get("/api/papers/search", params={"q": "kernel", "max_results": 2})
        assert found.status_code == 200, found.text
        arxiv_id = found.json()["entries"][0]["id"]
        imported = client.post("/api/papers/import", json={"arxiv": arxiv_id})
        assert imported.status_code == 201, imported.text
        paper = imported.json()
        assert (paper["source"], paper["source_ref"], paper["pages"]) == \
            ("arxiv", "2101.00001v1", 3)
        assert client.post("/api/papers/import", json={"arxiv": "nonsense"}).status_code == 422
        missing = client.post("/api/papers/import", json={"arxiv": "2101.09999"})
        assert missing.status_code == 404 and "check the id" in missing.json()["detail"]
        both = client.post("/api/papers/import", json={"arxiv": arxiv_id, "url": "http://x"})
        assert both.status_code == 422


def test_url_imports_only_reach_the_hosts_allowed(replay: Replay) -> None:
    closed = ArxivClient(_settings(replay))
    with pytest.raises(InvalidInput, match="URL imports are off"):
        closed.fetch(f"{replay.base}/pdf/2101.00001")
    allowed = ArxivClient(_settings(replay).model_copy(update={"import_hosts": ["127.0.0.1"]}))
    assert allowed.fetch(f"{replay.base}/pdf/2101.00001") == PDF
    with pytest.raises(InvalidInput, match="allowed hosts are 127.0.0.1"):
        allowed.fetch("http://169.254.169.254/latest/meta-data")
    assert not [p for _, p in replay.requests if "meta-data" in p]
