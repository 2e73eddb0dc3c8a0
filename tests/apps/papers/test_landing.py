"""PDFs dropped under ``landing/papers/`` are indexed exactly once by ``gazer watch``."""

from __future__ import annotations

from pathlib import Path

from gazer.apps.papers.store import PaperStore
from gazer.ml.embeddings import encode
from gazer.registry.memory import MemoryRegistry
from gazer.services import Services
from gazer.settings import Settings
from gazer.triggers.actions import make_action
from gazer.triggers.ledger import WatchLedger
from gazer.triggers.watcher import StorageWatcher, load_bindings
from tests.apps.papers.factory import text_pdf


def test_a_landed_pdf_is_indexed_once_and_a_bad_one_is_set_aside(
        settings: Settings, tmp_path: Path) -> None:
    config = tmp_path / "watch.yaml"
    config.write_text("bindings:\n  - name: papers\n    prefix: landing/papers/\n"
                      "    app: papers\n    suffixes: [.pdf]\n")
    services = Services(settings, registry=MemoryRegistry())
    try:
        lines: list[str] = []
        watcher = StorageWatcher(services.storage, load_bindings(config),
                                 WatchLedger(services.db), make_action(services, lines.append),
                                 lines.append)
        services.storage.write_bytes("landing/papers/kernels.pdf", text_pdf())
        services.storage.write_bytes("landing/papers/notes.txt", b"not watched")
        assert watcher.scan_once() == [("landing/papers/kernels.pdf", "done")]
        assert watcher.scan_once() == []
        store = PaperStore(services.db, services.storage, settings.papers, encode)
        [paper] = store.papers()
        assert (paper.source, paper.source_ref) == ("landing", "landing/papers/kernels.pdf")
        assert services.storage.exists("processed/landing/papers/kernels.pdf")
        services.storage.write_bytes("landing/papers/copy.pdf", text_pdf())
        services.storage.write_bytes("landing/papers/broken.pdf", b"%PDF-1.4 broken")
        assert sorted(watcher.scan_once()) == [("landing/papers/broken.pdf", "failed"),
                                               ("landing/papers/copy.pdf", "done")]
        assert len(store.papers()) == 1  # the same PDF again is the same paper
        assert any("already indexed" in line for line in lines)
        assert b"could not be read" in services.storage.read_bytes(
            "failed/landing/papers/broken.pdf.error.json")
    finally:
        services.close()
