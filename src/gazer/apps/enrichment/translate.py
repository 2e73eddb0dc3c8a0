"""Translation with Apertium (Debian packages), pivoting through Catalan where no direct pair.

Languages are ISO 639-1 as ``langid`` gives them; Apertium names pairs with 639-3 codes.
``plan(src, "en")`` finds a direct pair (``fra-eng``) or a two-hop route through Catalan
(``ita-cat`` then ``cat-eng``); a language with no route is reported with the reason and the
caller keeps the text untranslated.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Sequence

ISO3 = {"en": "eng", "ca": "cat", "it": "ita", "fr": "fra", "es": "spa", "pt": "por",
        "oc": "oci", "sw": "swa", "de": "deu", "ro": "ron", "gl": "glg", "eu": "eus"}
PIVOT = "cat"
PACKAGES = ("apertium", "apertium-eng-cat", "apertium-fra-cat", "apertium-cat-ita")


@functools.lru_cache(maxsize=1)
def installed_pairs() -> frozenset[str]:
    """Pairs ``apertium -l`` lists (``ita-cat``, ...); empty when Apertium is missing."""
    if shutil.which("apertium") is None:
        return frozenset()
    done = subprocess.run(["apertium", "-l"], capture_output=True, text=True, timeout=60)  # nosec B603 B607 # fixed argv, no shell; apertium found on PATH just above
    return frozenset(line.strip() for line in done.stdout.splitlines() if line.strip())


def plan(src: str, tgt: str = "en") -> tuple[list[str], str]:
    """The pairs to chain from ``src`` to ``tgt``, or ``([], reason)``."""
    if src == tgt:
        return [], "already in the target language"
    pairs = installed_pairs()
    if not pairs:
        return [], f"Apertium is not installed (apt-get install {' '.join(PACKAGES)})"
    a, b = ISO3.get(src), ISO3.get(tgt)
    if a is None or b is None:
        return [], f"no Apertium language code for {src if a is None else tgt!r}"
    if f"{a}-{b}" in pairs:
        return [f"{a}-{b}"], ""
    if f"{a}-{PIVOT}" in pairs and f"{PIVOT}-{b}" in pairs:
        return [f"{a}-{PIVOT}", f"{PIVOT}-{b}"], ""
    return [], f"no Apertium pair {a}-{b} and no route through {PIVOT} (installed: " \
               f"{', '.join(sorted(p for p in pairs if '_' not in p)) or 'none'})"


def run_pair(pair: str, texts: Sequence[str], timeout_s: float = 600) -> list[str]:
    """Translate many texts with one Apertium process: one text a line, order kept."""
    if not texts:
        return []
    lines = [" ".join(t.split()) for t in texts]
    done = subprocess.run(["apertium", "-u", pair],  # nosec B603 B607 # no shell; pair is one plan() took from `apertium -l`
                          input="\n".join(lines) + "\n", capture_output=True, text=True,
                          timeout=timeout_s)
    if done.returncode != 0:
        raise RuntimeError(f"apertium {pair} failed: {done.stderr.strip()[-300:]}")
    out = done.stdout.rstrip("\n").split("\n")
    if len(out) != len(lines):
        raise RuntimeError(f"apertium {pair} returned {len(out)} lines for {len(lines)} texts")
    return [o.strip() for o in out]


def translate(texts: Sequence[str], route: Sequence[str]) -> list[str]:
    out = list(texts)
    for pair in route:
        out = run_pair(pair, out)
    return out
