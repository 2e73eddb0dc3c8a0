"""A paper's pages as clean text: running heads and page numbers gone, hyphenation undone,
ligatures and odd code points normalised, paragraphs and sections found, references split off.

The cleaned ``Document`` keeps where every page starts (``page_starts``), so any span of its
text knows its page, and its sections' spans, so any passage knows its section.
"""

from __future__ import annotations

import bisect
import collections
import dataclasses
import re
import unicodedata
from collections.abc import Iterable, Mapping

from gazer.apps.papers.pdf import RawPage

SOFT_HYPHEN = "\ufffe"  # PDFium's mark for a hyphen it found at a line end
# pdfTeX's T1/OT1 ligature slots, left raw by fonts without a Unicode map
LIGATURES = {"\x1b": "ff", "\x1c": "fi", "\x1d": "fl", "\x1e": "ffi", "\x1f": "ffl",
             "\x0e": "ffi", "\x0f": "ffl", "\u00ad": SOFT_HYPHEN}
HEADING = re.compile(r"^(?:(?P<num>(?:\d{1,2}\.)*\d{1,2})\.?|(?P<app>[A-H])\.)\s+"
                     r"(?P<title>[A-Z][^.!?]{1,78})$")
NAMED_HEADINGS = ("abstract", "introduction", "references", "bibliography", "acknowledgments",
                  "acknowledgements", "appendix", "conclusion", "conclusions", "summary")
REFERENCE_HEADINGS = ("references", "bibliography")
WORD = re.compile(r"[A-Za-z][a-z]+")


@dataclasses.dataclass(frozen=True)
class Section:
    """A heading and the span of the body text it covers."""

    title: str
    start: int
    end: int


@dataclasses.dataclass
class Document:
    """A paper's cleaned text, with its pages' and sections' offsets."""

    title: str
    authors: list[str]
    text: str  # the body: title to the end of the last section before the references
    page_starts: list[int]  # offset in ``text`` where each page (from 1) begins
    sections: list[Section]
    references: str = ""
    ocr_pages: list[int] = dataclasses.field(default_factory=list)

    @property
    def pages(self) -> int:
        return len(self.page_starts)

    def page_of(self, offset: int) -> int:
        """The page (from 1) holding the character at ``offset``."""
        return max(1, bisect.bisect_right(self.page_starts, offset))

    def section_of(self, offset: int) -> str:
        for section in reversed(self.sections):
            if section.start <= offset:
                return section.title
        return ""

    def section_text(self, section: Section) -> str:
        return self.text[section.start:section.end].strip()

    def to_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Document:
        sections = [Section(**s) for s in data["sections"]]  # type: ignore[attr-defined]
        return cls(**{**data, "sections": sections})  # type: ignore[arg-type]


def normalise(text: str) -> str:
    """Ligatures and compatibility forms (NFKC), soft hyphens marked, control codes gone."""
    for raw, clean in LIGATURES.items():
        text = text.replace(raw, clean)
    text = unicodedata.normalize("NFKC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = text.replace("\u2010", "-").replace("\u2011", "-")
    return "".join(c for c in text if c in "\n\t" + SOFT_HYPHEN or unicodedata.category(c)[0]
                   != "C")


def _key(line: str) -> str:
    return re.sub(r"\d+", "#", line.strip().lower())


def running_lines(pages: list[list[str]], edge: int = 2) -> set[str]:
    """Line keys (digits as ``#``) that recur at the top or bottom of many pages."""
    if len(pages) < 3:
        return set()
    counts: collections.Counter[str] = collections.Counter()
    for lines in pages:
        keys = {_key(line) for line in lines[:edge] + lines[-edge:] if line.strip()}
        counts.update(keys)
    need = max(2, -(-len(pages) // 4))
    return {k for k, n in counts.items() if n >= need and len(k) < 200}


def strip_running(lines: list[str], running: set[str], edge: int = 2) -> list[str]:
    """The page's lines without running heads, footers and bare page numbers."""
    out = list(lines)
    for index in [*range(min(edge, len(out))), *range(max(0, len(out) - edge), len(out))]:
        line = out[index].strip()
        if _key(line) in running or re.fullmatch(r"(page\s*)?\d{1,4}(\s*(of|/)\s*\d+)?", line,
                                                 re.IGNORECASE):
            out[index] = ""
    return [line for line in out if line.strip()]


def _vocabulary(pages: Iterable[list[str]]) -> set[str]:
    return {w.lower() for lines in pages for line in lines for w in WORD.findall(
        line.replace(SOFT_HYPHEN, " "))}


def join_hyphen(left: str, right: str, vocabulary: set[str]) -> str:
    """``left`` + ``right`` across a line-end hyphen: "regu"+"lar" → "regular", but
    "data"+"driven" → "data-driven" where both halves are words and the join is not."""
    head = re.search(r"[A-Za-z]+$", left)
    tail = re.match(r"[A-Za-z]+", right)
    if head and tail:
        joined = (head.group() + tail.group()).lower()
        if joined not in vocabulary and head.group().lower() in vocabulary \
                and tail.group().lower() in vocabulary and len(head.group()) > 2:
            return f"{left}-{right}"
    return left + right


def is_heading(line: str) -> bool:
    stripped = line.strip()
    if stripped.lower().rstrip(":") in NAMED_HEADINGS:
        return True
    match = HEADING.match(stripped)
    return bool(match) and len(stripped.split()) <= 12 and not stripped.endswith(",")


def paragraphs(lines: list[str], vocabulary: set[str]) -> list[str]:
    """Lines joined into paragraphs; a heading is a paragraph of its own."""
    if not lines:
        return []
    width = sorted(len(line) for line in lines)[len(lines) * 3 // 4]
    out: list[str] = []
    current = ""
    for line in lines:
        line = line.strip()
        if is_heading(line):
            if current:
                out.append(current)
            out.append(line)
            current = ""
            continue
        if not current:
            current = line
        elif current.endswith(SOFT_HYPHEN):
            current = join_hyphen(current[:-1], line, vocabulary)
        else:
            current = f"{current} {line}"
        if current.endswith((".", "?", "!", ":")) and len(line) < 0.8 * width:
            out.append(current)
            current = ""
    if current:
        out.append(current)
    return [_inline_hyphens(p, vocabulary) for p in out]


def _inline_hyphens(text: str, vocabulary: set[str]) -> str:
    """Soft hyphens PDFium left inside a line (it joins some hyphenated words itself)."""
    parts = text.split(SOFT_HYPHEN)
    joined = parts[0]
    for part in parts[1:]:
        joined = join_hyphen(joined, part, vocabulary)
    return joined


def clean(pages: list[RawPage], metadata: Mapping[str, str] | None = None) -> Document:
    """The cleaned ``Document`` of a paper's raw pages."""
    metadata = metadata or {}
    raw = [[line for line in normalise(p.text).split("\n")] for p in pages]
    running = running_lines(raw)
    kept = [strip_running(lines, running) for lines in raw]
    vocabulary = _vocabulary(kept)
    text, starts, sections, open_title, open_start = "", [], [], "Front matter", 0
    last: tuple[int, ...] = ()
    for lines in kept:
        starts.append(len(text))
        for para in paragraphs(lines, vocabulary):
            number = _number(para)
            if is_heading(para) and (number is None or _follows(number, last)):
                last = number or last
                if open_title or open_start < len(text):
                    sections.append(Section(open_title, open_start, len(text)))
                open_title, open_start = para.strip(), len(text)
            text += para + "\n\n"
    sections.append(Section(open_title, open_start, len(text)))
    body, references = _split_references(text, sections)
    sections = [s for s in sections if s.start < len(body)]
    title, authors = _title_authors(kept[0] if kept else [], metadata)
    return Document(title, authors, body, starts, sections, references,
                    [p.number for p in pages if p.ocr])


def _number(heading: str) -> tuple[int, ...] | None:
    match = HEADING.match(heading.strip())
    if not match or not match.group("num"):
        return None
    return tuple(int(n) for n in match.group("num").split("."))


def _follows(number: tuple[int, ...], last: tuple[int, ...]) -> bool:
    """Whether a numbered heading can come after ``last`` (footnotes and table rows that
    look like headings break the sequence)."""
    top = last[0] if last else 0
    return number > last and number[0] <= top + 1 and len(number) <= 4


def _split_references(text: str, sections: list[Section]) -> tuple[str, str]:
    for section in sections:
        if section.title.lower().rstrip(".:") in REFERENCE_HEADINGS or re.sub(
                r"^[\d.]+\s+", "", section.title).lower() in REFERENCE_HEADINGS:
            later = [s for s in sections if s.start > section.start and
                     s.title.lower().startswith(("appendix", "a.", "a "))]
            end = later[0].start if later else len(text)
            # the appendix after the references stays in the body, the references go
            return text[:section.start] + text[end:], text[section.start:end]
    return text, ""


def _title_authors(first_page: list[str], metadata: Mapping[str, str]) -> tuple[str, list[str]]:
    title = (metadata.get("Title") or "").strip()
    authors = [a.strip() for a in re.split(r",\s*|\s+and\s+", metadata.get("Author") or "")
               if a.strip()]
    lines = [line.strip() for line in first_page if line.strip()]
    if not title and lines:
        title = lines[0]
        if len(lines) > 1 and len(lines[0]) > 35 and lines[1][:1].isupper() and \
                not _looks_like_name(lines[1]):
            title = f"{lines[0]} {lines[1]}"
    if not authors:
        stop = next((i for i, line in enumerate(lines) if line.lower() == "abstract"),
                    min(len(lines), 12))
        authors = [line for line in lines[1:stop] if _looks_like_name(line)]
    return title, authors


def _looks_like_name(line: str) -> bool:
    words = line.split()
    return 2 <= len(words) <= 4 and all(w[:1].isupper() for w in words) and not any(
        c.isdigit() for c in line) and not re.search(
        r"universit|institut|inc\b|department|school|college|abstract", line, re.IGNORECASE)
