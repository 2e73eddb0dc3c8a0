"""How soon a newcomer's ``make demo`` shows something: ``gazer demo`` on an empty home.

    python benchmarks/demo_startup.py          # first page, first progress; then stop
    python benchmarks/demo_startup.py --full   # also wait until every app is live

Starts ``gazer demo`` as a newcomer would (a fresh ``GAZER_HOME``, no champion anywhere, on a
free loopback port) and times, from the process start: the first ``GET /`` answered 200, the
first ``/api/training`` progress line, and with ``--full`` the moment each app went live.
The peer is gazer's previous demo, which trained every app first and served only then: its
first page came when the last app was live, which ``--full`` measures on the same machine.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--full", action="store_true", help="wait until every app is live")
    parser.add_argument("--timeout", type=float, default=3600)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="gazer-demo-bench-"))
    port = _free_port()
    env = {**os.environ, "GAZER_HOME": str(home), "GAZER_SERVING__PORT": str(port),
           "GAZER_TRACKING__CO2": "false"}
    gazer = Path(sys.executable).parent / "gazer"
    log = (home / "demo.log").open("w")
    start = time.monotonic()
    proc = subprocess.Popen([str(gazer), "demo"], env=env, stdout=log,  # noqa: S603
                            stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    first_page = first_progress = None
    live: dict[str, float] = {}
    apps: list[str] = []
    try:
        with httpx.Client(base_url=base, timeout=5) as http:
            while time.monotonic() - start < args.timeout and proc.poll() is None:
                now = time.monotonic() - start
                try:
                    if first_page is None and http.get("/").status_code == 200:
                        first_page = now
                        print(f"  first page after {now:.1f} s", flush=True)
                    if first_page is not None:
                        status = http.get("/api/training").json()
                        apps = [a["app"] for a in status["apps"]]
                        if first_progress is None and status["progress"]:
                            first_progress = now
                            p = status["progress"][0]
                            print(f"  first progress after {now:.1f} s: {status['current']} "
                                  f"{p['desc']} {p['done']}/{p['total']}", flush=True)
                        for a in status["apps"]:
                            if a["status"] in ("live", "refused", "failed") and \
                                    a["app"] not in live:
                                live[a["app"]] = now
                                print(f"  {a['app']}: {a['status']} after {now:.0f} s",
                                      flush=True)
                        if not args.full and first_progress is not None:
                            break
                        if args.full and not status["active"]:
                            break
                except httpx.HTTPError:
                    pass
                time.sleep(0.25)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    print(f"\ngazer demo on an empty home ({os.cpu_count()} cores); log: {home / 'demo.log'}")
    print(f"{'':<44} {'seconds':>9}")
    print(f"{'first page (GET / = 200)':<44} {first_page or float('nan'):9.1f}")
    print(f"{'first training progress on /api/training':<44} "
          f"{first_progress or float('nan'):9.1f}")
    if args.full:
        for app in apps:
            print(f"{app + ' live':<44} {live.get(app, float('nan')):9.0f}")
        last = max(live.values()) if live else float("nan")
        print(f"{'peer: train-then-serve first page (last live)':<44} {last:9.0f}")
    return 0 if first_page is not None and first_page < 60 else 1


if __name__ == "__main__":
    sys.exit(main())
