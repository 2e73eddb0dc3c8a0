"""Catalan text landed in storage, added to a corpus: ``ca-help+landed``, ``ca-wiki+landed``.

Files dropped under ``landing/wordpredict/`` (``.txt``: paragraphs separated by blank lines;
``.html``/``.htm``: the help corpus's page extraction) go through the help corpus's rules
(prose only, Catalan by ``langid``, duplicates dropped), are split by a hash of their key like
help pages, and are appended to the base corpus's splits. The combined corpus lives in the
cache under a name that hashes the base and every landed file, so a new file makes a new
corpus version and the same files give the same one.

A retraining policy on out-of-vocabulary drift runs wordpredict with
``corpus.corpus=ca-help+landed``: users' own text lands, drift notices the OOV rate rise, the
model retrains on the help and on that text.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from gazer.apps.wordpredict.corpus import (
    SPLITS,
    CatalanFilter,
    Corpus,
    extract_page,
    keep_paragraph,
    load_corpus,
    page_split,
    register_corpus,
    split_file,
    write_wikitext,
)
from gazer.core.context import current_settings
from gazer.storage.resolve import storage_from_settings

LANDING = "landing/wordpredict/"
SUFFIXES = (".txt", ".html", ".htm")


def landed_pages(storage: Any, prefix: str = LANDING) -> list[tuple[str, str, list[str]]]:
    """(key, title, paragraphs) of every landed file, in key order."""
    out = []
    for key in sorted(k for k in storage.list(prefix) if k.lower().endswith(SUFFIXES)):
        data = storage.read_bytes(key)
        if key.lower().endswith(".txt"):
            text = data.decode("utf-8", errors="replace")
            paragraphs = [" ".join(p.split()) for p in text.split("\n\n") if p.strip()]
            title = Path(key).stem
        else:
            title, paragraphs = extract_page(data)
        out.append((key, title or Path(key).stem, paragraphs))
    return out


def with_landed(base: Corpus, storage: Any, cache: Path, prefix: str = LANDING) -> Corpus:
    """``base`` with the landed text appended to its splits (``base`` itself when nothing
    landed)."""
    pages = landed_pages(storage, prefix)
    if not pages:
        return base
    digest = hashlib.sha256(base.fingerprint().encode())
    for key, title, paragraphs in pages:
        digest.update(json.dumps([key, title, paragraphs]).encode())
    out = cache / f"{base.name}+landed-{digest.hexdigest()[:12]}"
    stats_file = out / "stats.json"
    if stats_file.exists() and all(split_file(out, s).exists() for s in SPLITS):
        stats = json.loads(stats_file.read_text())
        return Corpus(f"{base.name}+landed", out, stats.pop("source"), stats)
    lang = CatalanFilter()
    seen: set[str] = set()
    by_split: dict[str, list[tuple[str, list[str]]]] = {s: [] for s in SPLITS}
    stats = {**base.stats, "landed.files": len(pages), "landed.paragraphs_seen": 0,
             "landed.kept": 0}
    for key, title, paragraphs in pages:
        kept = []
        for text in paragraphs:
            stats["landed.paragraphs_seen"] += 1
            if text not in seen and keep_paragraph(text) and lang.is_catalan(text):
                seen.add(text)
                kept.append(text)
        stats["landed.kept"] += len(kept)
        if kept:
            by_split[page_split(key)].append((title, kept))
    out.mkdir(parents=True, exist_ok=True)
    for split in SPLITS:
        extra = out / f"landed.{split}.tokens"
        counts = write_wikitext(by_split[split], extra)
        stats.update({f"landed.{split}.{k}": v for k, v in counts.items()})
        target = split_file(out, split)
        tmp = target.with_suffix(".tmp")
        with tmp.open("wb") as handle:
            handle.write(split_file(base.folder, split).read_bytes())
            handle.write(extra.read_bytes())
        tmp.replace(target)
        extra.unlink()
    source = f"{base.source} + {len(pages)} file(s) landed under {storage.url(prefix)}"
    stats_file.write_text(json.dumps({"source": source, **stats}, indent=1))
    return Corpus(f"{base.name}+landed", out, source, stats)


def _landed(base: str) -> Any:
    def load(folder: str = "", cache: str = "", **options: Any) -> Corpus:
        found = load_corpus(base, folder=folder, cache=cache, **options)
        root = Path(cache).expanduser() if cache else found.folder.parent
        return with_landed(found, storage_from_settings(current_settings()), root)

    load.__doc__ = f"``{base}`` plus the Catalan text landed under ``{LANDING}``."
    return load


for _base in ("ca-help", "ca-wiki"):
    register_corpus(f"{_base}+landed")(_landed(_base))
