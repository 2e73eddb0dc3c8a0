"""arXiv: search through its Atom API and fetch a paper's PDF, politely.

arXiv asks API clients for at most one request every 3 seconds; ``ArxivClient`` waits its
turn across threads (``arxiv_interval_s``), keeps answers for ``arxiv_cache_s`` so paging back
and forth or repeating a search costs nothing, and reads the feed with ``feedparser``. The base
URLs are settings, so tests (and mirrors) point it at their own server.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any
from urllib.parse import urlencode, urlparse

from gazer.errors import GazerError, InvalidInput, NotFound
from gazer.settings import PapersSettings

ARXIV_ID = re.compile(r"^(?:arxiv:)?(\d{4}\.\d{4,5}(?:v\d+)?|[a-z-]+(?:\.[A-Z]{2})?/\d{7}"
                      r"(?:v\d+)?)$", re.IGNORECASE)
ABS_URL = re.compile(r"arxiv\.org/(?:abs|pdf)/(?P<id>[^?#]+?)(?:\.pdf)?$")


class ArxivUnavailable(GazerError):
    """arXiv (or the configured mirror) did not answer, or answered with an error."""

    status_code = 502


def parse_id(value: str) -> str:
    """An arXiv id from an id (``2101.00001``, ``arXiv:2101.00001v2``, ``hep-th/9901001``) or
    an abs/pdf URL; ``InvalidInput`` otherwise."""
    value = value.strip()
    match = ABS_URL.search(value)
    candidate = match.group("id") if match else value
    found = ARXIV_ID.match(candidate)
    if not found:
        raise InvalidInput(f"expected an arXiv id such as 2101.00001 or an arxiv.org/abs/ URL; "
                           f"got {value!r}")
    return found.group(1)


class ArxivClient:
    """Searches and downloads, at most one request per interval, with a cache."""

    def __init__(self, settings: PapersSettings, transport: Any = None) -> None:
        self.settings = settings
        self._transport = transport
        self._lock = threading.Lock()
        self._last = 0.0
        self._cache: dict[str, tuple[float, Any]] = {}

    def _get(self, url: str, params: dict[str, Any] | None = None) -> bytes:
        import httpx

        key = url + ("?" + urlencode(params) if params else "")
        hit = self._cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < self.settings.arxiv_cache_s:
            return bytes(hit[1])
        with self._lock:  # one request in flight, spaced by the interval
            wait = self._last + self.settings.arxiv_interval_s - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            try:
                with httpx.Client(transport=self._transport, timeout=60,
                                  follow_redirects=True) as client:
                    response = client.get(url, params=params)
            except httpx.HTTPError as exc:
                raise ArxivUnavailable(f"arXiv did not answer ({url}): {exc}") from exc
            finally:
                self._last = time.monotonic()
        if response.status_code == 404:
            raise NotFound(f"arXiv has nothing at {url} (404): check the id")
        if response.status_code != 200:
            raise ArxivUnavailable(f"arXiv answered {response.status_code} for {url}")
        self._cache[key] = (time.monotonic(), response.content)
        return response.content

    def search(self, query: str, start: int = 0, max_results: int = 10) -> dict[str, Any]:
        """One page of results: ``{"total", "start", "entries": [...]}``."""
        import feedparser

        if not query.strip():
            raise InvalidInput("q must be a non-empty search, e.g. 'all:transformer'")
        q = query if ":" in query else f"all:{query}"
        body = self._get(self.settings.arxiv_api, {"search_query": q, "start": start,
                                                   "max_results": max_results})
        feed = feedparser.parse(body)
        if feed.bozo and not feed.entries:
            raise ArxivUnavailable(f"arXiv's answer is not an Atom feed: {feed.bozo_exception}")
        entries = [_entry(e) for e in feed.entries if "api/errors" not in e.get("id", "")]
        total = int(feed.feed.get("opensearch_totalresults", len(entries)) or 0)
        return {"query": q, "total": total, "start": start, "entries": entries}

    def pdf(self, arxiv_id: str) -> bytes:
        """The PDF of paper ``arxiv_id``."""
        return self._get(self.settings.arxiv_pdf.rstrip("/") + "/" + parse_id(arxiv_id))

    def fetch(self, url: str) -> bytes:
        """A PDF from any http(s) URL (not spaced: it is not arXiv's API)."""
        import httpx

        if not re.match(r"^https?://", url):
            raise InvalidInput(f"expected an http:// or https:// URL; got {url!r}")
        host = urlparse(url).hostname or ""
        if host not in self.settings.import_hosts:
            allowed = ", ".join(self.settings.import_hosts)
            raise InvalidInput(
                f"imports from {host!r} are not allowed: " + (
                    f"allowed hosts are {allowed}" if allowed else
                    "URL imports are off; list the hosts to allow in "
                    "GAZER_PAPERS__IMPORT_HOSTS (arXiv ids and arxiv.org URLs need nothing)"))
        try:
            with httpx.Client(transport=self._transport, timeout=60,
                              follow_redirects=True) as client:
                response = client.get(url)
        except httpx.HTTPError as exc:
            raise ArxivUnavailable(f"{url} did not answer: {exc}") from exc
        if response.status_code != 200:
            raise ArxivUnavailable(f"{url} answered {response.status_code}")
        return response.content


def _entry(entry: Any) -> dict[str, Any]:
    link = next((x["href"] for x in entry.get("links", []) if x.get("type") ==
                 "application/pdf" or x.get("title") == "pdf"), None)
    raw_id = entry.get("id", "")
    try:
        arxiv_id = parse_id(raw_id)
    except InvalidInput:
        arxiv_id = raw_id
    return {"id": arxiv_id, "title": " ".join(entry.get("title", "").split()),
            "authors": [a.get("name", "") for a in entry.get("authors", [])],
            "summary": " ".join(entry.get("summary", "").split()),
            "published": entry.get("published", ""), "pdf_url": link}
