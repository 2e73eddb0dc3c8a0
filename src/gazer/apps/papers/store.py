"""The record per paper: a row in ``gazer_papers`` and its objects under ``papers/<id>/``.

Objects: ``original.pdf``, ``extracted.json`` (each page's text as the PDF or OCR gave it),
``cleaned.json`` (the ``Document``: text, pages' and sections' offsets, references),
``cleaned.txt``, ``passages.json`` and ``vectors.npy`` (one MiniLM vector per passage).
Summaries are cached by content hash under ``papers/summaries/``; questions, answers and chats
are rows of ``gazer_paper_turns``; ratings and comments are feedback on the answers' request
ids (``gazer_feedback``), like every other model's.

Indexing writes every object first and the row last; a failure deletes what was written, so a
paper is either all there or not at all. A paper's id comes from its content hash: the same
PDF uploaded twice is the same paper.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from sqlalchemy import delete, select

from gazer.apps.papers.passages import Passage, split_passages
from gazer.apps.papers.pdf import Progress, check_pdf, read_pages
from gazer.apps.papers.text import Document, clean
from gazer.db import Database, PaperRow, PaperTurnRow
from gazer.errors import NotFound
from gazer.settings import PapersSettings
from gazer.storage.protocol import Storage

PREFIX = "papers/"
SOURCES = ("upload", "arxiv", "url", "landing")


class PaperNotFound(NotFound):
    """No indexed paper has that id."""


@dataclasses.dataclass(frozen=True)
class Paper:
    """A paper's record."""

    id: str
    title: str
    authors: list[str]
    source: str
    source_ref: str
    content_hash: str
    pages: int
    words: int
    passages: int
    ocr_pages: int
    at: float
    objects: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _paper(row: PaperRow) -> Paper:
    return Paper(row.id, row.title, json.loads(row.authors), row.source, row.source_ref,
                 row.content_hash, row.pages, row.words, row.passages, row.ocr_pages, row.at,
                 json.loads(row.objects))


def paper_id(content_hash: str) -> str:
    return f"p{content_hash[:15]}"


class PaperStore:
    """Papers in gazer's database and storage."""

    def __init__(self, db: Database, storage: Storage, settings: PapersSettings,
                 embed: Callable[[list[str]], np.ndarray]) -> None:
        self.db, self.storage, self.settings, self.embed = db, storage, settings, embed

    def add(self, data: bytes, source: str, source_ref: str, *,
            progress: Progress | None = None) -> tuple[Paper, bool]:
        """Index a PDF; returns the paper and whether it is new (a PDF indexed before is
        found by its content hash and not indexed again)."""
        check_pdf(data, max_bytes=self.settings.max_bytes, max_pages=self.settings.max_pages)
        digest = hashlib.sha256(data).hexdigest()
        found = self.find_by_hash(digest)
        if found is not None:
            return found, False
        pid = paper_id(digest)
        raw = list(read_pages(data, progress=progress, ocr_language=self.settings.ocr_language))
        document = clean(raw, _metadata(data))
        passages = split_passages(pid, document)
        vectors = self.embed([p.text for p in passages])
        base = f"{PREFIX}{pid}/"
        objects = {"original": f"{base}original.pdf", "extracted": f"{base}extracted.json",
                   "cleaned": f"{base}cleaned.json", "text": f"{base}cleaned.txt",
                   "passages": f"{base}passages.json", "vectors": f"{base}vectors.npy"}
        buffer = io.BytesIO()
        np.save(buffer, vectors.astype(np.float32))
        content = {
            "original": data,
            "extracted": json.dumps([dataclasses.asdict(p) for p in raw]).encode(),
            "cleaned": json.dumps(document.to_dict()).encode(),
            "text": (document.text + "\n\nREFERENCES\n\n" + document.references).encode(),
            "passages": json.dumps([dataclasses.asdict(p) for p in passages]).encode(),
            "vectors": buffer.getvalue(),
        }
        written: list[str] = []
        try:
            for what, key in objects.items():
                self.storage.write_bytes(key, content[what])
                written.append(key)
            row = PaperRow(id=pid, at=time.time(), title=document.title or source_ref,
                           authors=json.dumps(document.authors), source=source,
                           source_ref=source_ref, content_hash=digest, pages=len(raw),
                           words=len(document.text.split()), passages=len(passages),
                           ocr_pages=len(document.ocr_pages), objects=json.dumps(objects))
            with self.db.session() as s:
                s.add(row)
        except BaseException:
            for key in written:
                self.storage.delete(key)
            raise
        paper = self.find_by_hash(digest)
        assert paper is not None
        return paper, True

    def find_by_hash(self, digest: str) -> Paper | None:
        with self.db.session() as s:
            row = s.scalars(select(PaperRow).where(PaperRow.content_hash == digest)).first()
            return _paper(row) if row else None

    def get(self, pid: str) -> Paper:
        with self.db.session() as s:
            row = s.get(PaperRow, pid)
            if row is None:
                raise PaperNotFound(f"no paper with id {pid!r}: `gazer papers list` or "
                                    f"GET /api/papers lists them")
            return _paper(row)

    def papers(self) -> list[Paper]:
        with self.db.session() as s:
            return [_paper(r) for r in s.scalars(select(PaperRow).order_by(PaperRow.at.desc()))]

    def delete(self, pid: str) -> list[str]:
        """Remove the paper's row, turns and every object; returns the keys deleted."""
        paper = self.get(pid)
        keys = sorted(set(self.storage.list(f"{PREFIX}{pid}/")) | set(paper.objects.values()))
        keys += self.storage.list(f"{PREFIX}summaries/{paper.content_hash}/")
        for key in keys:
            if self.storage.exists(key):
                self.storage.delete(key)
        with self.db.session() as s:
            s.execute(delete(PaperTurnRow).where(PaperTurnRow.paper_id == pid))
            s.execute(delete(PaperRow).where(PaperRow.id == pid))
        return keys

    def document(self, pid: str) -> Document:
        return Document.from_dict(json.loads(self.storage.read_bytes(
            self.get(pid).objects["cleaned"])))

    def passages(self, paper: Paper) -> list[Passage]:
        return [Passage(**p) for p in json.loads(self.storage.read_bytes(
            paper.objects["passages"]))]

    def vectors(self, paper: Paper) -> np.ndarray:
        return np.load(io.BytesIO(self.storage.read_bytes(paper.objects["vectors"])))

    def original(self, pid: str) -> bytes:
        return self.storage.read_bytes(self.get(pid).objects["original"])

    # questions, answers and chats

    def record_turn(self, *, paper_id: str | None, chat_id: str | None, turn: int,
                    question: str, resolved: str, answerable: bool,
                    answers: list[dict[str, Any]], request_id: str) -> None:
        with self.db.session() as s:
            s.add(PaperTurnRow(at=time.time(), paper_id=paper_id, chat_id=chat_id, turn=turn,
                               question=question, resolved=resolved, answerable=answerable,
                               answers=json.dumps(answers), request_id=request_id))

    def turns(self, *, paper_id: str | None = None, chat_id: str | None = None,
              limit: int = 200) -> list[dict[str, Any]]:
        q = select(PaperTurnRow).order_by(PaperTurnRow.id)
        if paper_id is not None:
            q = q.where(PaperTurnRow.paper_id == paper_id)
        if chat_id is not None:
            q = q.where(PaperTurnRow.chat_id == chat_id)
        with self.db.session() as s:
            rows = list(s.scalars(q.limit(limit)))
            return [{"at": r.at, "paper_id": r.paper_id, "chat_id": r.chat_id, "turn": r.turn,
                     "question": r.question, "resolved": r.resolved,
                     "answerable": r.answerable, "answers": json.loads(r.answers),
                     "request_id": r.request_id} for r in rows]

    # summaries, cached by content hash and summarizer version

    def cached_summary(self, paper: Paper, version: int) -> dict[str, Any] | None:
        key = f"{PREFIX}summaries/{paper.content_hash}/v{version}.json"
        if not self.storage.exists(key):
            return None
        return dict(json.loads(self.storage.read_bytes(key)))

    def cache_summary(self, paper: Paper, version: int, summary: dict[str, Any]) -> None:
        key = f"{PREFIX}summaries/{paper.content_hash}/v{version}.json"
        self.storage.write_bytes(key, json.dumps(summary).encode())


def _metadata(data: bytes) -> dict[str, str]:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(data)
    try:
        return {k: str(v) for k, v in document.get_metadata_dict().items()}
    finally:
        document.close()
