"""Data that comes in Debian packages: ``apt-get download`` and ``dpkg -x`` into a cache.

No root is needed and nothing is installed: the package's files are unpacked under the
cache folder, once, and found there afterwards.
"""

from __future__ import annotations

import shutil
import subprocess  # nosec B404 # apt-get and dpkg with fixed argv, no shell
import tempfile
from pathlib import Path

from gazer.errors import NotFound


def unpack_package(package: str, cache: Path) -> tuple[Path, str]:
    """The root of ``package``'s unpacked files under ``cache``, and a label naming the
    package's version; downloads and unpacks it the first time."""
    target = cache / package
    marker = target / "source.txt"
    if marker.exists():
        return target, marker.read_text().strip()
    if shutil.which("apt-get") is None or shutil.which("dpkg") is None:
        raise NotFound(f"the Debian package {package} is needed: install it, or run on a "
                       f"Debian machine (apt-get download)")
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        done = subprocess.run(["apt-get", "download", package], cwd=tmp, capture_output=True,  # nosec B603 B607 # fixed argv, no shell; Debian's apt-get
                              text=True, timeout=600)
        debs = list(Path(tmp).glob("*.deb"))
        if done.returncode != 0 or not debs:
            raise NotFound(f"apt-get download {package} failed: {done.stderr.strip()[-300:]}")
        staging = Path(tmp) / "x"
        subprocess.run(  # nosec B603 B607 # no shell; dpkg unpacks the .deb apt-get just wrote
            ["dpkg", "-x", str(debs[0]), str(staging)], check=True, timeout=600)
        (staging / "source.txt").write_text(f"{package} ({debs[0].name})\n")
        if target.exists():
            shutil.rmtree(target)
        shutil.move(str(staging), target)
    return target, marker.read_text().strip()
