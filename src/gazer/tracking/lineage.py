"""Lineage facts recorded with runs and model versions."""

from __future__ import annotations

import functools
import subprocess


@functools.cache
def git_commit() -> str:
    """The current git commit (with ``-dirty`` when the tree has changes), or ``unknown``."""
    try:
        head = subprocess.run(  # nosec B603 B607 # fixed argv, no shell; git on PATH
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        )
        status = subprocess.run(  # nosec B603 B607 # fixed argv, no shell; git on PATH
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=5, check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    sha = head.stdout.strip()
    return f"{sha}-dirty" if status.stdout.strip() else sha
