"""A pipeline whose middle step waits for a go-file, so a test can kill -9 the run."""

from __future__ import annotations

import time
from pathlib import Path

from gazer import Pipeline, step


@step(outputs="numbers")
def produce(marker_dir: str = "") -> list[int]:
    with open(Path(marker_dir) / "calls.txt", "a") as fh:
        fh.write("produce\n")
    return list(range(10))


@step(outputs="doubled")
def wait_then_double(numbers: list[int], marker_dir: str = "") -> list[int]:
    with open(Path(marker_dir) / "calls.txt", "a") as fh:
        fh.write("wait_then_double\n")
    (Path(marker_dir) / "started").touch()
    while not (Path(marker_dir) / "go").exists():
        time.sleep(0.1)
    return [n * 2 for n in numbers]


@step(outputs="total")
def total(doubled: list[int], marker_dir: str = "") -> int:
    with open(Path(marker_dir) / "calls.txt", "a") as fh:
        fh.write("total\n")
    return sum(doubled)


pipeline = Pipeline("crashable", [produce, wait_then_double, total])
