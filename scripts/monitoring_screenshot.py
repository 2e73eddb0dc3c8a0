"""Draw docs/images/monitoring.png: the monitoring page of a canary endpoint in Chromium.

    python scripts/monitoring_screenshot.py

A champion (right 80% of the time) and a challenger (right 90%) share canary traffic; each
answer gets a label; the server samples its resources a few times. Nothing here is mocked: the
page reads the real routes of a real server.
"""

from __future__ import annotations

import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gazer.registry.memory import MemoryRegistry  # noqa: E402
from gazer.registry.promotion import promote  # noqa: E402
from gazer.serving.app import create_app  # noqa: E402
from gazer.settings import EndpointSettings  # noqa: E402
from tests.serving.factory import EXAMPLE, live_server, settings_for  # noqa: E402


class Classifier:
    """Says 'yes' with probability ``p`` (its confidence 0.85 either way)."""

    class_names = ("no", "yes")

    def __init__(self, p: float, delay_s: float) -> None:
        self.p, self.delay_s = p, delay_s

    def predict(self, x: np.ndarray) -> np.ndarray:
        time.sleep(self.delay_s)
        return np.array([int(random.random() < self.p) for _ in range(len(x))])

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return np.tile([0.15, 0.85], (len(x), 1))


def main() -> None:
    registry = MemoryRegistry()
    registry.register("m", Classifier(0.8, 0.002), input_example=EXAMPLE)
    registry.register("m", Classifier(0.9, 0.001), input_example=EXAMPLE)
    promote(registry, "m", 1)
    registry.set_alias("m", "challenger", 2)
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(settings_for(Path(tmp), resource_interval_s=1.0), registry=registry,
                         endpoints=[EndpointSettings(name="m", policy="canary",
                                                     canary_weight=0.5)])
        with live_server(app) as base, httpx.Client(base_url=base) as client:
            for i in range(1500):
                r = client.post("/v2/models/m/infer", headers={"X-Request-Key": f"u{i}"},
                                json={"inputs": [{"name": "x", "shape": [1, 3],
                                                  "datatype": "FP64", "data": [0.5] * 3}]})
                client.post("/v2/feedback", json={"request_id": r.json()["request_id"],
                                                  "label": "yes"})
            from playwright.sync_api import sync_playwright

            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=shutil.which("chromium"),
                                            args=["--headless", "--no-sandbox"])
                page = browser.new_page(viewport={"width": 1100, "height": 1400})
                page.goto(f"{base}/monitoring/m")
                page.wait_for_selector("#ab .verdict", timeout=30_000)
                page.screenshot(path=str(ROOT / "docs/images/monitoring.png"), full_page=True)
                browser.close()
    print("wrote docs/images/monitoring.png")


if __name__ == "__main__":
    main()
