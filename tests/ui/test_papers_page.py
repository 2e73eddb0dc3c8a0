"""The papers page in a real Chromium: upload, summary, ask with highlights, context,
ratings, a chat with a follow-up, and an unanswerable question."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gazer.apps.papers.retrieval import FEATURES
from gazer.core.runner import Runner
from gazer.registry.memory import MemoryRegistry
from gazer.registry.promotion import promote
from gazer.serving.app import create_app
from gazer.settings import EndpointSettings
from gazer.tracking.memory import MemoryTracker
from tests.apps.papers.factory import text_pdf
from tests.apps.papers.test_app import _reranker
from tests.apps.summarizer.test_app import train_tiny_summarizer
from tests.serving.factory import live_server, settings_for
from tests.ui.test_pages import browser  # noqa: F401 - the fixture

SHOTS = os.environ.get("GAZER_SCREENSHOTS")  # a folder: save the page's pictures for docs


def _app(tmp_path: Path) -> Any:
    registry = MemoryRegistry()
    settings = settings_for(tmp_path)
    runner = Runner(settings, tracker=MemoryTracker(), registry=registry)
    train_tiny_summarizer(runner, tmp_path)
    runner.close()
    version = registry.register("papers-reranker", _reranker(),
                                input_example=np.zeros((2, len(FEATURES))))
    promote(registry, "papers-reranker", version.version)
    return create_app(settings, registry=registry, endpoints=[
        EndpointSettings(name="papers-reranker"), EndpointSettings(name="summarizer")])


@pytest.mark.integration
def test_papers_page_uploads_summarises_answers_with_highlights_and_chats(
        browser: Any, tmp_path: Path) -> None:  # noqa: F811
    pdf = tmp_path / "kernels.pdf"
    pdf.write_bytes(text_pdf())
    with live_server(_app(tmp_path)) as base:
        page = browser.new_page(viewport={"width": 1200, "height": 1400})
        page.goto(f"{base}/apps/papers")
        page.set_input_files("#file", str(pdf))
        page.click("#upload")
        page.wait_for_selector("#papers tbody tr", timeout=30_000)
        assert "Kernels and Bandwidths" in page.locator("#papers tbody").inner_text()
        page.wait_for_selector("#summary h4", timeout=30_000)
        headings = page.locator("#summary h4").all_inner_texts()
        assert headings[0] == "The paper" and any("2. Kernels" in h for h in headings)
        page.fill("#question", "Which kernel is the default of kernHAC?")
        page.click("#ask")
        page.wait_for_selector("#answers .answer", timeout=15_000)
        first = page.locator("#answers .answer").first
        assert "quadratic spectral kernel" in first.locator(".passage").inner_text()
        assert {"kernel", "default", "kernhac"} <= {
            m.lower() for m in first.locator("mark").all_inner_texts()}
        assert "page 2" in first.inner_text()
        first.locator(".in-context").click()
        page.wait_for_selector("#context mark.context")
        assert "Page 2" in page.locator("#context h3").inner_text()
        first.locator('[data-rating="5"]').click()
        page.wait_for_function("document.querySelector('#answers .rate-status')"
                               ".textContent.startsWith('thanks')", timeout=15_000)
        if SHOTS:
            page.screenshot(path=str(Path(SHOTS) / "papers-ask.png"), full_page=True)
        page.fill("#chat-input", "How is the bandwidth selected?")
        page.click("#say")
        page.wait_for_selector("#chat .turn[data-turn='1'] .answer", timeout=15_000)
        page.fill("#chat-input", "and what is done before it?")
        page.click("#say")
        page.wait_for_selector("#chat .turn[data-turn='2'] .answer", timeout=15_000)
        assert "Prewhitening" in page.locator("#chat .turn[data-turn='2']").inner_text()
        page.fill("#question", "How many GPUs did the image classification benchmark use?")
        page.click("#ask")
        page.wait_for_selector("#answers .unanswerable", timeout=15_000)
        if SHOTS:
            page.screenshot(path=str(Path(SHOTS) / "papers-chat.png"), full_page=True)
        page.close()
