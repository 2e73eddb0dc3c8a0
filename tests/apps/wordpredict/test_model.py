"""The two architectures and the served predictor."""

from __future__ import annotations

import numpy as np
import pytest

from gazer.apps.wordpredict.data import Vocabulary
from gazer.apps.wordpredict.model import (
    NetConfig,
    TrainConfig,
    WordPredictor,
    baseline_parameter_count,
    build_net,
    check_words,
    count_parameters,
    train_net,
)


@pytest.mark.parametrize("heads", [1, 4])
@pytest.mark.parametrize("vocab_size", [1000, 4761])
def test_baseline_parameters_match_the_formula(heads: int, vocab_size: int) -> None:
    net = build_net(NetConfig(arch="baseline", vocab_size=vocab_size, heads=heads))
    assert count_parameters(net) == baseline_parameter_count(vocab_size)
    # embedding + positions + 2 x (attention 263,168 + feed-forward 262,912 + norms 1,024)
    # + output layer
    assert baseline_parameter_count(1000) == 256_000 + 1536 + 2 * 527_104 + 257_000


def test_gazer_ties_its_output_to_the_embedding() -> None:
    gazer = build_net(NetConfig(arch="gazer", vocab_size=4761))
    baseline = build_net(NetConfig(arch="baseline", vocab_size=4761, heads=4))
    assert count_parameters(gazer) < count_parameters(baseline) - 4761 * 256 + 4761 * 2
    import torch

    out = gazer(torch.zeros(3, 6, dtype=torch.long))
    assert tuple(out.shape) == (3, 4761)


def _vocab(words: list[str]) -> Vocabulary:
    return Vocabulary(["<pad>", "<unk>", *words], [0, 0] + [5] * len(words))


def test_the_predictor_never_answers_pad_or_unk() -> None:
    import torch

    vocab = _vocab(["menú", "diàleg", "botó"])
    config = NetConfig(arch="gazer", vocab_size=len(vocab), dim=16, heads=2, ff=32)
    net = build_net(config)
    with torch.no_grad():
        net.bias[:] = torch.tensor([500.0, 400.0, 100.0, 200.0, 0.0])  # <pad>, <unk> would win
    model = WordPredictor(config, net.state_dict(), vocab)
    rows = [["Obriu", "el", "x", "contextual", "d'", "un"], ["a", "b", "c", "d", "e", "f"]]
    assert model.predict(rows).tolist() == ["diàleg", "diàleg"]
    probs = model.predict_proba(rows)
    assert probs[:, :2].max() == 0.0 and np.allclose(probs.sum(axis=1), 1.0)
    top = model.top_k(rows[:1], 10)[0]
    assert [w for w, _ in top] == ["diàleg", "menú", "botó"]  # k is capped at real words
    assert model.encode([["menú", "Menú", "menú,", "botó".encode(), "", "zzz"]]).tolist() == [
        [2, 1, 2, 4, 1, 1]]
    with pytest.raises(ValueError, match="rows of 6 words .* got shape \\[1, 5\\]"):
        model.predict([["a"] * 5])


def test_training_is_seeded_and_stops_early() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(2, 40, size=(512, 6)).astype(np.int32)
    y = (x[:, 2] % 38 + 2).astype(np.int32)  # the word before decides the answer
    config = NetConfig(arch="gazer", vocab_size=40, dim=32, heads=2, ff=64)
    training = TrainConfig(epochs=30, batch_size=64, lr=3e-3, patience=2, seed=1)
    state_a, history_a = train_net(config, training, x, y, x[:128], y[:128])
    state_b, history_b = train_net(config, training, x, y, x[:128], y[:128])
    assert [h["val_loss"] for h in history_a] == [h["val_loss"] for h in history_b]
    assert history_a[-1]["val_accuracy"] > 0.9
    assert all(np.array_equal(state_a[k], state_b[k]) for k in state_a)
    stalled = TrainConfig(epochs=30, batch_size=64, lr=0.0, patience=1, seed=1)
    _, history = train_net(config, stalled, x, y, x[:128], y[:128])
    assert len(history) == 2  # no improvement after the first epoch: stops at patience 1


def test_request_words_are_checked_with_messages() -> None:
    assert check_words(["a", "b", "c", "d", "e", "f"]) == []
    assert check_words(["a", "b"]) == [
        "expected exactly 6 words (3 before and 3 after the hidden word); got 2"]
    assert check_words(["a", " ", "c", "d", "e", "x" * 61]) == [
        "word 2 is empty; expected a word",
        "word 6 has 61 characters; expected at most 60"]
