"""A pipeline as a whole process: a 20-step no-op chain run as ``python flow.py``, in gazer and
in Metaflow, plus gazer's read-only commands; wall seconds, median of ``--repeats``.

    python benchmarks/startup.py [--steps 20] [--repeats 3]

gazer runs as shipped (MLflow tracking on a fresh SQLite store under a fresh ``GAZER_HOME``,
CodeCarbon's CO2 estimate on); Metaflow 2.19 runs ``python flow.py run`` on its local
datastore, from the peers' virtualenv (``.venv-peers``, see ``benchmarks/peers``; installed
there on first use), so neither sees the other's packages. The steps do nothing: what is
measured is the platform around them. ``--profile`` prints the gazer run's top functions.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PEERS = ROOT / ".venv-peers"


def gazer_flow(steps: int) -> str:
    lines = ["from gazer import Pipeline, step", ""]
    for i in range(steps):
        arg = f"s{i - 1}: int" if i else "n: int = 0"
        value = f"s{i - 1} + 1" if i else "n"
        lines += [f"@step(outputs='s{i}')", f"def step{i}({arg}) -> int:",
                  f"    return {value}", ""]
    names = ", ".join(f"step{i}" for i in range(steps))
    lines += ["if __name__ == '__main__':",
              f"    run = Pipeline('noop-chain', [{names}]).run()",
              "    print(run.status, len(run.steps))"]
    return "\n".join(lines) + "\n"


def metaflow_flow(steps: int) -> str:
    lines = ["from metaflow import FlowSpec, step", "", "class NoopChain(FlowSpec):"]
    for i in range(steps):
        name = "start" if i == 0 else ("end" if i == steps - 1 else f"step{i}")
        after = "end" if i == steps - 2 else f"step{i + 1}"
        body = ["        self.s = 0"] if i == 0 else ["        self.s += 1"]
        lines += ["    @step", f"    def {name}(self):", *body]
        if i < steps - 1:
            lines.append(f"        self.next(self.{after})")
        lines.append("")
    lines += ["if __name__ == '__main__':", "    NoopChain()"]
    return "\n".join(lines) + "\n"


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)  # noqa: S603
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout[-2000:]}{done.stderr[-3000:]}")
    return seconds


def metaflow_python() -> Path | None:
    python = PEERS / "bin" / "python"
    if not python.exists():
        print(f"(no {PEERS}: Metaflow skipped; python -m venv .venv-peers first)")
        return None
    try:
        probe = subprocess.run([str(python), "-c", "import metaflow"], capture_output=True)
    except OSError as exc:  # a venv copied without its permissions or links
        print(f"({PEERS} is not usable ({exc}): Metaflow skipped; recreate it)")
        return None
    if probe.returncode != 0:
        print("installing metaflow==2.19.39 into .venv-peers ...", flush=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "metaflow==2.19.39"],
                       check=True)
    return python


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gazer-startup-"))
    (work / "flow.py").write_text(gazer_flow(args.steps))
    (work / "mf_flow.py").write_text(metaflow_flow(args.steps))
    env = {k: v for k, v in os.environ.items() if not k.startswith("GAZER_")}
    python, gazer = sys.executable, str(Path(sys.executable).with_name("gazer"))
    rows: list[tuple[str, list[float]]] = []

    def measure(label: str, cmd: list[str], fresh_home: bool, repeats: int) -> None:
        times = []
        for i in range(repeats):
            home = work / (f"home-{label[:5]}-{i}" if fresh_home else "home-shared")
            times.append(timed(cmd, work, {**env, "GAZER_HOME": str(home),
                                           "USERNAME": "bench"}))
        rows.append((label, times))
        print(f"  {label}: {' '.join(f'{t:.2f}' for t in times)} s", flush=True)

    measure(f"gazer: python flow.py ({args.steps} steps, fresh home)", [python, "flow.py"],
            True, args.repeats)
    measure("gazer: python flow.py (same home again)", [python, "flow.py"], False,
            args.repeats + 1)
    measure("gazer runs list", [gazer, "runs", "list"], False, args.repeats)
    measure("gazer runs list --help", [gazer, "runs", "list", "--help"], False, args.repeats)
    measure("python -c 'import gazer'", [python, "-c", "import gazer"], False, args.repeats)
    peer = metaflow_python()
    if peer is not None:
        measure(f"Metaflow 2.19: python flow.py run ({args.steps} steps)",
                [str(peer), "mf_flow.py", "run"], False, args.repeats)
    print(f"\n## A {args.steps}-step no-op chain as a whole process, {os.cpu_count()} cores "
          f"(median of {args.repeats})\n")
    print("| what | median s | runs |\n|---|---|---|")
    for label, times in rows:
        print(f"| {label} | {statistics.median(times):.2f} | "
              f"{', '.join(f'{t:.2f}' for t in times)} |")
    gazer_s = statistics.median(rows[0][1])
    if peer is not None:
        print(f"\nMetaflow / gazer: {statistics.median(rows[-1][1]) / gazer_s:.1f}x")
    if args.profile:
        done = subprocess.run([python, "-m", "cProfile", "-s", "cumtime", "flow.py"], cwd=work,
                              env={**env, "GAZER_HOME": str(work / "home-profile")},
                              capture_output=True, text=True)
        print("\n".join(done.stdout.splitlines()[:70]))


if __name__ == "__main__":
    main()
