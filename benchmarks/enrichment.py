"""Enrichment benchmark: `social-listening` on N messages, batched vs one message at a time.

Messages: VADER's ground-truth sets (tweets, movie and Amazon review snippets, NYT editorial
snippets: about 23k English texts, from the vaderSentiment 3.3.2 sdist) cycled to N with a
suffix, plus 10% Italian posts from the hand-made fixture (so translation has work). Prints:

- messages/s end to end with the local executor and with Ray (the whole pipeline, steps in
  order, each a batch over all messages);
- the same steps one message at a time (the reference's per-row Lambda style) on a sample,
  as messages/s;
- per-step seconds of the local run;
- accuracy on the hand-made labelled fixture: language detection, topics, sentiment.

    python benchmarks/enrichment.py [--messages 50000] [--per-row 200] [--skip-ray]
"""

from __future__ import annotations

import argparse
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from gazer.apps.enrichment import nlp, steps
from gazer.apps.enrichment.fixture import load_fixture, write_jsonl
from gazer.apps.enrichment.translate import plan
from gazer.apps.enrichment.translate import translate as apertium
from gazer.apps.enrichment.workflows import build_workflow, load_workflows
from gazer.apps.summarizer.data import fetch_sdist
from gazer.core.runner import Runner
from gazer.ml import embeddings
from gazer.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SETS = ("tweets", "movieReviewSnippets", "amazonReviewSnippets", "nytEditorialSnippets")


def vader_texts(cache: Path) -> list[tuple[str, str]]:
    """(source, text) of every ground-truth sentence in the vaderSentiment sdist."""
    out = []
    with tarfile.open(fetch_sdist(cache)) as outer:
        member = next(m for m in outer.getmembers() if m.name.endswith("hutto_ICWSM_2014.tar.gz"))
        handle = outer.extractfile(member)
        assert handle is not None
        with tarfile.open(fileobj=handle) as inner:
            for name in SETS:
                found = next(m for m in inner.getmembers()
                             if m.name.endswith(f"{name}_GroundTruth.txt"))
                raw = inner.extractfile(found)
                assert raw is not None
                for line in raw.read().decode("utf-8", errors="replace").splitlines():
                    parts = line.split("\t")
                    if len(parts) >= 3 and parts[2].strip():
                        out.append((name.replace("Snippets", ""), parts[2].strip()))
    return out


def messages(n: int, cache: Path) -> pd.DataFrame:
    english = vader_texts(cache)
    italian = load_fixture().query("label_lang == 'it' and kind == 'post'")["text"].tolist()
    rows = []
    for i in range(n):
        if i % 10 == 9:
            source, text = "social-it", italian[i % len(italian)]
        else:
            source, text = english[i % len(english)]
        suffix = f" (#{i // len(english)})" if i >= len(english) else ""
        rows.append({"id": f"b{i}", "source": source, "text": text + suffix,
                     "created_at": f"2026-11-{1 + i % 14:02d}T{i % 24:02d}:00:00Z"})
    return pd.DataFrame(rows)


def run_workflow(home: Path, data: Path, executor: str) -> tuple[float, dict[str, float]]:
    settings = Settings(home=home, tracking={"co2": False},  # type: ignore[arg-type]
                        executor={"max_workers": 1})  # type: ignore[arg-type]
    runner = Runner(settings, executor=executor)
    pipeline = build_workflow("social-listening", load_workflows()["social-listening"])
    started = time.perf_counter()
    try:
        record = runner.run(pipeline, {"ingest.path": str(data)})
    finally:
        runner.close()
    total = time.perf_counter() - started
    assert record.status == "succeeded", record.error
    return total, {s.name: s.duration_s or 0.0 for s in record.steps}


def per_row(sample: pd.DataFrame) -> float:
    """Every step on a one-row frame, message after message; messages/s."""
    spec = load_workflows()["social-listening"]["steps"]
    names = [next(iter(s)) if isinstance(s, dict) else s for s in spec][1:-1]  # no I/O steps
    params = {next(iter(s)): s[next(iter(s))] for s in spec if isinstance(s, dict)}
    from gazer.apps.enrichment.messages import normalise

    frame = normalise(sample, "per-row")
    nlp.embed(["warm up"])
    started = time.perf_counter()
    for i in range(len(frame)):
        row = frame.iloc[[i]].reset_index(drop=True)
        for name in names:
            embeddings.MEMO.clear()  # a fresh function invocation remembers nothing
            row = steps.CATALOGUE[name].fn(row, **params.get(name, {}))
    return len(frame) / (time.perf_counter() - started)


def accuracy() -> dict[str, float]:
    fixture = load_fixture()
    detected = nlp.detect(fixture["text"].tolist(), ["sw", "fr", "en", "it", "ca"])
    lang_acc = float(np.mean([d == g for (d, _), g in zip(detected, fixture["label_lang"],
                                                           strict=True)]))
    usable = fixture[fixture["label_lang"].isin(["en", "it"])].copy()
    italian = usable["label_lang"] == "it"
    usable["text_en"] = usable["text"]
    usable.loc[italian, "text_en"] = apertium(usable.loc[italian, "text"].tolist(),
                                              plan("it")[0])
    out = {"language (5 languages, all 155)": lang_acc}
    tagged = steps.classify_topics.fn(usable.assign(text_clean=usable["text_en"]))
    gold = usable["label_topics"].tolist()
    picked = tagged["topics"].tolist()
    out["topic: best label is a gold label (en + it→en)"] = float(np.mean([
        bool(p) and p[0] in g for p, g in zip(picked, gold, strict=True)]))
    out["topic: precision of chosen labels"] = float(np.mean([
        len(set(p) & set(g)) / len(p) for p, g in zip(picked, gold, strict=True) if p]))
    out["topic: recall of gold labels"] = float(np.mean([
        len(set(p) & set(g)) / len(g) for p, g in zip(picked, gold, strict=True)]))
    scored = steps.score_sentiment.fn(usable.assign(text_clean=usable["text_en"]))
    for lang in ("en", "it"):
        mask = usable["label_lang"] == lang
        out[f"sentiment, 3 classes ({lang}{'→en' if lang == 'it' else ''})"] = float(
            (scored.loc[mask, "sentiment"] == usable.loc[mask, "label_sentiment"]).mean())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--per-row", type=int, default=200)
    parser.add_argument("--skip-ray", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = messages(args.messages, ROOT / ".gazer" / "cache" / "vader")
        path = write_jsonl(data, work / "messages.jsonl")
        print(f"{len(data)} messages ({(data['source'] == 'social-it').sum()} Italian)")
        results = {}
        breakdown: dict[str, float] = {}
        for executor in ("local",) + (() if args.skip_ray else ("ray",)):
            seconds, per_step = run_workflow(work / executor, path, executor)
            results[executor] = seconds
            if executor == "local":
                breakdown = per_step
            print(f"  {executor}: {seconds:.0f} s", flush=True)
        row_rate = per_row(data.sample(args.per_row, random_state=0))

    print(f"\n## social-listening on {args.messages} messages (2 CPU cores)\n")
    print("| how | seconds | messages/s |\n|---|---|---|")
    for executor, seconds in results.items():
        print(f"| batched, {executor} executor | {seconds:.0f} | {args.messages / seconds:.0f} |")
    print(f"| one message at a time (sample of {args.per_row}) | "
          f"{args.messages / row_rate:.0f} (projected) | {row_rate:.2f} |")
    print("\n## seconds per step (local executor)\n")
    print("| step | seconds | share |\n|---|---|---|")
    total = sum(breakdown.values())
    for name, seconds in breakdown.items():
        print(f"| {name} | {seconds:.1f} | {seconds / total:.0%} |")
    print("\n## accuracy on the hand-made labelled fixture\n")
    print("| what | accuracy |\n|---|---|")
    for name, value in accuracy().items():
        print(f"| {name} | {value:.3f} |")


if __name__ == "__main__":
    main()
