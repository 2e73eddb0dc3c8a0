"""A cleaned paper cut into passages: runs of whole sentences of at most ``MAX_WORDS`` words,
inside one paragraph group of one section, each knowing its page, section and offsets.

Windows overlap by a sentence, so an answer that straddles two sentences is whole in some
passage. Sentences are split by a regular expression rather than pysbd: on a 50-page paper it
is 40x faster and the passages, not the sentences, are what is ranked.
"""

from __future__ import annotations

import dataclasses
import re

from gazer.apps.papers.text import Document, is_heading

MAX_WORDS = 120
TARGET_WORDS = 80
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")
ABBREVIATION = re.compile(r"\b(?:e\.g|i\.e|et al|cf|Fig|Eq|Sec|vs|etc|resp|approx)\.$",
                          re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class Passage:
    """A span of a paper's text that can be an answer."""

    paper: str
    index: int
    text: str
    start: int
    end: int
    page: int
    section: str


def sentences(paragraph: str, offset: int) -> list[tuple[int, int]]:
    """``(start, end)`` spans of the paragraph's sentences, as offsets in the document."""
    spans, start = [], 0
    for match in SENTENCE_END.finditer(paragraph):
        if ABBREVIATION.search(paragraph[start:match.start()]):
            continue
        spans.append((offset + start, offset + match.start()))
        start = match.end()
    if start < len(paragraph):
        spans.append((offset + start, offset + len(paragraph)))
    return [s for s in spans if s[1] > s[0]]


def _words(text: str) -> int:
    return len(text.split())


def _split_long(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """A sentence over ``MAX_WORDS`` words cut at word boundaries."""
    spans, words = [], list(re.finditer(r"\S+", text[start:end]))
    for i in range(0, len(words), MAX_WORDS):
        chunk = words[i:i + MAX_WORDS]
        spans.append((start + chunk[0].start(), start + chunk[-1].end()))
    return spans


def _prose(text: str) -> bool:
    """Mostly words, not a figure's axis ticks or a table of numbers."""
    tokens = text.split()
    return sum(1 for t in tokens if re.fullmatch(r"[A-Za-z][a-z'-]*[,.;:)]?", t)) >= \
        0.5 * len(tokens)


def split_passages(paper: str, document: Document) -> list[Passage]:
    """Every passage of ``document``, in reading order."""
    text = document.text
    out: list[Passage] = []
    for section in document.sections:
        spans: list[tuple[int, int]] = []
        for para in re.finditer(r"[^\n]+", text[section.start:section.end]):
            if is_heading(para.group()):
                continue
            for s, e in sentences(para.group(), section.start + para.start()):
                spans.extend(_split_long(text, s, e) if _words(text[s:e]) > MAX_WORDS
                             else [(s, e)])
        out.extend(_windows(paper, document, spans, section.title, len(out)))
    return out


def _windows(paper: str, document: Document, spans: list[tuple[int, int]], section: str,
             first: int) -> list[Passage]:
    out: list[Passage] = []
    i = 0
    while i < len(spans):
        j, words = i, 0
        while j < len(spans) and (words == 0 or words + _words(
                document.text[spans[j][0]:spans[j][1]]) <= MAX_WORDS) and words < TARGET_WORDS:
            words += _words(document.text[spans[j][0]:spans[j][1]])
            j += 1
        start, end = spans[i][0], spans[j - 1][1]
        body = re.sub(r"\s+", " ", document.text[start:end]).strip()
        if _words(body) >= 5 and _prose(body):
            out.append(Passage(paper, first + len(out), body, start, end,
                               document.page_of(start), section))
        if j >= len(spans):
            break
        i = j - 1 if j - 1 > i else j  # one sentence of overlap
    return out
