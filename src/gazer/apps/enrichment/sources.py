"""Where messages come from, and article pages.

- ``pull_api``: JSON pages from an HTTP API (auth header, ``since`` cursor persisted in
  storage between runs, retries with back-off, a page limit); the page format is
  ``{"items": [...], "next": URL or null}`` or a bare list.
- ``read_files``: JSON (list, ``{"items": [...]}`` or JSON lines) and CSV files.
- ``fetch_article``: one page with a timeout, a size limit and the site's robots.txt
  respected; its main text extracted with trafilatura.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
import urllib.robotparser
from collections.abc import Callable
from io import BytesIO
from typing import Any

import pandas as pd

from gazer.errors import InvalidInput

USER_AGENT = "gazer-enrichment/0.1 (+https://github.com/gazer)"


def _get(url: str, headers: dict[str, str], timeout_s: float, max_bytes: int) -> bytes:
    # http(s) only: an API's "next" link or a step's url must not read file:// or ftp://.
    if urllib.parse.urlsplit(url).scheme.lower() not in ("http", "https"):
        raise InvalidInput(f"only http:// and https:// URLs are fetched; got {url!r}")
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **headers})
    with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 # nosec B310 # http(s) checked above
        data = response.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValueError(f"{url} is over the {max_bytes}-byte limit")
    return data


def with_retries(fn: Callable[[], bytes], retries: int, delay_s: float) -> bytes:
    for attempt in range(retries + 1):
        try:
            return fn()
        except urllib.error.HTTPError as exc:
            if exc.code < 500 and exc.code != 429 or attempt == retries:
                raise
        except (urllib.error.URLError, TimeoutError, ConnectionError):
            if attempt == retries:
                raise
        time.sleep(delay_s * 2 ** attempt)
    raise AssertionError("unreachable")


def pull_api(url: str, *, cursor: str | None, token: str = "", header: str = "Authorization",
             retries: int = 3, delay_s: float = 0.5, max_pages: int = 100,
             timeout_s: float = 30.0) -> tuple[list[dict[str, Any]], list[bytes], str | None]:
    """Every item newer than ``cursor``; the raw pages; the new cursor (the newest time)."""
    headers = {header: f"Bearer {token}" if header == "Authorization" else token} if token else {}
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    if cursor:
        query["since"] = cursor
    next_url: str | None = urllib.parse.urlunsplit(parts._replace(
        query=urllib.parse.urlencode(query)))
    items: list[dict[str, Any]] = []
    pages: list[bytes] = []
    while next_url and len(pages) < max_pages:
        target = next_url
        raw = with_retries(lambda url=target: _get(url, headers, timeout_s, 50 << 20),  # type: ignore[misc]
                           retries, delay_s)
        pages.append(raw)
        body = json.loads(raw)
        batch = body.get("items", []) if isinstance(body, dict) else body
        if not isinstance(batch, list):
            raise InvalidInput(f"{target} answered {type(batch).__name__}; expected a list of "
                               f"items or {{'items': [...], 'next': ...}}")
        items.extend(batch)
        next_url = body.get("next") if isinstance(body, dict) else None
        if next_url:
            next_url = urllib.parse.urljoin(target, next_url)
    times = [str(i.get("created_at", "")) for i in items if i.get("created_at")]
    newest = max(times, key=lambda t: pd.Timestamp(t)) if times else cursor
    return items, pages, newest


def read_files(data: bytes, name: str) -> pd.DataFrame:
    """A JSON, JSON-lines or CSV file's records."""
    lower = name.lower()
    if lower.endswith(".csv"):
        return pd.read_csv(BytesIO(data), dtype=str, keep_default_na=False)
    if lower.endswith((".jsonl", ".ndjson")):
        return pd.read_json(BytesIO(data), lines=True, dtype=False)
    if lower.endswith(".json"):
        body = json.loads(data)
        items = body.get("items", body) if isinstance(body, dict) else body
        if not isinstance(items, list):
            raise InvalidInput(f"{name}: expected a JSON list of messages or "
                               f"{{'items': [...]}}; got {type(items).__name__}")
        return pd.DataFrame(items)
    if lower.endswith(".parquet"):
        return pd.read_parquet(BytesIO(data))
    raise InvalidInput(f"{name}: expected .json, .jsonl, .csv or .parquet")


class Fetcher:
    """Article pages, politely: robots.txt per host (cached), timeout, size limit."""

    def __init__(self, timeout_s: float = 10.0, max_bytes: int = 2 << 20) -> None:
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes
        self._robots: dict[str, urllib.robotparser.RobotFileParser | None] = {}

    def allowed(self, url: str) -> bool:
        parts = urllib.parse.urlsplit(url)
        host = f"{parts.scheme}://{parts.netloc}"
        if host not in self._robots:
            parser: urllib.robotparser.RobotFileParser | None = urllib.robotparser.RobotFileParser()
            try:
                text = _get(f"{host}/robots.txt", {}, self.timeout_s, 512 << 10).decode(
                    "utf-8", errors="replace")
                assert parser is not None
                parser.parse(text.splitlines())
                self._robots[host] = parser
            except urllib.error.HTTPError as exc:
                # no robots.txt (4xx): everything allowed; 5xx: treat as disallowed
                self._robots[host] = None if exc.code < 500 else _deny_all()
            except (urllib.error.URLError, TimeoutError, ValueError, ConnectionError):
                self._robots[host] = _deny_all()
        found = self._robots[host]
        return found is None or found.can_fetch(USER_AGENT, url)

    def main_text(self, url: str) -> tuple[str, str]:
        """(text, status): status ``ok``, ``robots``, ``too-large``, ``error: ...``."""
        if not url.startswith(("http://", "https://")):
            return "", "error: not an http(s) URL"
        if not self.allowed(url):
            return "", "robots"
        try:
            html = _get(url, {}, self.timeout_s, self.max_bytes)
        except ValueError:
            return "", "too-large"
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            return "", f"error: {exc}"[:200]
        import trafilatura

        text = trafilatura.extract(html.decode("utf-8", errors="replace"),
                                   include_comments=False, include_tables=False) or ""
        return text, "ok"


def _deny_all() -> urllib.robotparser.RobotFileParser:
    parser = urllib.robotparser.RobotFileParser()
    parser.parse(["User-agent: *", "Disallow: /"])
    return parser
