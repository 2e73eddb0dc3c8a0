"""Summarizer benchmark: batch throughput, scaling, resume cost, real-time latency, quality.

Prints markdown tables. The corpus is vaderSentiment's 300 reviews and 498 articles,
replicated to ``--docs`` documents (default 50,000). Throughput runs use the TF-IDF embedding
(the MiniLM embedding costs about 40 ms per document on this 2-core CPU, which would make a
50k-document run take over half an hour); latency and quality use MiniLM.

    python benchmarks/summarizer.py [--docs 50000] [--scaling-docs 10000]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from gazer.apps.summarizer.data import load_corpus
from gazer.apps.summarizer.model import ClusterSummarizer, SummarizerConfig, split_sentences
from gazer.apps.summarizer.quality import compare
from gazer.batch.job import BatchRunner, BatchSpec
from gazer.batch.locate import model_loader
from gazer.batch.progress_store import ChunkLedger
from gazer.registry.promotion import promote
from gazer.registry.resolve import registry_from_settings
from gazer.settings import Settings
from gazer.storage.local import LocalStorage

ROOT = Path(__file__).resolve().parents[1]


def batch(settings: Settings, store: LocalStorage, key: str, out: str, workers: int,
          name: str) -> tuple[float, int]:
    loader = model_loader(registry_from_settings(settings), name, 1)
    runner = BatchRunner(store, store, ChunkLedger(settings.runs_url), workers)
    result = runner.run(BatchSpec(f"{name}@1", key, out, chunk_rows=500), loader, 1)
    return result.seconds, result.rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=50_000)
    parser.add_argument("--scaling-docs", type=int, default=10_000)
    parser.add_argument("--minilm-docs", type=int, default=2_000)
    parser.add_argument("--only-minilm", action="store_true",
                        help="only the MiniLM throughput table")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gazer-sum-bench-"))
    settings = Settings(home=work / "home", tracking={"co2": False})  # type: ignore[arg-type]
    corpus = load_corpus(Path(os.environ.get("GAZER_VADER_CACHE", work / "cache")))
    registry = registry_from_settings(settings)
    for name, emb in (("sum-tfidf", "tfidf"), ("sum-minilm", "minilm")):
        registry.register(name, ClusterSummarizer(SummarizerConfig(embedding=emb)))
        promote(registry, name, 1)
    store = LocalStorage(work / "store")
    texts = corpus["text"].tolist()
    if args.only_minilm:
        minilm_throughput(settings, registry, store, texts, args.minilm_docs)
        return
    for n, key in ((args.docs, "landing/big.csv"), (args.scaling_docs, "landing/small.csv")):
        frame = pd.DataFrame({"text": [texts[i % len(texts)] for i in range(n)]})
        store.write_bytes(key, frame.to_csv(index=False).encode())

    print(f"## Batch throughput ({len(corpus)} documents replicated; TF-IDF embedding)\n")
    print("| method | documents | seconds | documents/s |")
    print("|---|---|---|---|")
    reload_rate, _ = loop_rates(registry, "sum-tfidf", texts, n_reload=100, n_loop=2000)
    rates = {}
    for workers, key, n in ((1, "landing/small.csv", args.scaling_docs),
                            (2, "landing/small.csv", args.scaling_docs),
                            (2, "landing/big.csv", args.docs)):
        seconds, rows = batch(settings, store, key, f"output/w{workers}-{n}", workers, "sum-tfidf")
        rates[(workers, n)] = rows / seconds
        print(f"| gazer batch, {workers} worker(s) | {rows} | {seconds:.1f} | "
              f"{rows / seconds:.1f} |", flush=True)
    big = rates[(2, args.docs)]
    print(f"\ngazer batch (2 workers, {args.docs} docs) vs the reference style: "
          f"{big / reload_rate:.0f}x (target >= 20x); scaling 1 → 2 workers: "
          f"{rates[(2, args.scaling_docs)] / rates[(1, args.scaling_docs)]:.2f}x")

    minilm_throughput(settings, registry, store, texts, args.minilm_docs)
    resume(settings, store, args.scaling_docs, args.scaling_docs / rates[(2, args.scaling_docs)])
    latency(registry)
    quality(registry, texts)


def loop_rates(registry: object, name: str, texts: list[str], n_reload: int, n_loop: int
               ) -> tuple[float, float]:
    """Documents/s of a per-document loop reloading the model each call (the reference
    style) and of the same loop with the model kept loaded; prints both table rows."""
    load = registry.load_model  # type: ignore[attr-defined]
    started = time.perf_counter()
    for text in texts[:n_reload]:
        load(name, 1).summarize(text)  # loads the embedding model inside, as the reference did
    reload_rate = n_reload / (time.perf_counter() - started)
    print(f"| per-document loop, model reloaded each call (reference style) | {n_reload} | "
          f"{n_reload / reload_rate:.1f} | {reload_rate:.2f} |", flush=True)
    model = load(name, 1)
    model.summarize(texts[0])
    started = time.perf_counter()
    for i in range(n_loop):
        model.summarize(texts[i % len(texts)])
    loop_rate = n_loop / (time.perf_counter() - started)
    print(f"| per-document loop, model kept loaded | {n_loop} | {n_loop / loop_rate:.1f} | "
          f"{loop_rate:.1f} |", flush=True)
    return reload_rate, loop_rate


def minilm_throughput(settings: Settings, registry: object, store: LocalStorage,
                      texts: list[str], n: int) -> None:
    """The same comparison with the MiniLM model, where loading the model is the real cost."""
    print(f"\n## Batch throughput with the MiniLM embedding ({n} documents for gazer)\n")
    print("| method | documents | seconds | documents/s |")
    print("|---|---|---|---|")
    reload_rate, _ = loop_rates(registry, "sum-minilm", texts, n_reload=20, n_loop=200)
    frame = pd.DataFrame({"text": [texts[i % len(texts)] for i in range(n)]})
    store.write_bytes("landing/minilm.csv", frame.to_csv(index=False).encode())
    seconds, rows = batch(settings, store, "landing/minilm.csv", "output/minilm", 2, "sum-minilm")
    print(f"| gazer batch, 2 workers | {rows} | {seconds:.1f} | {rows / seconds:.1f} |")
    print(f"\ngazer batch vs the reference style with MiniLM: {rows / seconds / reload_rate:.0f}x")


def resume(settings: Settings, store: LocalStorage, n: int, full_s: float) -> None:
    script = f"""
import functools, sys
sys.path.insert(0, {str(ROOT)!r})
from gazer.batch.job import BatchRunner, BatchSpec
from gazer.batch.locate import model_loader
from gazer.batch.progress_store import ChunkLedger
from gazer.settings import Settings
from gazer.storage.local import LocalStorage
settings = Settings(home={str(settings.home)!r}, tracking={{"co2": False}})
store = LocalStorage({str(store.root)!r})
from gazer.registry.resolve import registry_from_settings
loader = model_loader(registry_from_settings(settings), "sum-tfidf", 1)
r = BatchRunner(store, store, ChunkLedger(settings.runs_url), 2).run(
    BatchSpec("sum-tfidf@1", "landing/small.csv", "output/resume", chunk_rows=500), loader, 1)
print("RESULT", r.rows, r.skipped_chunks)
"""
    parts = store.root / "output" / "resume" / "_parts"
    chunks = -(-n // 500)
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    while len(list(parts.glob("part-*.parquet"))) < chunks // 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before_kill = time.perf_counter() - started
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout
    rerun = time.perf_counter() - started
    rows, skipped = map(int, out.split("RESULT")[1].split())
    result = pd.read_parquet(store.root / "output" / "resume" / "predictions.parquet")
    assert list(result["row_id"]) == list(range(n)) and rows == n
    print(f"\n## Resume after kill -9 at 50% ({n} documents, 2 workers)\n")
    print("| uninterrupted | until the kill | re-run (skipped chunks) | time lost |")
    print("|---|---|---|---|")
    print(f"| {full_s:.1f} s | {before_kill:.1f} s | {rerun:.1f} s ({skipped} of {chunks}) | "
          f"{before_kill + rerun - full_s:.1f} s |")


def latency(registry: object) -> None:
    from fastapi.testclient import TestClient

    from gazer.serving.app import create_app
    from gazer.settings import EndpointSettings

    sentences = [f"Sentence {i} talks about {topic} in some detail." for i, topic in
                 enumerate(["battery", "screen", "camera", "price", "support"] * 4)]
    doc = " ".join(sentences)
    assert len(split_sentences(doc)) == 20
    settings = Settings(home=Path(tempfile.mkdtemp()), tracking={"co2": False})  # type: ignore[arg-type]
    app = create_app(settings, registry=registry,  # type: ignore[arg-type]
                     endpoints=[EndpointSettings(name="summarizer", model="sum-minilm")])
    times = []
    with TestClient(app) as client:
        client.post("/summarize", json={"Text": doc})
        for _ in range(200):
            started = time.perf_counter()
            assert client.post("/summarize", json={"Text": doc}).status_code == 200
            times.append((time.perf_counter() - started) * 1000)
    print("\n## Real-time `POST /summarize`, 20-sentence document, MiniLM (in-process client)\n")
    print("| requests | p50 ms | p99 ms | the reference |")
    print("|---|---|---|---|")
    print(f"| 200 | {np.percentile(times, 50):.1f} | {np.percentile(times, 99):.1f} | ~30,000 |")


def quality(registry: object, texts: list[str]) -> None:
    model = registry.load_model("sum-minilm", 1)  # type: ignore[attr-defined]
    rng = np.random.default_rng(0)
    sample = [texts[i] for i in rng.choice(len(texts), size=200, replace=False)]
    scores = compare(model, sample)
    print("\n## Summary quality, MiniLM, 200 documents (no reference summaries exist)\n")
    print("| method | coverage (higher is better) | redundancy (lower is better) |")
    print("|---|---|---|")
    for name in ("cluster", "lead", "random"):
        label = {"cluster": "K-means (gazer)", "lead": "lead-k", "random": "random-k"}[name]
        coverage, redundancy = scores[f"{name}.coverage"], scores[f"{name}.redundancy"]
        print(f"| {label} | {coverage:.3f} | {redundancy:.3f} |")


if __name__ == "__main__":
    main()
