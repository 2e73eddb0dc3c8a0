"""Per-step log files: a step's prints and ``gazer.step`` log lines go to its own file.

Steps run in parallel threads, so ``sys.stdout`` is replaced once by a router that writes
to the file of the step running on the current thread (a ``ContextVar``), and to the real
stream otherwise. Files are appended with no line limit.

Why a process-wide replacement: ``print`` in a step's code (and in the libraries it calls)
writes to the one ``sys.stdout`` every thread shares; ``contextlib.redirect_stdout`` swaps
that same global for every thread at once, so two parallel steps would write into each
other's files. The router is the narrowest thing that works: it changes nothing for code
outside a step (it forwards to the real stream, ``fileno`` and ``isatty`` included), and is
installed only when the first step runs.
"""

from __future__ import annotations

import contextlib
import io
import logging
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import TextIO

_target: ContextVar[TextIO | None] = ContextVar("gazer_step_log", default=None)
step_logger = logging.getLogger("gazer.step")


class _Router(io.TextIOBase):
    def __init__(self, fallback: TextIO) -> None:
        self.fallback = fallback

    def write(self, text: str) -> int:
        target = _target.get()
        return (target or self.fallback).write(text)

    def flush(self) -> None:
        target = _target.get()
        (target or self.fallback).flush()

    def isatty(self) -> bool:
        try:
            return _target.get() is None and self.fallback.isatty()
        except ValueError:  # the real stream was closed at interpreter exit
            return False

    def fileno(self) -> int:
        return self.fallback.fileno()


class _StepHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        target = _target.get()
        if target is not None:
            target.write(self.format(record) + "\n")


_handler = _StepHandler()
_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))


def _install() -> None:
    if not isinstance(sys.stdout, _Router):
        sys.stdout = _Router(sys.stdout)
    if not isinstance(sys.stderr, _Router):
        sys.stderr = _Router(sys.stderr)
    root = logging.getLogger()
    if _handler not in root.handlers:
        root.addHandler(_handler)
    if step_logger.level == logging.NOTSET:
        step_logger.setLevel(logging.INFO)


def console() -> TextIO:
    """The terminal stream, even from inside a step (for progress lines)."""
    err = sys.stderr
    return err.fallback if isinstance(err, _Router) else err


@contextlib.contextmanager
def capture_output(path: str | Path) -> Iterator[TextIO]:
    """Send this thread's prints and step log lines to ``path`` for the block."""
    _install()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", buffering=1, encoding="utf-8") as fh:
        token = _target.set(fh)
        try:
            yield fh
        finally:
            _target.reset(token)
