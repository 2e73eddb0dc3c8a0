"""Corpora for ``wordpredict``, each a folder of WikiText-style files.

Every plug-in yields ``ca.wiki.{train,valid,test}.tokens``: one paragraph per line, tokens
separated by spaces, `` = Title = `` headings, blank lines between articles — the format of
the Catalan Wikipedia sets the reference project trained on (ca-2, ca-100).

- ``ca-wiki``: those files from a folder the user gives (``--param folder=PATH``).
- ``ca-help``: Catalan prose built from the Debian package ``libreoffice-help-ca``: the HTML
  help pages' paragraphs, deduplicated, boilerplate dropped, only Catalan kept (``langid``
  restricted to Catalan vs English, since untranslated strings stay in English), split into
  train/valid/test by page.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from gazer.core.progress import Progress
from gazer.data.debian import unpack_package
from gazer.errors import InvalidInput, NotFound

SPLITS = ("train", "valid", "test")
PACKAGE = "libreoffice-help-ca"
INSTALLED_HELP = Path("/usr/share/libreoffice/help/ca")


def split_file(folder: Path, split: str) -> Path:
    return folder / f"ca.wiki.{split}.tokens"


@dataclasses.dataclass(frozen=True)
class Corpus:
    """A folder of WikiText-style split files and what went into them."""

    name: str
    folder: Path
    source: str
    stats: dict[str, int]

    def lines(self, split: str) -> Iterator[str]:
        with split_file(self.folder, split).open(encoding="utf-8") as handle:
            for line in handle:
                yield line.rstrip("\n")

    def fingerprint(self) -> str:
        """SHA-256 over the three files, in split order."""
        digest = hashlib.sha256()
        for split in SPLITS:
            with split_file(self.folder, split).open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
        return digest.hexdigest()


_CORPORA: dict[str, Callable[..., Corpus]] = {}


def register_corpus(name: str) -> Callable[[Callable[..., Corpus]], Callable[..., Corpus]]:
    def wrap(fn: Callable[..., Corpus]) -> Callable[..., Corpus]:
        if name in _CORPORA:
            raise ValueError(f"a corpus named {name!r} is already registered")
        _CORPORA[name] = fn
        return fn

    return wrap


def load_corpus(name: str, **options: Any) -> Corpus:
    if name not in _CORPORA:
        raise InvalidInput(f"corpus must be one of {', '.join(sorted(_CORPORA))}; got {name!r}")
    return _CORPORA[name](**options)


# --- WikiText-style tokenisation ---------------------------------------------------------------

# An elided article or pronoun keeps its apostrophe ("l'" "eina"), words keep inner hyphens and
# digits, and every other mark (the interpunct of "l·l" too, as in the Wikipedia dumps) is a
# token of its own.
_TOKEN = re.compile(r"(?i)\b(?:[dlmnst]|qu)'(?=\w)|\w+(?:-\w+)*|[^\w\s]")


def tokenize(text: str) -> list[str]:
    """WikiText-style tokens of one paragraph."""
    return _TOKEN.findall(text.replace("\u2019", "'"))


def write_wikitext(pages: Iterable[tuple[str, list[str]]], path: Path) -> dict[str, int]:
    """Write (title, paragraphs) pages as WikiText; returns page, paragraph and token counts."""
    counts = {"pages": 0, "paragraphs": 0, "tokens": 0}
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as out:
        for title, paragraphs in pages:
            heading = " ".join(tokenize(title))
            if heading:
                out.write(f"\n = {heading} = \n\n")
            for paragraph in paragraphs:
                tokens = tokenize(paragraph)
                out.write(" " + " ".join(tokens) + " \n")
                counts["tokens"] += len(tokens)
            counts["pages"] += 1
            counts["paragraphs"] += len(paragraphs)
    tmp.replace(path)
    return counts


# --- ca-wiki -----------------------------------------------------------------------------------

@register_corpus("ca-wiki")
def ca_wiki(folder: str = "", **_: Any) -> Corpus:
    """``ca.wiki.{train,valid,test}.tokens`` from a local folder (the reference's format)."""
    if not folder:
        raise InvalidInput("corpus ca-wiki needs --param folder=PATH holding "
                           "ca.wiki.{train,valid,test}.tokens; got no folder")
    root = Path(folder).expanduser()
    missing = [split_file(root, s).name for s in SPLITS if not split_file(root, s).is_file()]
    if missing:
        raise NotFound(f"{root} must hold ca.wiki.{{train,valid,test}}.tokens; missing: "
                       f"{', '.join(missing)}")
    stats: dict[str, int] = {}
    for split in SPLITS:
        pages = paragraphs = tokens = 0
        with split_file(root, split).open(encoding="utf-8") as handle:
            for line in handle:
                stripped = line.strip()
                if not stripped:
                    continue
                if _is_heading(stripped):
                    pages += stripped.startswith("= ") and not stripped.startswith("= =")
                    continue
                paragraphs += 1
                tokens += len(stripped.split())
        stats.update({f"{split}.pages": pages, f"{split}.paragraphs": paragraphs,
                      f"{split}.tokens": tokens})
    return Corpus("ca-wiki", root, str(root), stats)


def _is_heading(stripped: str) -> bool:
    return stripped.startswith("=") and stripped.endswith("=")


# --- ca-help -----------------------------------------------------------------------------------

# Lines every page repeats, box headings, and menu paths ("Trieu Format ▸ Caràcter").
_BOILERPLATE = re.compile(
    r"^(Consulteu també|Vegeu també|Per accedir a aquesta ordre|Icona|Activeu el JavaScript)"
    r"|▸", re.IGNORECASE)
MIN_WORDS = 5


def extract_page(html: bytes | str) -> tuple[str, list[str]]:
    """The title and the paragraph texts of one help page (its DisplayArea, else its body)."""
    import lxml.html

    text = html.decode("utf-8", errors="replace") if isinstance(html, bytes) else html
    doc = lxml.html.fromstring(text)
    for bad in doc.xpath("//script|//style|//noscript|//pre|//code"):
        bad.drop_tree()
    title = " ".join(doc.findtext(".//title", default="").split())
    roots = doc.xpath("//*[@id='DisplayArea']") or doc.xpath("//body") or [doc]
    paragraphs = []
    for node in roots[0].iter("p", "h1", "h2", "h3", "h4", "h5", "h6", "li"):
        if node.tag == "li" and node.find(".//p") is not None:
            continue
        text = " ".join(node.text_content().split())
        if text:
            paragraphs.append(text)
    return title, paragraphs


def keep_paragraph(text: str) -> bool:
    """Prose, not a label: enough words, mostly letters, not a repeated navigation line."""
    words = text.split()
    if len(words) < MIN_WORDS or _BOILERPLATE.search(text):
        return False
    letters = sum(ch.isalpha() for ch in text)
    return letters >= 0.6 * len(text.replace(" ", ""))


class CatalanFilter:
    """``langid`` restricted to Catalan and English (the help's untranslated strings)."""

    def __init__(self) -> None:
        from langid.langid import LanguageIdentifier, model

        self.identifier = LanguageIdentifier.from_modelstring(model, norm_probs=True)
        self.identifier.set_languages(["ca", "en"])

    def is_catalan(self, text: str) -> bool:
        lang, _prob = self.identifier.classify(text)
        return bool(lang == "ca")


def help_pages(root: Path) -> list[Path]:
    pages = sorted(p for p in root.rglob("*.html") if p.is_file())
    if not pages:
        raise NotFound(f"no HTML help pages under {root}")
    return pages


def fetch_help(cache: Path) -> tuple[Path, str]:
    """The Catalan help folder: the installed package's, else ``apt-get download`` + ``dpkg -x``.

    Returns the folder and a source label that names the package version.
    """
    if INSTALLED_HELP.is_dir() and any(INSTALLED_HELP.rglob("*.html")):
        return INSTALLED_HELP, f"{PACKAGE} (installed, {INSTALLED_HELP})"
    root, label = unpack_package(PACKAGE, cache)
    return root / "usr/share/libreoffice/help/ca", label


def page_split(relative: str, valid: float = 0.1, test: float = 0.1) -> str:
    """A page's split from a hash of its path: stable across runs and machines."""
    bucket = int(hashlib.sha256(relative.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "test" if bucket < test else "valid" if bucket < test + valid else "train"


def build_help_corpus(root: Path, out: Path, *, source: str = "",
                      iterate: Callable[[list[Path]], Iterable[Path]] = iter) -> Corpus:
    """Extract, clean, filter and split the help pages under ``root`` into ``out``."""
    pages = help_pages(root)
    seen: set[str] = set()
    lang = CatalanFilter()
    by_split: dict[str, list[tuple[str, list[str]]]] = {s: [] for s in SPLITS}
    stats = {"html_pages": len(pages), "paragraphs_seen": 0, "duplicates": 0, "boilerplate": 0,
             "not_catalan": 0}
    for page in iterate(pages):
        title, paragraphs = extract_page(page.read_bytes())
        kept = []
        for text in paragraphs:
            stats["paragraphs_seen"] += 1
            if text in seen:
                stats["duplicates"] += 1
                continue
            seen.add(text)
            if not keep_paragraph(text):
                stats["boilerplate"] += 1
            elif not lang.is_catalan(text):
                stats["not_catalan"] += 1
            else:
                kept.append(text)
        if kept:
            by_split[page_split(page.relative_to(root).as_posix())].append((title, kept))
    out.mkdir(parents=True, exist_ok=True)
    for split in SPLITS:
        counts = write_wikitext(by_split[split], split_file(out, split))
        stats.update({f"{split}.{k}": v for k, v in counts.items()})
    (out / "stats.json").write_text(json.dumps({"source": source, **stats}, indent=1))
    return Corpus("ca-help", out, source or str(root), stats)


@register_corpus("ca-help")
def ca_help(folder: str = "", cache: str = "", **_: Any) -> Corpus:
    """Catalan prose from ``libreoffice-help-ca`` (or help pages under ``folder``), cached."""
    cache_dir = Path(cache).expanduser() if cache else Path(tempfile.gettempdir()) / "gazer"
    if folder:
        root, source = Path(folder).expanduser(), f"help pages under {folder}"
    else:
        root, source = fetch_help(cache_dir)
    key = hashlib.sha256(f"{root}|{source}|v1".encode()).hexdigest()[:12]
    out = cache_dir / f"ca-help-{key}"
    stats_file = out / "stats.json"
    if stats_file.exists() and all(split_file(out, s).exists() for s in SPLITS):
        stats = json.loads(stats_file.read_text())
        return Corpus("ca-help", out, stats.pop("source", source), stats)
    return build_help_corpus(root, out, source=source,
                             iterate=lambda pages: Progress(pages, desc="help pages"))


# the corpora with text landed in storage, registered with the others (it imports this module)
from gazer.apps.wordpredict import landed  # noqa: E402, F401
