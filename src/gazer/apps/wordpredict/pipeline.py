"""The ``wordpredict`` pipeline: corpus → preprocess → validate → train → evaluate → register.

``gazer run wordpredict`` builds the ``ca-help`` corpus (Catalan LibreOffice help), makes 3+3
context windows, checks them with a schema, trains the ``gazer`` Transformer (or
``--param arch=baseline``, the reference's), evaluates it on the test split with behaviour
tests, and registers it as ``wordpredict-<corpus>`` behind a gate against the champion.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np

from gazer.apps.wordpredict import landed  # noqa: F401 # registers the +landed corpora
from gazer.apps.wordpredict.behaviour import run_behaviour
from gazer.apps.wordpredict.corpus import SPLITS, Corpus, load_corpus
from gazer.apps.wordpredict.data import (
    MAX_VOCAB,
    MIN_COUNT,
    UNK_ID,
    Vocabulary,
    clean_line,
    encode_split,
    validate_windows,
    word_windows,
)
from gazer.apps.wordpredict.model import (
    NetConfig,
    WordPredictor,
    build_net,
    count_parameters,
    evaluate_arrays,
    train_config_for,
    train_net,
)
from gazer.apps.wordpredict.serving import mount
from gazer.catalog import register_app
from gazer.core.artifacts import Metrics
from gazer.core.context import current, current_settings
from gazer.core.pipeline import Pipeline
from gazer.core.step import step
from gazer.registry.gate import Check, Gate
from gazer.storage.resolve import storage_from_settings
from gazer.tracking.co2 import measure_emissions

ARRAYS = ("x_train", "y_train", "x_valid", "y_valid", "x_test", "y_test")


def model_name(corpus: str) -> str:
    """The registered model of a corpus: one with landed text added (``ca-help+landed``) is
    a new version of its base corpus's model, not another model."""
    return f"wordpredict-{corpus.partition('+')[0]}"


@step(outputs="corpus_info")
def corpus(corpus: str = "ca-help", folder: str = "") -> dict[str, Any]:
    """WikiText-style train/valid/test files from a corpus plug-in, with their counts."""
    cache = current_settings().home.resolve() / "cache" / "wordpredict"
    found = load_corpus(corpus, folder=folder, cache=str(cache))
    digest = found.fingerprint()
    ctx = current()
    ctx.log_metrics({f"corpus.{k}": float(v) for k, v in found.stats.items()})
    ctx.log_params({"corpus.source": found.source[:250]})
    print(", ".join(f"{s}: {found.stats.get(f'{s}.paragraphs', 0)} paragraphs "
                    f"{found.stats.get(f'{s}.tokens', 0)} tokens" for s in SPLITS))
    return {"name": found.name, "folder": str(found.folder), "source": found.source,
            "stats": found.stats, "sha256": digest}


def _corpus(info: dict[str, Any]) -> Corpus:
    from pathlib import Path

    return Corpus(info["name"], Path(info["folder"]), info["source"], info["stats"])


def _sample_lines(lines: list[str], fraction: float, seed: int) -> list[str]:
    """A seeded share of the lines (for learning curves); all of them at 1.0."""
    if fraction >= 1.0:
        return lines
    keep = np.random.default_rng(seed).random(len(lines)) < fraction
    return [line for line, k in zip(lines, keep, strict=True) if k]


@step(outputs=(*ARRAYS, "vocab"))
def preprocess(corpus_info: dict[str, Any], min_count: int = MIN_COUNT,
               max_vocab: int = MAX_VOCAB, fraction: float = 1.0,
               seed: int = 0) -> tuple[Any, ...]:
    """Punctuation stripped, vocabulary of tokens seen >= min_count times, 3+3 windows."""
    found = _corpus(corpus_info)
    train_lines = _sample_lines(list(found.lines("train")), fraction, seed)
    vocab = Vocabulary.build((clean_line(line) for line in train_lines), min_count, max_vocab)
    arrays: list[np.ndarray] = []
    for split in SPLITS:
        x, y = encode_split(train_lines if split == "train" else found.lines(split), vocab)
        arrays += [x, y]
    ctx = current()
    sizes = {f"samples.{s}": float(len(arrays[2 * i + 1])) for i, s in enumerate(SPLITS)}
    unk = float((arrays[1] == UNK_ID).mean()) if len(arrays[1]) else 0.0
    ctx.log_metrics({**sizes, "vocab_size": float(len(vocab)), "train_unk_share": unk})
    ctx.log_dataset(arrays[0], f"{corpus_info['name']}-windows",
                    source=f"{corpus_info['source'][:200]} sha256:{corpus_info['sha256'][:16]}")
    print(f"vocabulary {len(vocab)} words; windows: "
          + ", ".join(f"{s} {int(v)}" for s, v in sizes.items()) + f"; <unk> {unk:.1%}")
    return (*arrays, vocab.to_dict())


@step(outputs="checks")
def validate(x_train: Any, y_train: Any, x_valid: Any, y_valid: Any, x_test: Any, y_test: Any,
             vocab: dict[str, Any]) -> dict[str, Any]:
    """pandera schema: int32, ids within the vocabulary, window width 6, no <pad> target."""
    size = len(vocab["tokens"])
    for split, x, y in (("train", x_train, y_train), ("valid", x_valid, y_valid),
                        ("test", x_test, y_test)):
        validate_windows(x, y, size, split)
    return {"vocab_size": size, "passed": True}


@step(outputs=("model", "history"))
def train(x_train: Any, y_train: Any, x_valid: Any, y_valid: Any, vocab: dict[str, Any],
          checks: dict[str, Any], arch: str = "gazer", heads: int = 4, dim: int = 256,
          ff: int = 512, epochs: int = 4, batch_size: int = 2048, lr: float = 0.0,
          patience: int = 2, time_budget_s: float = 0.0, seed: int = 0) -> tuple[Any, Any]:
    """Train ``arch`` (baseline = the reference's, gazer = ours) with early stopping."""
    ctx = current()
    config = NetConfig(arch=arch, vocab_size=checks["vocab_size"], dim=dim, heads=heads, ff=ff)
    training = train_config_for(arch, epochs=epochs, batch_size=batch_size, lr=lr or None,
                                patience=patience, seed=seed, time_budget_s=time_budget_s)
    parameters = count_parameters(build_net(config))
    ctx.log_params({"net": json.dumps(dataclasses.asdict(config)),
                    "training": json.dumps(dataclasses.asdict(training))})
    ctx.log_metric("parameters", parameters)
    print(f"{arch}: {parameters:,} parameters, {len(x_train):,} training windows")
    epochs_left = ctx.progress(range(epochs + 1), total=epochs, desc="epochs", every_s=0.0)
    next(epochs_left, None)  # each later step reports one finished epoch, with ETA

    settings = current_settings()
    storage = storage_from_settings(settings)
    local = ctx.scratch_dir() / "checkpoints"

    def on_epoch(epoch: int, row: dict[str, float]) -> None:
        next(epochs_left, None)
        ctx.log_metrics(row, step=epoch)
        saved = local / f"epoch-{epoch + 1:03d}.pt"  # kept with the run's artifacts
        storage.put_file(saved, f"curated/runs/{ctx.run_id}/train/checkpoints/{saved.name}")
        saved.unlink()

    with measure_emissions(settings.tracking.country, settings.tracking.co2) as co2:
        state, history = train_net(config, training, x_train, y_train, x_valid, y_valid,
                                   on_epoch=on_epoch, checkpoints=local)
    train_s = sum(h["epoch_s"] for h in history)
    summary = {"train_s": train_s, "epochs_run": float(len(history)),
               "tokens_per_s": len(x_train) * len(history) / max(train_s, 1e-9),
               "co2_kg": co2.co2_kg, "energy_kwh": co2.energy_kwh,
               "parameters": float(parameters)}
    ctx.log_metrics(summary)
    if history:
        ctx.log_figure(_curves(history, arch), "training_curves.png")
    model = WordPredictor(config, state, Vocabulary.from_dict(vocab), summary)
    return model, {"epochs": history, **summary}


def _curves(history: list[dict[str, float]], arch: str) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
    epochs = range(1, len(history) + 1)
    ax1.plot(epochs, [h["train_loss"] for h in history], marker="o", label="train")
    ax1.plot(epochs, [h["val_loss"] for h in history], marker="o", label="validation")
    ax1.set_title(f"{arch}: loss per token")
    ax1.set_xlabel("epoch")
    ax1.legend()
    ax2.plot(epochs, [h["val_accuracy"] for h in history], marker="o", label="top-1")
    ax2.plot(epochs, [h["val_top5"] for h in history], marker="o", label="top-5")
    ax2.set_title("validation accuracy")
    ax2.set_xlabel("epoch")
    ax2.legend()
    fig.tight_layout()
    return fig


# Frequency bands by a word's rank in the training vocabulary (ids are sorted by frequency).
BANDS = (("top-100", 2, 102), ("101-1000", 102, 1002), ("over-1000", 1002, None),
         ("unknown", UNK_ID, UNK_ID + 1))


def band_accuracy(y: np.ndarray, hits: np.ndarray) -> dict[str, float]:
    out = {}
    for name, low, high in BANDS:
        mask = (y >= low) & (y < (high if high is not None else np.iinfo(y.dtype).max))
        if mask.any():
            out[f"accuracy.{name}"] = float(hits[mask].mean())
            out[f"share.{name}"] = float(mask.mean())
    return out


@step(outputs="metrics")
def evaluate(model: WordPredictor, x_test: Any, y_test: Any) -> Metrics:
    """Test top-1, top-5, loss, accuracy by frequency band, behaviour tests, latency."""
    import time

    ctx = current()
    net = model.net()
    result = evaluate_arrays(net, x_test, y_test)
    behaviour = run_behaviour(model)
    ctx.log_text(behaviour.as_markdown(), "behaviour_tests.md")
    rows = [["Feu", "clic", "a", "acord", "per", "a"]]
    started = time.perf_counter()
    for _ in range(20):
        model.top_k(rows, 5)
    latency_ms = (time.perf_counter() - started) / 20 * 1000
    metrics = Metrics(accuracy=result["accuracy"], top5=result["top5"], loss=result["loss"],
                      behaviour_pass_rate=behaviour.pass_rate, latency_ms=latency_ms,
                      **band_accuracy(np.asarray(y_test), result["hits"]))
    ctx.log_metrics({f"test.{k}": v for k, v in metrics.items()})
    print(f"test top-1 {metrics['accuracy']:.4f} top-5 {metrics['top5']:.4f} loss "
          f"{metrics['loss']:.3f}; behaviour {behaviour.passed}/{behaviour.total}")
    return metrics


def model_card(model: WordPredictor, metrics: Metrics, corpus_info: dict[str, Any],
               history: dict[str, Any], decision: Any) -> str:
    bands = "\n".join(f"| {name} | {metrics.get(f'share.{name}', 0):.1%} | "
                      f"{metrics.get(f'accuracy.{name}', float('nan')):.4f} |"
                      for name, *_ in BANDS)
    return f"""# Model card: {model_name(corpus_info['name'])} ({model.config.arch})

## Model
- Architecture `{model.config.arch}`: {json.dumps(dataclasses.asdict(model.config))}
- {int(history['parameters']):,} parameters; {int(history['epochs_run'])} epochs in
  {history['train_s']:.0f} s ({history['tokens_per_s']:.0f} tokens/s);
  {history['energy_kwh']:.5f} kWh, {history['co2_kg'] * 1000:.2f} g CO2 (CodeCarbon offline)
- Input: 3 words before and 3 after the hidden word; output: the hidden word (never `<unk>`).

## Test split
- Top-1 {metrics['accuracy']:.4f}, top-5 {metrics['top5']:.4f}, loss {metrics['loss']:.3f}
- Behaviour tests passed: {metrics['behaviour_pass_rate']:.0%}
- Gate: {'passed' if decision.passed else 'failed'}: {'; '.join(decision.reasons)}

| target word's frequency rank | share of test words | top-1 |
|---|---|---|
{bands}

## Limits
- Trained on {corpus_info['name']} ({corpus_info['source']}): software-manual Catalan. Everyday
  or literary Catalan will do worse; words outside the vocabulary can never be predicted.
- Case-sensitive, punctuation stripped: `Feu` and `feu` are different words.
"""


def dataset_card(corpus_info: dict[str, Any], vocab_size: int) -> str:
    stats = corpus_info["stats"]
    rows = "\n".join(f"| {s} | {stats.get(f'{s}.pages', '')} | {stats.get(f'{s}.paragraphs', '')}"
                     f" | {stats.get(f'{s}.tokens', '')} |" for s in SPLITS)
    filters = ", ".join(f"{k}: {v}" for k, v in stats.items() if "." not in k)
    return f"""# Dataset card: {corpus_info['name']}

- Source: {corpus_info['source']}
- Files: `ca.wiki.{{train,valid,test}}.tokens` (WikiText style), sha256
  `{corpus_info['sha256'][:16]}`
- Built: {filters or 'as given'}
- Split by page (a hash of the page path), so no page is in two splits.
- Vocabulary: {vocab_size} entries (tokens seen at least 3 times in train, plus <pad>, <unk>).

| split | pages | paragraphs | tokens |
|---|---|---|---|
{rows}

Licence: the LibreOffice help is MPL-2.0; see /usr/share/doc/libreoffice-help-ca/copyright.
"""


@step(outputs="decision")
def register(model: WordPredictor, metrics: Metrics, history: dict[str, Any],
             corpus_info: dict[str, Any], margin: float = 0.0,
             min_behaviour: float = 0.5, min_accuracy: float = 0.0) -> dict[str, Any]:
    """Champion if test accuracy beats the champion's, reaches ``min_accuracy`` (the seed's
    success bar was 0.35), and enough behaviour tests pass."""
    ctx = current()
    gate = Gate("accuracy", "max", margin, floor=min_accuracy or None, checks=[
        Check("behaviour", lambda _m: (
            metrics["behaviour_pass_rate"] >= min_behaviour,
            f"{metrics['behaviour_pass_rate']:.0%} of behaviour tests passed "
            f"(need {min_behaviour:.0%})")),
    ])
    example = np.array([["Feu", "clic", "a", "acord", "per", "a"]], dtype=object)
    version, decision = ctx.publish(
        model_name(corpus_info["name"]), model, metrics, gate, input_example=example,
        lineage={"gazer.dataset": corpus_info["sha256"],
                 "wordpredict.corpus": corpus_info["name"],
                 "gazer.model_family": model.config.arch},
        # the drift profile: contexts of the validation split, as users send them
        profile_inputs=word_windows(_corpus(corpus_info).lines("valid")))
    ctx.log_text(model_card(model, metrics, corpus_info, history, decision), "model_card.md")
    ctx.log_text(dataset_card(corpus_info, len(model.vocab)), "dataset_card.md")
    return {"arch": model.config.arch, "version": version.version,
            "aliases": list(version.aliases), "passed": decision.passed,
            "reasons": list(decision.reasons), "accuracy": metrics["accuracy"]}


def _smoke(model: Any) -> str:
    words = ["Feu", "clic", "a", "acord", "per", "a"]
    return f"{' '.join(words[:3])} [?] {' '.join(words[3:])} -> {model.top_k([words], 3)[0]}"



@register_app(
    "wordpredict",
    description="Catalan masked word: 3 words before + 3 after -> the missing word "
                "(Transformer, baseline vs gazer)",
    model_name=model_name("ca-help"),
    endpoint="wordpredict",
    quick_params={"train.epochs": 2},
    smoke=_smoke,
    mount=mount,
    page="/apps/wordpredict",
    profile_inputs=lambda version: word_windows(load_corpus(
        version.tags.get("wordpredict.corpus", "ca-help"),
        cache=str(current_settings().home.resolve() / "cache" / "wordpredict")).lines("valid")),
)
def build() -> Pipeline:
    return Pipeline("wordpredict", [corpus, preprocess, validate, train, evaluate, register],
                    description="Catalan masked-word Transformer")
