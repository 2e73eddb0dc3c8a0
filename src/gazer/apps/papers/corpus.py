"""The evaluation papers: journal articles shipped as R package vignettes in Debian.

Each is the PDF of a paper published in (or submitted to) the Journal of Statistical
Software, with its LaTeX/Sweave source beside it (the ``.Rnw`` file), which
``benchmarks/papers.py`` uses as the text version extraction is measured against.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from gazer.data.debian import unpack_package

INSTALLED = Path("/usr/lib/R/site-library")


@dataclasses.dataclass(frozen=True)
class Source:
    name: str  # the evaluation set's ``paper``
    package: str
    path: str  # under the package's site-library folder

    def pdf(self, root: Path) -> Path:
        return root / self.path

    def rnw(self, root: Path) -> Path:
        return root / self.path.replace(".pdf", ".Rnw")


PAPERS = (
    Source("zoo", "r-cran-zoo", "zoo/doc/zoo.pdf"),
    Source("sandwich", "r-cran-sandwich", "sandwich/doc/sandwich.pdf"),
    Source("sandwich-OOP", "r-cran-sandwich", "sandwich/doc/sandwich-OOP.pdf"),
    Source("strucchange-intro", "r-cran-strucchange", "strucchange/doc/strucchange-intro.pdf"),
    Source("coin", "r-cran-coin", "coin/doc/coin.pdf"),
    Source("strucplot", "r-cran-vcd", "vcd/doc/strucplot.pdf"),
)


def paper_files(cache: Path) -> dict[str, tuple[Path, str]]:
    """Each evaluation paper's PDF and a label naming its package version: the installed
    package's file, else the package unpacked under ``cache``."""
    out = {}
    for source in PAPERS:
        if source.pdf(INSTALLED).is_file():
            out[source.name] = (source.pdf(INSTALLED), f"{source.package} (installed)")
            continue
        root, label = unpack_package(source.package, cache)
        out[source.name] = (source.pdf(root / "usr/lib/R/site-library"), label)
    return out
