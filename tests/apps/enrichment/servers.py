"""Small HTTP servers the enrichment tests start on 127.0.0.1: a social-listening API with a
``since`` cursor and pages, and a news site with robots.txt."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Quiet(BaseHTTPRequestHandler):
    """A handler that answers with ``reply`` and keeps the test output clean."""

    def reply(self, status: int, body: bytes = b"", kind: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("content-type", kind)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def api_handler(items: list[dict[str, Any]], page_size: int = 2, token: str = "s3cret",
                fail_first: int = 0) -> type[BaseHTTPRequestHandler]:
    """``GET /posts?since=T&page=N`` → ``{"items": [...], "next": ...}``; 401 without the
    bearer token; the first ``fail_first`` calls answer 503 (to exercise retries)."""
    state = {"calls": 0, "seen": []}

    class Handler(Quiet):
        calls = state

        def do_GET(self) -> None:  # noqa: N802
            state["calls"] += 1
            state["seen"].append(self.path)
            if state["calls"] <= fail_first:
                return self.reply(503)
            if self.headers.get("Authorization") != f"Bearer {token}":
                return self.reply(401)
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
            since = query.get("since", "")
            newer = [i for i in items if i["created_at"] > since]
            page = int(query.get("page", "0"))
            chunk = newer[page * page_size:(page + 1) * page_size]
            more = (page + 1) * page_size < len(newer)
            nxt = None
            if more:
                nxt = "/posts?" + urllib.parse.urlencode({**query, "page": page + 1})
            self.reply(200, json.dumps({"items": chunk, "next": nxt}).encode(),
                       "application/json")

    return Handler


def site_handler(pages: dict[str, str], robots: str = "") -> type[BaseHTTPRequestHandler]:
    """Serves ``pages`` and a robots.txt; 404 elsewhere."""

    class Handler(Quiet):
        def do_GET(self) -> None:  # noqa: N802
            path = urllib.parse.urlsplit(self.path).path
            if path == "/robots.txt" and robots:
                self.reply(200, robots.encode())
            elif path in pages:
                self.reply(200, pages[path].encode(), "text/html; charset=utf-8")
            else:
                self.reply(404)

    return Handler
