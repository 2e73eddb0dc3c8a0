"""Review and article text with human sentiment ratings, from the vaderSentiment 3.3.2 sdist.

Its ``additional_resources/hutto_ICWSM_2014.tar.gz`` holds sentence-level ground truth where a
sentence id ``12_3`` is sentence 3 of review (or article) 12; sentences grouped back by that id
give whole documents: 300 Amazon reviews and 498 NYT editorial articles.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import pandas as pd

from gazer.errors import NotFound

SDIST = "vaderSentiment-3.3.2.tar.gz"
SOURCES = {"amazon": "amazonReviewSnippets_GroundTruth.txt",
           "nyt": "nytEditorialSnippets_GroundTruth.txt"}


def fetch_sdist(cache: Path) -> Path:
    """The sdist in ``cache``, downloaded with pip from the package index when missing."""
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / SDIST
    if not target.exists():
        result = subprocess.run(  # nosec B603 # fixed argv, no shell: this Python's pip, a pinned sdist
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary",
             ":all:", "vadersentiment==3.3.2", "-d", str(cache)],
            capture_output=True, text=True, timeout=300,
        )
        if result.returncode != 0 or not target.exists():
            raise NotFound(f"could not download {SDIST} with pip ({result.stderr.strip()[-300:]}); "
                           f"put the file in {cache} yourself")
    return target


def read_ground_truth(sdist: Path) -> dict[str, list[str]]:
    """The two ground-truth files' lines, by source name."""
    with tarfile.open(sdist) as outer:
        member = next(m for m in outer.getmembers() if m.name.endswith("hutto_ICWSM_2014.tar.gz"))
        inner_file = outer.extractfile(member)
        assert inner_file is not None
        with tarfile.open(fileobj=inner_file) as inner:
            out = {}
            for source, name in SOURCES.items():
                found = next(m for m in inner.getmembers() if m.name.endswith(name))
                raw = inner.extractfile(found)
                assert raw is not None
                out[source] = raw.read().decode("utf-8", errors="replace").splitlines()
    return out


def group_documents(lines: list[str], source: str) -> pd.DataFrame:
    """Sentences ``doc_sentence<TAB>rating<TAB>text`` grouped into documents, in order."""
    rows = []
    for line in lines:
        parts = line.rstrip("\r").split("\t")
        if len(parts) < 3 or "_" not in parts[0]:
            continue
        doc, _, sentence = parts[0].partition("_")
        rows.append((int(doc), int(sentence), float(parts[1]), parts[2].strip()))
    frame = pd.DataFrame(rows, columns=["doc", "sentence", "rating", "text"]).sort_values(
        ["doc", "sentence"])
    docs = frame.groupby("doc").agg(text=("text", " ".join), sentences=("text", "size"),
                                    rating=("rating", "mean")).reset_index()
    docs.insert(0, "doc_id", [f"{source}-{d}" for d in docs["doc"]])
    return docs.drop(columns="doc").assign(source=source)


def load_corpus(cache: Path) -> pd.DataFrame:
    """Every review and article as one row: doc_id, text, sentences, rating, source."""
    truth = read_ground_truth(fetch_sdist(cache))
    return pd.concat([group_documents(lines, src) for src, lines in truth.items()],
                     ignore_index=True)
