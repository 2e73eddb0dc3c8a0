"""The ``papers`` pipeline: index the evaluation papers → train the reranker → evaluate →
register behind a gate.

``gazer run papers`` indexes the six evaluation papers into the library (so the app has
papers to read from the start), fits ``PassageReranker`` on the evaluation set's training
questions plus users' ratings of answers (feedback on ``papers.answers``), measures recall@1,
recall@5 and MRR for BM25, embeddings, fused and reranked retrieval and abstention on the
test questions, and registers ``papers-reranker`` when its MRR is at least the champion's,
re-scored on the same questions.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from gazer.apps.papers.corpus import paper_files
from gazer.apps.papers.evaluation import evaluate as evaluate_on
from gazer.apps.papers.evaluation import feedback_rows, load_evalset, split_of, training_rows
from gazer.apps.papers.library import Library, Score
from gazer.apps.papers.reranker import PassageReranker, RerankerConfig
from gazer.apps.papers.serving import mount
from gazer.apps.papers.store import PaperStore
from gazer.catalog import register_app
from gazer.core.artifacts import Metrics
from gazer.core.context import current, current_settings
from gazer.core.pipeline import Pipeline
from gazer.core.step import step
from gazer.db import Database
from gazer.ml.embeddings import encode
from gazer.registry.gate import Check, Gate
from gazer.storage.resolve import storage_from_settings

MODEL_NAME = "papers-reranker"


@contextlib.contextmanager
def library() -> Iterator[tuple[Library, Database]]:
    """The run's papers library, on the run's database and storage."""
    settings = current_settings()
    db = Database(settings.runs_url)
    try:
        store = PaperStore(db, storage_from_settings(settings), settings.papers, encode)
        yield Library(store), db
    finally:
        db.close()


def scorer(model: PassageReranker) -> Score:
    return lambda x: (model.score(x), model.threshold)


@step(outputs="papers", cache=False)  # the library may have changed since: look again
def index_papers() -> dict[str, str]:
    """The evaluation papers (R vignettes from Debian), indexed once: name → paper id."""
    settings = current_settings()
    files = paper_files(settings.home.resolve() / "cache" / "papers")
    ids = {}
    with library() as (lib, _db):
        for i, (name, (path, label)) in enumerate(sorted(files.items()), start=1):
            paper, new = lib.store.add(path.read_bytes(), "url", f"{label}: {path.name}")
            ids[name] = paper.id
            print(f"[{i}/{len(files)}] {name}: {paper.pages} pages, {paper.passages} passages"
                  f"{'' if new else ' (indexed before)'}")
    current().log_params({"papers": len(ids)})
    return ids


@step(outputs="model")
def train(papers: dict[str, str], c: float = 1.0, positive_weight: float = 5.0,
          feedback: bool = True) -> PassageReranker:
    """Fit the reranker on the training questions and on users' rated answers."""
    questions = [q for q in load_evalset() if split_of(q) == "train"]
    with library() as (lib, db):
        x, y, spans = training_rows(lib, questions, papers)
        fx, fy = feedback_rows(db) if feedback else (np.zeros((0, x.shape[1])), np.zeros(0))
    model = PassageReranker(RerankerConfig(c=c, positive_weight=positive_weight))
    model.fit(np.concatenate([x, fx]) if len(fx) else x,
              np.concatenate([y, fy]).astype(np.int64) if len(fy) else y)
    scores = model.score(x)
    best = np.asarray([scores[a:b].max() if b > a else 0.0 for a, b, _ in spans])
    model.fit_threshold(best, np.asarray([ok for _, _, ok in spans]))
    current().log_params({"train_questions": len(questions), "train_rows": len(y),
                          "feedback_rows": len(fy), "threshold": round(model.threshold, 4)})
    print(f"trained on {len(questions)} questions ({len(y)} candidates) and {len(fy)} rated "
          f"answers; threshold {model.threshold:.3f}")
    return model


@step(outputs=("metrics", "champion_metrics"))
def evaluate(model: PassageReranker, papers: dict[str, str]) -> tuple[Metrics, Any]:
    """Retrieval and abstention on the test questions, for this model and the champion."""
    questions = [q for q in load_evalset() if split_of(q) == "test"]
    with library() as (lib, _db):
        metrics = Metrics(evaluate_on(lib, questions, papers, scorer(model)))
        champion = _champion(current())
        again = dict(evaluate_on(lib, questions, papers, scorer(champion))) \
            if isinstance(champion, PassageReranker) else None
    current().log_metrics(metrics)
    for method in ("bm25", "cosine", "hybrid", "reranked"):
        print(f"{method:>9}: recall@1 {metrics[f'{method}.recall_at_1']:.3f}  recall@5 "
              f"{metrics[f'{method}.recall_at_5']:.3f}  MRR {metrics[f'{method}.mrr']:.3f}")
    print(f"abstains on {metrics['abstention.unanswerable']:.0%} of unanswerable questions, "
          f"answers {metrics['abstention.answerable_answered']:.0%} of answerable ones")
    return metrics, again


@step(outputs="decision")
def register(model: PassageReranker, metrics: Metrics, champion_metrics: Any,
             margin: float = 0.0) -> dict[str, Any]:
    """Champion when its MRR is at least the champion's on the same questions, and
    reranking does not lose to the fused ranking it starts from."""
    gate = Gate("reranked.mrr", "max", margin, checks=[
        Check("beats_fusion", lambda _m: (
            metrics["reranked.mrr"] >= metrics["hybrid.mrr"] - 0.02,
            f"reranked MRR {metrics['reranked.mrr']:.3f} vs fused {metrics['hybrid.mrr']:.3f}")),
    ])
    example = np.zeros((2, len(model.feature_names)))
    version, decision = current().publish(MODEL_NAME, model, metrics, gate,
                                          input_example=example,
                                          champion_metrics=champion_metrics)
    return {"version": version.version, "aliases": list(version.aliases),
            "passed": decision.passed, "reasons": list(decision.reasons)}


def _champion(ctx: Any) -> Any:
    if ctx.registry is None or ctx.registry.find_alias(MODEL_NAME, "champion") is None:
        return None
    return ctx.registry.load_model(MODEL_NAME, "champion")


def ingest(services: Any, key: str, data: bytes) -> str:
    """A PDF landed under a watched prefix (``landing/papers/``), indexed once."""
    store = PaperStore(services.db, services.storage, services.settings.papers, encode)
    paper, new = store.add(data, "landing", key)
    return f"{'indexed' if new else 'already indexed'} {paper.id}: {paper.title} " \
           f"({paper.pages} pages)"


def _smoke(model: Any) -> str:
    scores = model.score(np.zeros((1, len(model.feature_names))))
    return f"an empty candidate scores {float(scores[0]):.3f} (threshold {model.threshold:.3f})"


@register_app(
    "papers",
    description="Paper assistant: upload or find a paper, read its summary, ask questions",
    model_name=MODEL_NAME,
    smoke=_smoke,
    mount=mount,
    page="/apps/papers",
    ingest=ingest,
)
def build_pipeline() -> Pipeline:
    return Pipeline("papers", [index_papers, train, evaluate, register],
                    description="Index the evaluation papers and train the answer reranker")
