"""Drift detection: false alarms on windows from the reference distribution, detection of
known shifts, and the time of a drift report over 100,000 logged predictions.

Each case builds a reference profile the way registration does (``gazer.ml.profiles``) from
one half of held-out data, then draws windows of 500 inputs (with replacement) and runs
``gazer.ml.drift.compare`` on each, with the features the prediction log computes:

- characters: the digits model (logistic regression on 8x8) with windows of the other held-out
  digits (no drift expected), Fashion-MNIST images framed as uploads, inverted model inputs;
  and a Fashion-MNIST model with windows of unseen test images, and inverted ones;
- summarizer (reviews): windows of other Amazon review sentences; NYT editorial sentences;
- wordpredict (the LibreOffice help's vocabulary): windows of 3+3-word contexts from help
  pages of another split; contexts from the LilyPond manual in Catalan
  (``lilypond-doc-html-ca``).

The wordpredict and summarizer cases compare inputs only (text features and the text domain
classifier): training those models is another benchmark's job.

    python benchmarks/drift.py [--null 200] [--shifted 100] [--rows 100000]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess  # nosec B404 # apt-get download and dpkg -x of a Debian package
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from gazer.ml import drift, profiles  # noqa: E402

WINDOW = 500
MANUAL = "lilypond-doc-html-ca"  # kicad-doc-ca keeps only 16 Catalan paragraphs


class Pool:
    """Inputs with their drift features and the model's answers, computed once."""

    def __init__(self, inputs: list[Any], answers: list[str] | None = None,
                 confidence: list[float] | None = None,
                 vocabulary: frozenset[str] | None = None) -> None:
        self.features = [profiles.features(x, vocabulary) for x in inputs]
        self.answers, self.confidence = answers, confidence

    def window(self, rng: np.random.Generator, n: int = WINDOW) -> drift.Window:
        # distinct inputs: a window of repeats would let the domain classifier learn them
        idx = rng.choice(len(self.features), min(n, len(self.features)), replace=False)
        scalars: dict[str, list[float]] = {}
        vectors, texts = [], []
        for i in idx:
            f = self.features[i]
            assert f is not None
            for k, v in f.scalars.items():
                scalars.setdefault(k, []).append(v)
            if f.vector is not None:
                vectors.append(f.vector.tolist())
            if f.text is not None:
                texts.append(f.text)
        return drift.Window(scalars, [self.answers[i] for i in idx] if self.answers else [],
                            [self.confidence[i] for i in idx] if self.confidence else [],
                            vectors, texts, n=len(idx))


def rate(profile: profiles.Profile, pool: Pool, windows: int, label: str,
         seed: int = 0, size: int = WINDOW) -> tuple[int, list[str]]:
    """How many of ``windows`` windows are called drift, and the usual drivers."""
    rng = np.random.default_rng(seed)
    called, drivers = 0, []
    started = time.perf_counter()
    for i in range(windows):
        report = drift.compare(profile, pool.window(rng, size))
        called += report.drifted
        drivers += report.drivers
        if (i + 1) % 25 == 0 or i + 1 == windows:
            spent = time.perf_counter() - started
            print(f"  {label}: {i + 1}/{windows} windows, {called} called drift, "
                  f"ETA {spent / (i + 1) * (windows - i - 1):.0f}s", flush=True)
    common = sorted(set(drivers), key=drivers.count, reverse=True)[:3]
    return called, common


def _image_model(images: np.ndarray, labels: np.ndarray, names: tuple[str, ...]) -> Any:
    from sklearn.linear_model import LogisticRegression

    from gazer.apps.characters.model import SklearnImageClassifier
    from gazer.apps.characters.preprocess import ImageTransform

    est = LogisticRegression(C=0.1, max_iter=200).fit(
        images.reshape(len(images), -1) / 255.0, labels)
    h, w = images.shape[1:]
    return SklearnImageClassifier(est, "logreg", names, ImageTransform.for_shape(h, w))


def _image_pool(model: Any, images: np.ndarray) -> Pool:
    probs = model.predict_proba(images)
    return Pool([im[None] for im in images],
                [model.class_names[i] for i in probs.argmax(axis=1)], probs.max(axis=1).tolist())


def _image_profile(model: Any, images: np.ndarray) -> profiles.Profile:
    profile = profiles.build_profile(images, model.predict(images),
                                     model.predict_proba(images).max(axis=1), model.class_names)
    assert profile is not None
    return profile


def characters_case(null: int, shifted: int) -> list[tuple[str, ...]]:
    """The digits model (1,797 images in all: its null windows are 300 of the 398 held-out
    digits the profile did not see) and a Fashion-MNIST model (windows of 500 from 8,000
    unseen test images); every image framed as an upload is."""
    from gazer.apps.characters.datasets import load_dataset
    from gazer.apps.characters.preprocess import as_served

    rows = []
    digits = load_dataset("digits")  # nosec B615 # gazer's own dataset plug-ins, not the hub
    fashion = load_dataset("fashion-mnist")  # nosec B615
    assert fashion.test_images is not None
    order = np.random.default_rng(0).permutation(len(digits.images))
    train, held = order[:1000], order[1000:]
    model = _image_model(digits.images[train], digits.labels[train], digits.class_names)
    half = len(held) // 2
    reference = as_served(digits.images[held[:half]], model.transform)
    fresh = as_served(digits.images[held[half:]], model.transform)
    garments = as_served(fashion.test_images[:3000], model.transform)
    profile = _image_profile(model, reference)
    for name, images, windows, size, target in (
            ("other held-out digits (windows of 300)", fresh, null, 300, "<= 5%"),
            ("Fashion-MNIST, framed as uploads", garments, shifted, WINDOW, ">= 95%"),
            ("inverted model inputs (windows of 300)", 255 - fresh, shifted, 300, ">= 95%")):
        called, drivers = rate(profile, _image_pool(model, images), windows,
                               f"digits / {name}", size=size)
        rows.append(("characters (digits)", name, str(windows), f"{called / windows:.1%}",
                     target, ", ".join(drivers) or "-"))

    print("  training a Fashion-MNIST model (logistic regression, 10,000 images)", flush=True)
    model = _image_model(fashion.images[:10_000], fashion.labels[:10_000], fashion.class_names)
    reference = as_served(fashion.test_images[:2000], model.transform)
    fresh = as_served(fashion.test_images[2000:], model.transform, limit=8000)
    profile = _image_profile(model, reference)
    for name, images, windows, target in (
            ("other Fashion-MNIST test images", fresh, null, "<= 5%"),
            ("inverted model inputs", 255 - fresh, shifted, ">= 95%")):
        called, drivers = rate(profile, _image_pool(model, images), windows,
                               f"fashion / {name}")
        rows.append(("characters (Fashion-MNIST)", name, str(windows),
                     f"{called / windows:.1%}", target, ", ".join(drivers) or "-"))
    return rows


def summarizer_case(null: int, shifted: int, cache: Path) -> list[tuple[str, ...]]:
    """Sentences: the sdist holds 300 review documents, too few for windows of 500, but
    3,708 review sentences and 5,190 editorial ones."""
    from gazer.apps.summarizer.data import fetch_sdist, read_ground_truth

    lines = read_ground_truth(fetch_sdist(cache / "vader"))
    reviews, news = ([line.split("\t")[-1] for line in lines[k] if line.count("\t") >= 2]
                     for k in ("amazon", "nyt"))
    order = np.random.default_rng(0).permutation(len(reviews))
    profile = profiles.build_profile(np.asarray([reviews[i] for i in order[:1000]],
                                                dtype=object))
    assert profile is not None
    rows = []
    for name, texts, windows, target in (
            ("other Amazon review sentences", [reviews[i] for i in order[1000:]], null,
             "<= 5%"),
            ("NYT editorial sentences", news, shifted, ">= 95%")):
        called, drivers = rate(profile, Pool(texts), windows, f"summarizer / {name}")
        rows.append(("summarizer (reviews)", name, str(windows), f"{called / windows:.1%}",
                     target, ", ".join(drivers) or "-"))
    return rows


def _manual_corpus(package: str, cache: Path) -> Any:
    """A Debian package's HTML documentation in Catalan, cleaned like the help corpus."""
    from gazer.apps.wordpredict.corpus import build_help_corpus

    target = cache / package
    if not target.exists():
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(["apt-get", "download", package], cwd=tmp, check=True,  # nosec B603 B607 # fixed argv
                           capture_output=True, timeout=600)
            deb = next(Path(tmp).glob("*.deb"))
            subprocess.run(["dpkg", "-x", str(deb), str(Path(tmp) / "x")], check=True,  # nosec B603 B607 # fixed argv
                           timeout=600)
            shutil.move(str(Path(tmp) / "x"), target)
    out = cache / f"{package}-corpus"
    if not (out / "stats.json").exists():
        build_help_corpus(target, out, source=package)
    return out


def wordpredict_case(null: int, shifted: int, cache: Path) -> list[tuple[str, ...]]:
    from gazer.apps.wordpredict.corpus import load_corpus
    from gazer.apps.wordpredict.data import MIN_COUNT, Vocabulary, clean_line, word_windows

    help_corpus = load_corpus("ca-help", cache=str(cache))
    vocab = Vocabulary.build((clean_line(line) for line in help_corpus.lines("train")),
                             MIN_COUNT, 20_000)
    vocabulary = frozenset(t.lower() for t in vocab.tokens)
    reference = word_windows(help_corpus.lines("valid"), 2000)
    fresh = word_windows(help_corpus.lines("test"), 4000, seed=1)
    manual = _manual_corpus(MANUAL, cache)
    other = word_windows([line for split in ("train", "valid", "test")
                          for line in (manual / f"ca.wiki.{split}.tokens").read_text(
                              encoding="utf-8").splitlines()], 4000, seed=1)
    profile = profiles.build_profile(reference, vocabulary=vocabulary)
    assert profile is not None
    rows = []
    for name, contexts, windows, target in (
            ("help pages of another split", fresh, null, "<= 5%"),
            (f"the LilyPond manual ({MANUAL})", other, shifted, ">= 95%")):
        pool = Pool([c[None] for c in contexts], vocabulary=vocabulary)
        called, drivers = rate(profile, pool, windows, f"wordpredict / {name}")
        rows.append(("wordpredict (LibreOffice help)", name, str(windows),
                     f"{called / windows:.1%}", target, ", ".join(drivers) or "-"))
    return rows


def speed(rows: int) -> list[tuple[str, float]]:
    """A drift report over ``rows`` logged digits predictions (SQLite)."""
    from sklearn.linear_model import LogisticRegression

    from gazer.apps.characters.datasets import load_dataset
    from gazer.apps.characters.model import SklearnImageClassifier
    from gazer.apps.characters.preprocess import ImageTransform
    from gazer.db import Database
    from gazer.monitoring.drift import drift_report
    from gazer.monitoring.predictions import Prediction, write_now
    from gazer.registry.memory import MemoryRegistry
    from gazer.registry.promotion import promote
    from gazer.storage.local import LocalStorage

    ds = load_dataset("digits")  # nosec B615
    est = LogisticRegression(C=0.1, max_iter=300).fit(
        ds.images.reshape(len(ds.images), -1) / 255.0, ds.labels)
    model = SklearnImageClassifier(est, "logreg", ds.class_names, ImageTransform(8, 8, 8))
    probs = model.predict_proba(ds.images)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/g.db")
        storage = LocalStorage(Path(tmp) / "storage")
        registry = MemoryRegistry()
        registry.register("m", model)
        promote(registry, "m", 1)
        profile = profiles.build_profile(ds.images[:500], probs[:500].argmax(axis=1),
                                         probs[:500].max(axis=1), ds.class_names)
        assert profile is not None
        storage.write_bytes(profiles.profile_key("m", 1), profile.to_json().encode())
        started = time.perf_counter()
        batch = 20_000
        for start in range(0, rows, batch):
            part = []
            for i in range(start, min(rows, start + batch)):
                j = i % len(ds.images)
                part.append(Prediction(
                    endpoint="characters", model="m", version=1, role="champion", status=200,
                    latency_ms=1.0, input_digest="d", output="", request_id=f"r{i}",
                    inputs=None, model_input=ds.images[j][None], mode="full",
                    outputs={"predict": [int(probs[j].argmax())],
                             "probabilities": probs[j][None]},
                    class_names=ds.class_names))
            write_now(db, part, chunk=batch)
            print(f"  logged {min(rows, start + batch)}/{rows} predictions", flush=True)
        print(f"  filled in {time.perf_counter() - started:.0f}s", flush=True)
        timings = []
        for label, window in ((f"last {rows}", str(rows)), ("last 1h", "1h")):
            drift_report(db, storage, registry, "characters", "m", window, record=False)
            started = time.perf_counter()
            report = drift_report(db, storage, registry, "characters", "m", window)
            timings.append((f"{label} ({report['n_window']} answers, "
                            f"{len(report['features'])} tests)", time.perf_counter() - started))
        db.close()
    return timings


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--null", type=int, default=200, help="windows with no drift per case")
    parser.add_argument("--shifted", type=int, default=100, help="windows per known shift")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "gazer"))
    parser.add_argument("--only", choices=("characters", "summarizer", "wordpredict", "speed"))
    args = parser.parse_args()
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    cases: dict[str, Callable[[], list[tuple[str, ...]]]] = {
        "characters": lambda: characters_case(args.null, args.shifted),
        "summarizer": lambda: summarizer_case(args.null, args.shifted, cache),
        "wordpredict": lambda: wordpredict_case(args.null, args.shifted, cache),
    }
    rows = []
    for name, case in cases.items():
        if args.only in (None, name):
            rows += case()
    if rows:
        print(f"\n## Windows of {WINDOW}: how often drift is called\n")
        _table(("model", "windows drawn from", "windows", "called drift", "target",
                "usual drivers"), rows)
    if args.only in (None, "speed"):
        print(f"\n## A drift report over {args.rows} logged predictions (SQLite)\n", flush=True)
        _table(("window", "seconds"), [(n, f"{s:.2f}") for n, s in speed(args.rows)])


if __name__ == "__main__":
    main()
