"""``gazer run papers`` on the real evaluation papers, and ``gazer papers`` from the shell."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from gazer.apps.papers.reranker import PassageReranker
from gazer.catalog import get_pipeline
from gazer.core.runner import Runner
from gazer.registry.memory import MemoryRegistry
from gazer.registry.protocol import CHAMPION
from tests.apps.papers.factory import text_pdf
from tests.test_cli import _gazer


@pytest.mark.integration
def test_the_pipeline_indexes_the_papers_and_registers_a_gated_reranker(
        make_runner: Callable[..., Runner], registry: MemoryRegistry) -> None:
    record = make_runner().run(get_pipeline("papers"), {})
    assert record.status == "succeeded", record.error
    champion = registry.get_version("papers-reranker", CHAMPION)
    m = champion.metrics
    assert m["questions"] >= 40 and m["unanswerable_questions"] >= 5
    assert m["reranked.mrr"] >= m["hybrid.mrr"] - 0.02  # the gate's check
    assert m["reranked.recall_at_5"] >= 0.7 and m["bm25.recall_at_5"] >= 0.6
    model = registry.load_model("papers-reranker")
    assert isinstance(model, PassageReranker) and 0 < model.threshold < 1
    again = make_runner().run(get_pipeline("papers"), {})
    assert again.status == "succeeded", again.error
    # the second run re-scores the champion on the same questions: no better, no promotion
    assert registry.get_version("papers-reranker", CHAMPION).version == champion.version


def test_the_papers_commands_add_list_show_ask_and_delete(tmp_path: Path) -> None:
    home = tmp_path / "home"
    pdf = tmp_path / "kernels.pdf"
    pdf.write_bytes(text_pdf())
    added = _gazer(home, "papers", "add", str(pdf))
    assert added.returncode == 0, added.stderr
    assert "indexed: p" in added.stdout and "3 pages" in added.stdout
    pid = added.stdout.split("indexed: ")[1].split()[0]
    again = _gazer(home, "papers", "add", str(pdf))
    assert f"already indexed: {pid}" in again.stdout
    listed = _gazer(home, "papers", "list")
    assert pid in listed.stdout and "Kernels and Bandwidths" in listed.stdout
    asked = _gazer(home, "papers", "ask", "Which kernel is the default?", "--paper", pid)
    assert asked.returncode == 0, asked.stderr
    assert "quadratic spectral kernel" in asked.stdout and "p.2" in asked.stdout
    shown = json.loads(_gazer(home, "papers", "show", pid, "--json").stdout)
    assert shown["title"] == "Kernels and Bandwidths for Covariance Estimation"
    assert "2. Kernels" in shown["sections"] and set(shown["objects"]) >= {
        "original", "extracted", "cleaned", "passages", "vectors"}
    bad = _gazer(home, "papers", "add", str(tmp_path / "missing.pdf"))
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    deleted = _gazer(home, "papers", "delete", pid)
    assert deleted.returncode == 0 and "deleted" in deleted.stdout
    assert "no papers yet" in _gazer(home, "papers", "list").stdout
    assert not list((home / "storage" / "papers").rglob("*.*"))
