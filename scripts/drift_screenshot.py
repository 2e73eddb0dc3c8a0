"""Draw docs/images/drift.png: the drift page of the characters endpoint in Chromium.

    python scripts/drift_screenshot.py

The digits model's profile is made from held-out digits framed as uploads, as registration
does; then 300 Fashion-MNIST images are uploaded through ``/guessjapanesecharacter``. Nothing
is mocked: the page reads the real drift route of a real server.
"""

from __future__ import annotations

import io
import shutil
import sys
import tempfile
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gazer.apps.characters.datasets import load_dataset  # noqa: E402
from gazer.apps.characters.model import SklearnImageClassifier  # noqa: E402
from gazer.apps.characters.preprocess import ImageTransform, as_served  # noqa: E402
from gazer.core.context import store_profile  # noqa: E402
from gazer.registry.memory import MemoryRegistry  # noqa: E402
from gazer.registry.promotion import promote  # noqa: E402
from gazer.serving.app import create_app  # noqa: E402
from gazer.settings import EndpointSettings  # noqa: E402
from gazer.storage.resolve import storage_from_settings  # noqa: E402
from tests.serving.factory import live_server, settings_for  # noqa: E402


def _png(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def main() -> None:
    from sklearn.linear_model import LogisticRegression

    digits = load_dataset("digits")  # nosec B615 # gazer's own dataset plug-ins
    fashion = load_dataset("fashion-mnist")  # nosec B615
    assert fashion.test_images is not None
    est = LogisticRegression(C=0.1, max_iter=300).fit(
        digits.images[:1200].reshape(1200, -1) / 255.0, digits.labels[:1200])
    model = SklearnImageClassifier(est, "logreg", digits.class_names, ImageTransform(8, 8, 8))
    registry = MemoryRegistry()
    registry.register("characters-digits", model)
    promote(registry, "characters-digits", 1)
    with tempfile.TemporaryDirectory() as tmp:
        settings = settings_for(Path(tmp), drift_interval_s=0)
        key = store_profile(storage_from_settings(settings), "characters-digits", 1, model,
                            as_served(digits.images[1200:], model.transform))
        registry.set_version_tags("characters-digits", 1, {"gazer.profile": key or ""})
        app = create_app(settings, registry=registry, endpoints=[
            EndpointSettings(name="characters", model="characters-digits")])
        with live_server(app) as base, httpx.Client(base_url=base) as client:
            for image in fashion.test_images[:300]:
                r = client.post("/guessjapanesecharacter",
                                files={"pfile": ("x.png", _png(image), "image/png")})
                r.raise_for_status()
            from playwright.sync_api import sync_playwright

            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=shutil.which("chromium"),
                                            args=["--headless", "--no-sandbox"])
                page = browser.new_page(viewport={"width": 1100, "height": 1400})
                page.goto(f"{base}/monitoring/characters/drift")
                page.select_option("#window", "500")
                page.wait_for_selector("#verdict[data-drifted='true']", timeout=30_000)
                page.screenshot(path=str(ROOT / "docs/images/drift.png"), full_page=True)
                browser.close()
    print("wrote docs/images/drift.png")


if __name__ == "__main__":
    main()
