"""The ``summarizer`` pipeline: corpus → build → evaluate → register behind a gate.

``gazer run summarizer`` builds the corpus from the vaderSentiment sdist (reviews and
articles), configures a ``ClusterSummarizer``, measures coverage and redundancy against lead-k
and random-k on a sample, checks that summaries are exact input sentences in order, and
registers it as ``summarizer`` (it has parameters and an embedding model, so it is versioned
and served like any other model).
"""

from __future__ import annotations

import io
import time
from typing import Any

import pandas as pd

from gazer.apps.summarizer.data import load_corpus
from gazer.apps.summarizer.model import ClusterSummarizer, SummarizerConfig, split_sentences
from gazer.apps.summarizer.quality import compare
from gazer.apps.summarizer.serving import mount
from gazer.catalog import register_app
from gazer.core.artifacts import Metrics
from gazer.core.context import current, current_settings
from gazer.core.pipeline import Pipeline
from gazer.core.step import step
from gazer.errors import InvalidInput
from gazer.registry.gate import Check, Gate
from gazer.storage.resolve import storage_from_settings

MODEL_NAME = "summarizer"


def read_documents(path: str, text_column: str) -> pd.DataFrame:
    """A CSV, JSONL or Parquet file with a text column, as ``text`` plus the other columns."""
    if path.endswith(".parquet"):
        frame = pd.read_parquet(path)
    elif path.endswith((".jsonl", ".ndjson")):
        frame = pd.read_json(path, lines=True)
    else:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    if text_column not in frame.columns:
        raise InvalidInput(f"{path} has no column {text_column!r}; columns: "
                           f"{', '.join(map(str, frame.columns))}")
    return frame.rename(columns={text_column: "text"})


@step(outputs="documents")
def corpus(path: str = "", text_column: str = "text") -> pd.DataFrame:
    """Reviews and articles from the vaderSentiment 3.3.2 sdist, or a CSV/JSONL/Parquet file.

    The vaderSentiment documents are also written to the ``raw/`` zone as CSV and Parquet
    (``raw/summarizer/{reviews,articles}.{csv,parquet}``) to feed batch jobs.
    """
    settings = current_settings()
    if path:
        frame = read_documents(path, text_column)
    else:
        frame = load_corpus(settings.home.resolve() / "cache" / "vader")
        storage = storage_from_settings(settings)
        for source, name in (("amazon", "reviews"), ("nyt", "articles")):
            part = frame[frame["source"] == source]
            storage.write_bytes(f"raw/summarizer/{name}.csv", part.to_csv(index=False).encode())
            buf = io.BytesIO()
            part.to_parquet(buf, index=False)
            storage.write_bytes(f"raw/summarizer/{name}.parquet", buf.getvalue())
    current().log_dataset(frame, "summarizer-corpus", source=path or "vaderSentiment==3.3.2")
    print(f"{len(frame)} documents, {int(frame.get('sentences', pd.Series([0])).sum())} sentences")
    return frame


@step(outputs="model")
def build(embedding: str = "minilm", ratio: float = 0.0, seed: int = 0) -> ClusterSummarizer:
    """The summariser's configuration (k = ceil(sqrt(n)) unless ``ratio`` > 0)."""
    model = ClusterSummarizer(SummarizerConfig(embedding=embedding, ratio=ratio or None,
                                               seed=seed))
    current().log_params({"embedding_in_use": model.embedding})
    return model


@step(outputs="metrics")
def evaluate(model: ClusterSummarizer, documents: pd.DataFrame, sample: int = 100,
             seed: int = 0) -> Metrics:
    """Coverage and redundancy vs lead-k and random-k, latency per document."""
    texts = documents.sample(min(sample, len(documents)), random_state=seed)["text"].tolist()
    started = time.perf_counter()
    scores = compare(model, texts, seed)
    per_doc = (time.perf_counter() - started) / max(len(texts), 1) * 1000
    exact = all(all(s in split_sentences(t) for s in model.summarize(t).sentences)
                for t in texts[:20])
    metrics = Metrics({**scores, "ms_per_document": per_doc, "exact_sentences": float(exact)})
    current().log_metrics(metrics)
    return metrics


@step(outputs="decision")
def register(model: ClusterSummarizer, metrics: Metrics, documents: pd.DataFrame,
             margin: float = 0.0) -> dict[str, Any]:
    """Champion if coverage beats the champion's and summaries are exact input sentences."""
    gate = Gate("cluster.coverage", "max", margin, checks=[
        Check("exact_sentences", lambda _m: (metrics["exact_sentences"] == 1.0,
                                             "summaries are sentences of their input")),
        Check("beats_random", lambda _m: (
            metrics["cluster.coverage"] >= metrics["random.coverage"],
            f"coverage {metrics['cluster.coverage']:.3f} vs random-k "
            f"{metrics['random.coverage']:.3f}")),
    ])
    example = documents["text"].iloc[:1].to_numpy(dtype=object)
    texts = documents["text"].sample(min(1000, len(documents)), random_state=0)
    version, decision = current().publish(MODEL_NAME, model, metrics, gate,
                                          input_example=example,
                                          profile_inputs=texts.to_numpy(dtype=object))
    return {"version": version.version, "aliases": list(version.aliases),
            "passed": decision.passed, "reasons": list(decision.reasons)}


def _smoke(model: Any) -> str:
    text = ("The battery lasts two days. Charging is quick. The screen is sharp. "
            "The camera is weak in low light. Support replied within a day.")
    return f"summary: {model.summarize(text).text!r}"


@register_app(
    "summarizer",
    description="Extractive summaries by K-means over sentence embeddings",
    model_name=MODEL_NAME,
    quick_params={"evaluate.sample": 40},
    smoke=_smoke,
    mount=mount,
    page="/apps/summarizer",
    profile_inputs=lambda _version: load_corpus(
        current_settings().home.resolve() / "cache" / "vader")["text"].sample(
        frac=1.0, random_state=0).head(1000).to_numpy(dtype=object),
)
def build_pipeline() -> Pipeline:
    return Pipeline("summarizer", [corpus, build, evaluate, register],
                    description="K-means extractive summariser")

