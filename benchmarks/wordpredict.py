"""wordpredict benchmark: baseline (1 head), baseline (4 heads) and the gazer model on ca-help.

Same corpus, same split, same CPU, same epochs, one model at a time. Prints a markdown table:
test top-1 / top-5 / loss, training time, tokens/s, energy and CO2 (CodeCarbon offline
estimate), parameters, p50 latency of one prediction through ``GET /predicted-word`` (uvicorn
on 127.0.0.1), behaviour tests passed; then test accuracy when training on 25%, 50% and 100%
of the training split. Writes docs/images/wordpredict-curves.png and wordpredict-sizes.png.

    python benchmarks/wordpredict.py [--epochs 4] [--sizes 0.25 0.5 1.0] [--requests 300]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

from gazer.apps.wordpredict.behaviour import run_behaviour
from gazer.apps.wordpredict.corpus import load_corpus
from gazer.apps.wordpredict.data import UNK_ID, Vocabulary, clean_line, encode_split
from gazer.apps.wordpredict.model import (
    NetConfig,
    WordPredictor,
    build_net,
    count_parameters,
    evaluate_arrays,
    train_config_for,
    train_net,
)
from gazer.apps.wordpredict.pipeline import _sample_lines
from gazer.tracking.co2 import measure_emissions

ROOT = Path(__file__).resolve().parents[1]
MODELS = (("baseline, 1 head", "baseline", 1), ("baseline, 4 heads", "baseline", 4),
          ("gazer", "gazer", 4))


def prepare(corpus: Any, fraction: float) -> dict[str, Any]:
    train_lines = _sample_lines(list(corpus.lines("train")), fraction, 0)
    vocab = Vocabulary.build(clean_line(line) for line in train_lines)
    data = {"vocab": vocab}
    for split in ("train", "valid", "test"):
        data[split] = encode_split(train_lines if split == "train" else corpus.lines(split),
                                   vocab)
    return data


def train_one(data: dict[str, Any], arch: str, heads: int, epochs: int) -> dict[str, Any]:
    vocab = data["vocab"]
    config = NetConfig(arch=arch, vocab_size=len(vocab), heads=heads)
    training = train_config_for(arch, epochs=epochs, patience=epochs)

    def on_epoch(epoch: int, row: dict[str, float]) -> None:
        print(f"  {arch}/{heads} epoch {epoch + 1}/{epochs}: val acc {row['val_accuracy']:.4f} "
              f"loss {row['val_loss']:.3f} ({row['epoch_s']:.0f} s, "
              f"{row['tokens_per_s']:.0f} tokens/s)", flush=True)

    with measure_emissions("FRA", True) as co2:
        state, history = train_net(config, training, *data["train"], *data["valid"],
                                   on_epoch=on_epoch)
    model = WordPredictor(config, state, vocab)
    net = model.net()
    test = evaluate_arrays(net, *data["test"])
    train_s = sum(h["epoch_s"] for h in history)
    return {"model": model, "history": history, "test": test, "train_s": train_s,
            "tokens_per_s": len(data["train"][1]) * len(history) / train_s,
            "co2_g": co2.co2_kg * 1000, "energy_kwh": co2.energy_kwh,
            "parameters": count_parameters(build_net(config)),
            "behaviour": run_behaviour(model)}


def endpoint_model(label: str) -> str:
    """A model name for a table label: ``baseline, 1 head`` → ``baseline-1-head``."""
    return label.replace(", ", "-").replace(" ", "-")


def http_p50(models: dict[str, WordPredictor], requests: int) -> dict[str, float]:
    """p50 ms of GET /predicted-word per model, each served as the champion of its endpoint."""
    import uvicorn

    from gazer.registry.memory import MemoryRegistry
    from gazer.registry.promotion import promote
    from gazer.serving.app import create_app
    from gazer.settings import EndpointSettings, Settings

    registry = MemoryRegistry()
    for label, model in models.items():
        name = endpoint_model(label)
        version = registry.register(name, model)
        promote(registry, name, version.version)
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label in models:
            name = endpoint_model(label)
            settings = Settings(home=Path(tmp), tracking={"co2": False},  # type: ignore[arg-type]
                                serving={"poll_interval_s": 3600.0})  # type: ignore[arg-type]
            app = create_app(settings, registry=registry,
                             endpoints=[EndpointSettings(name="wordpredict", model=name)])
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                                   log_level="warning", access_log=False))
            thread = threading.Thread(target=server.run, daemon=True)
            thread.start()
            while not server.started:
                time.sleep(0.05)
            query = urllib.parse.urlencode({"words": "Feu,clic,a,per,obrir,el"})
            url = f"http://127.0.0.1:{port}/predicted-word?{query}"
            times = []
            for i in range(requests + 20):
                started = time.perf_counter()
                with urllib.request.urlopen(url) as response:
                    response.read()
                if i >= 20:
                    times.append((time.perf_counter() - started) * 1000)
            server.should_exit = True
            thread.join(timeout=10)
            out[label] = statistics.median(times)
    return out


def batch_timing(data: dict[str, Any], repeats: int = 3, batches: int = 8
                 ) -> dict[str, float]:
    """Milliseconds per training batch of 2048 (forward, backward, optimiser step) for each
    model, the models interleaved and the best of ``repeats`` kept: a per-epoch cost that
    other work on the machine disturbs less than whole-epoch wall times."""
    import torch
    import torch.nn.functional as F

    x, y = data["train"]
    rng = np.random.default_rng(0)
    picks = [rng.choice(len(x), 2048, replace=False) for _ in range(batches)]
    xb = [torch.from_numpy(x[i].astype(np.int64)) for i in picks]
    yb = [torch.from_numpy(y[i].astype(np.int64)) for i in picks]
    setups = {}
    for label, arch, heads in MODELS:
        net = build_net(NetConfig(arch=arch, vocab_size=len(data["vocab"]), heads=heads))
        opt = (torch.optim.Adam if arch == "baseline" else torch.optim.AdamW)(net.parameters())
        setups[label] = (net.train(), opt, "sum" if arch == "baseline" else "mean",
                         0.0 if arch == "baseline" else 0.1)
    best = {label: float("inf") for label in setups}
    for _ in range(repeats):
        for label, (net, opt, reduction, smoothing) in setups.items():
            started = time.perf_counter()
            for xi, yi in zip(xb, yb, strict=True):
                loss = F.cross_entropy(net(xi), yi, reduction=reduction,
                                       label_smoothing=smoothing)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            best[label] = min(best[label], (time.perf_counter() - started) / batches * 1000)
    return best


def charts(results: dict[str, dict[str, Any]], sizes: list[tuple[float, dict[str, float]]],
           folder: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    for label, r in results.items():
        seconds = np.cumsum([h["epoch_s"] for h in r["history"]])
        ax1.plot(seconds, [h["val_accuracy"] for h in r["history"]], marker="o", label=label)
        ax2.plot(seconds, [h["val_loss"] for h in r["history"]], marker="o", label=label)
    ax1.set_title("validation top-1 vs training time")
    ax2.set_title("validation loss vs training time")
    for ax in (ax1, ax2):
        ax.set_xlabel("seconds of training (CPU)")
        ax.legend()
    fig.tight_layout()
    fig.savefig(folder / "wordpredict-curves.png", dpi=110)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for label in sizes[0][1]:
        ax.plot([100 * f for f, _ in sizes], [s[label] for _, s in sizes], marker="o",
                label=label)
    ax.set_xlabel("share of the training split (%)")
    ax.set_ylabel("test top-1")
    ax.set_title("accuracy vs training-set size (ca-help)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(folder / "wordpredict-sizes.png", dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--sizes", type=float, nargs="*", default=[0.25, 0.5, 1.0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--cache", default=str(ROOT / ".gazer" / "cache" / "wordpredict"))
    parser.add_argument("--timing-only", action="store_true",
                        help="only the interleaved per-batch training cost")
    args = parser.parse_args()
    # import everything up front: a long run must not pick up half-edited modules later
    import gazer.serving.app  # noqa: F401
    from gazer.catalog import load_apps

    load_apps()

    corpus = load_corpus("ca-help", cache=args.cache)
    print(f"corpus: {corpus.source}; " + ", ".join(
        f"{s} {corpus.stats[f'{s}.tokens']} tokens" for s in ("train", "valid", "test")))
    full = prepare(corpus, 1.0)
    unk = float((full["train"][1] == UNK_ID).mean())
    print(f"vocabulary {len(full['vocab'])}; windows train {len(full['train'][1])}, "
          f"valid {len(full['valid'][1])}, test {len(full['test'][1])}; <unk> {unk:.1%}")
    steps_per_epoch = -(-len(full["train"][1]) // 2048)
    timing = batch_timing(full)
    print("\n## training cost per batch of 2048 (interleaved, best of 3)\n")
    print(f"| model | ms per batch | seconds per epoch (x{steps_per_epoch} batches) |\n"
          "|---|---|---|")
    for label, ms in timing.items():
        print(f"| {label} | {ms:.0f} | {ms * steps_per_epoch / 1000:.0f} |")
    if args.timing_only:
        return
    results = {}
    for label, arch, heads in MODELS:
        results[label] = r = train_one(full, arch, heads, args.epochs)
        print(f"  {label}: test top-1 {r['test']['accuracy']:.4f} top-5 {r['test']['top5']:.4f} "
              f"loss {r['test']['loss']:.3f}, {r['train_s']:.0f} s, {r['co2_g']:.2f} g CO2, "
              f"behaviour {r['behaviour'].passed}/{r['behaviour'].total}", flush=True)
    p50 = http_p50({label: r["model"] for label, r in results.items()}, args.requests)

    print(f"\n## ca-help, {args.epochs} epochs, one model at a time\n")
    print("| model | test top-1 | test top-5 | test loss | train time | tokens/s | energy kWh "
          "| CO2 g | parameters | p50 ms (HTTP) | behaviour |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for label, r in results.items():
        t = r["test"]
        print(f"| {label} | {t['accuracy']:.4f} | {t['top5']:.4f} | {t['loss']:.3f} | "
              f"{r['train_s']:.0f} s | {r['tokens_per_s']:.0f} | {r['energy_kwh']:.5f} | "
              f"{r['co2_g']:.2f} | {r['parameters']:,} | {p50[label]:.2f} | "
              f"{r['behaviour'].passed}/{r['behaviour'].total} |")

    sizes: list[tuple[float, dict[str, float]]] = []
    for fraction in sorted(args.sizes):
        data = full if fraction >= 1.0 else prepare(corpus, fraction)
        row = {}
        for label, arch, heads in (MODELS[0], MODELS[2]):
            r = results[label] if fraction >= 1.0 else train_one(data, arch, heads, args.epochs)
            row[label] = r["test"]["accuracy"]
        sizes.append((fraction, {**row, "tokens": float(len(data["train"][1])),
                                 "vocab": float(len(data["vocab"]))}))
    print("\n## test top-1 by training-set size\n")
    print("| share of train | training tokens | vocabulary | " +
          " | ".join(label for label, *_ in (MODELS[0], MODELS[2])) + " |")
    print("|---|---|---|---|---|")
    for fraction, row in sizes:
        print(f"| {fraction:.0%} | {int(row['tokens'])} | {int(row['vocab'])} | "
              f"{row[MODELS[0][0]]:.4f} | {row[MODELS[2][0]]:.4f} |")
    images = ROOT / "docs" / "images"
    images.mkdir(parents=True, exist_ok=True)
    charts(results, [(f, {k: v for k, v in row.items() if k not in ("tokens", "vocab")})
                     for f, row in sizes], images)
    print("\nbehaviour tests of the gazer model:\n")
    print(results["gazer"]["behaviour"].as_markdown())


if __name__ == "__main__":
    main()
