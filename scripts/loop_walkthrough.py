"""Draw docs/images/loop-policies.png and docs/images/loop-monitoring.png: the characters loop
of tests/integration/test_characters_loop.py on a live server, photographed in Chromium.

    python scripts/loop_walkthrough.py

A champion trained without the digit 3; 120 drawn 3s corrected through the API; the policy
retrains, the canary takes half the traffic, 240 more labelled drawings, the readout says
better, the canary is promoted. Nothing is mocked.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gazer.apps.characters.datasets import load_dataset  # noqa: E402
from gazer.registry.memory import MemoryRegistry  # noqa: E402
from gazer.services import Services  # noqa: E402
from gazer.serving.app import create_app  # noqa: E402
from gazer.settings import EndpointSettings  # noqa: E402
from gazer.triggers.policies import engine_for  # noqa: E402
from tests.integration.test_characters_loop import (  # noqa: E402
    MODEL,
    TINY,
    _draw,
    loop_policy,
)
from tests.serving.factory import live_server, settings_for  # noqa: E402


def main() -> None:
    import os

    with tempfile.TemporaryDirectory() as tmp:
        settings = settings_for(Path(tmp), drift_interval_s=0, resource_interval_s=1.0)
        os.environ["GAZER_HOME"] = str(settings.home)
        services = Services(settings, registry=MemoryRegistry())
        print("training the champion without a single 3", flush=True)
        services.run_pipeline("characters", TINY)
        digits = load_dataset("digits")  # nosec B615 # gazer's own dataset plug-ins
        threes = digits.images[digits.labels == 3]
        policy = loop_policy()
        engine = engine_for(services, {policy.name: policy})
        app = create_app(settings, registry=services.registry, services=services,
                         endpoints=[EndpointSettings(name="characters", model=MODEL)])
        with live_server(app) as base, httpx.Client(base_url=base, timeout=60) as client:
            for i, image in enumerate(threes[:120]):
                _draw(client, image, "3", f"u{i}")  # type: ignore[arg-type]
            print("users corrected 120 drawings; the policy ticks", flush=True)
            engine.tick()
            app.state.gazer.watcher.sync_once()
            rng = np.random.default_rng(0)
            others = np.flatnonzero(digits.labels != 3)
            for i in range(240):
                if i % 2:
                    image, truth = threes[120 + i % (len(threes) - 120)], "3"
                else:
                    j = int(rng.choice(others))
                    image, truth = digits.images[j], digits.class_names[digits.labels[j]]
                _draw(client, image, truth, f"canary-{i}")  # type: ignore[arg-type]
            from playwright.sync_api import sync_playwright

            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=shutil.which("chromium"),
                                            args=["--headless", "--no-sandbox"])
                page = browser.new_page(viewport={"width": 1100, "height": 1300})
                page.goto(f"{base}/monitoring/characters")
                page.wait_for_selector("#ab .verdict", timeout=30_000)
                page.screenshot(path=str(ROOT / "docs/images/loop-monitoring.png"),
                                full_page=True)
                print("the canary's readout photographed; the policy ticks again", flush=True)
                engine.tick()
                page.goto(f"{base}/policies")
                page.wait_for_selector("#decisions tbody tr:nth-child(2)", timeout=30_000)
                page.screenshot(path=str(ROOT / "docs/images/loop-policies.png"),
                                full_page=True)
                browser.close()
        services.close()
    print("wrote docs/images/loop-monitoring.png and docs/images/loop-policies.png")


if __name__ == "__main__":
    main()
