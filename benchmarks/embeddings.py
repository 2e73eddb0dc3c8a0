"""The embedding service's backends side by side: torch (sentence-transformers), ONNX Runtime
and ONNX Runtime int8, on the three real workloads (enrichment messages, summarizer sentences,
paper passages): sentences/s, cosine to torch's vectors, and what each does downstream
(enrichment topic precision/recall on the fixture, summarizer coverage, papers recall@5).

    python benchmarks/embeddings.py [--texts 5000] [--docs 200] [--skip-downstream]

Throughput is the backend's own ``encode`` on distinct texts (no memo), after a warm-up, on
this machine's cores; the first run also pays the one-off ONNX export (timed separately).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from enrichment import messages  # noqa: E402

from gazer.apps.enrichment import steps  # noqa: E402
from gazer.apps.enrichment.fixture import load_fixture  # noqa: E402
from gazer.apps.enrichment.translate import plan  # noqa: E402
from gazer.apps.enrichment.translate import translate as apertium  # noqa: E402
from gazer.apps.papers.corpus import paper_files  # noqa: E402
from gazer.apps.papers.evaluation import evaluate, load_evalset  # noqa: E402
from gazer.apps.papers.library import Library  # noqa: E402
from gazer.apps.papers.store import PaperStore  # noqa: E402
from gazer.apps.summarizer.data import load_corpus  # noqa: E402
from gazer.apps.summarizer.model import ClusterSummarizer, SummarizerConfig, split_sentences  # noqa: E402
from gazer.db import Database  # noqa: E402
from gazer.ml import embeddings  # noqa: E402
from gazer.settings import PapersSettings  # noqa: E402
from gazer.storage.local import LocalStorage  # noqa: E402

BACKENDS = ("torch", "onnx", "onnx-int8")
CACHE = Path(os.environ.get("GAZER_BENCH_CACHE", Path.home() / ".cache" / "gazer-bench"))


def table(title: str, header: list[str], rows: list[list[object]]) -> None:
    print(f"\n## {title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v)
                                for v in row) + " |")


def workloads(n: int) -> dict[str, list[str]]:
    """Distinct texts of each real workload, at most ``n`` each."""
    enrichment = list(dict.fromkeys(messages(n, CACHE / "vader")["text"]))
    sentences: list[str] = []
    for text in load_corpus(CACHE / "vader")["text"]:
        sentences.extend(split_sentences(text))
        if len(sentences) >= 4 * n:
            break
    summarizer = list(dict.fromkeys(sentences))[:n]
    with tempfile.TemporaryDirectory() as tmp:
        store, ids = papers_store(Path(tmp), "torch")
        passages = [p.text for pid in ids.values() for p in store.passages(store.get(pid))]
    return {"enrichment messages": enrichment, "summarizer sentences": summarizer,
            "paper passages": list(dict.fromkeys(passages))[:n]}


def papers_store(folder: Path, backend: str) -> tuple[PaperStore, dict[str, str]]:
    db = Database(f"sqlite:///{folder / f'papers-{backend}.db'}")
    store = PaperStore(db, LocalStorage(folder / f"storage-{backend}"), PapersSettings(),
                       lambda texts: embeddings.encode(texts, backend))
    ids = {}
    for name, (path, _) in sorted(paper_files(CACHE / "papers").items()):
        paper, _ = store.add(path.read_bytes(), "url", name)
        ids[name] = paper.id
    return store, ids


def throughput(texts: dict[str, list[str]]) -> dict[tuple[str, str], np.ndarray]:
    rows, vectors, rates = [], {}, {}
    for backend in BACKENDS:
        started = time.perf_counter()
        model = embeddings.embedder(backend)
        start_s = time.perf_counter() - started
        model.encode(texts["enrichment messages"][:64])  # warm-up
        row: list[object] = [backend, f"{start_s:.1f}"]
        for name, batch in texts.items():
            started = time.perf_counter()
            vectors[(backend, name)] = model.encode(batch)
            rates[(backend, name)] = len(batch) / (time.perf_counter() - started)
            row.append(f"{rates[(backend, name)]:,.0f}")
        row += [f"{rates[(backend, name)] / rates[('torch', name)]:.2f}x" for name in texts]
        rows.append(row)
    header = ["backend", "start s", *[f"{k} /s ({len(v):,})" for k, v in texts.items()],
              *[f"{k.split()[0]} vs torch" for k in texts]]
    table(f"Sentences per second, {os.cpu_count()} cores (start: load; the first ONNX start "
          "also exports)", header, rows)
    quality = []
    for backend in BACKENDS[1:]:
        row = [backend]
        for name in texts:
            cos = (vectors[(backend, name)] * vectors[("torch", name)]).sum(1)
            row += [float(cos.mean()), float(cos.min())]
        quality.append(row)
    table("Cosine to torch's vectors (mean, worst)",
          ["backend", *[f"{k} {s}" for k in texts for s in ("mean", "min")]], quality)
    return vectors


def topics() -> dict[str, tuple[float, float]]:
    fixture = load_fixture()
    usable = fixture[fixture["label_lang"].isin(["en", "it"])].copy()
    italian = usable["label_lang"] == "it"
    usable["text_clean"] = usable["text"]
    usable.loc[italian, "text_clean"] = apertium(usable.loc[italian, "text"].tolist(),
                                                 plan("it")[0])
    gold = usable["label_topics"].tolist()
    out = {}
    for backend in BACKENDS:
        embeddings.configure(backend)
        picked = steps.classify_topics.fn(usable)["topics"].tolist()
        pairs = list(zip(picked, gold, strict=True))
        out[backend] = (float(np.mean([len(set(p) & set(g)) / len(p) for p, g in pairs if p])),
                        float(np.mean([len(set(p) & set(g)) / len(g) for p, g in pairs])))
    return out


def coverage(docs: int) -> dict[str, float]:
    """Mean coverage of each backend's summaries, all measured with torch's vectors."""
    texts = load_corpus(CACHE / "vader")["text"].tolist()
    rng = np.random.default_rng(0)
    sample = [texts[i] for i in rng.choice(len(texts), size=docs, replace=False)]
    sample = [t for t in sample if len(split_sentences(t)) > 2]
    model = ClusterSummarizer(SummarizerConfig(embedding="minilm"))
    out = {}
    for backend in BACKENDS:
        embeddings.configure(backend)
        scores = []
        for text in sample:
            chosen = model.summarize(text).indexes
            vectors = embeddings.encode(split_sentences(text), "torch")
            mean = vectors.mean(0)
            summary = vectors[chosen].mean(0)
            scores.append(float(mean @ summary / (np.linalg.norm(mean) * np.linalg.norm(summary))))
        out[backend] = float(np.mean(scores))
    return out


def recall() -> dict[str, dict[str, float]]:
    questions = load_evalset()
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend in BACKENDS:
            store, ids = papers_store(Path(tmp), backend)
            out[backend] = evaluate(Library(store), questions, ids, None)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=5000, help="texts per workload")
    parser.add_argument("--docs", type=int, default=200, help="summarizer documents")
    parser.add_argument("--skip-downstream", action="store_true")
    args = parser.parse_args()
    embeddings.configure(memo_size=0)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; ONNX export cache "
          f"{embeddings._cache_dir()}")
    throughput(workloads(args.texts))
    if args.skip_downstream:
        return
    embeddings.configure(memo_size=100_000)
    found_topics, found_coverage, found_recall = topics(), coverage(args.docs), recall()
    rows = []
    for backend in BACKENDS:
        p, r = found_topics[backend]
        rows.append([backend, p, r, found_coverage[backend],
                     found_recall[backend]["cosine.recall_at_5"],
                     found_recall[backend]["hybrid.recall_at_5"]])
    table("Downstream, per backend", ["backend", "topic precision (fixture)", "topic recall",
                                      f"summarizer coverage ({args.docs} docs, torch vectors)",
                                      "papers recall@5 (cosine)", "papers recall@5 (hybrid)"],
          rows)


if __name__ == "__main__":
    main()
