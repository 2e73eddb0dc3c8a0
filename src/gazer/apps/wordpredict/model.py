"""The two architectures, their training loop, and the served ``WordPredictor``.

- ``baseline``: the reference notebook's model, re-implemented faithfully: embedding 256 plus a
  learned position embedding for the 6 context positions, two post-norm Transformer encoder
  layers (1 or 4 heads, feed-forward 512, dropout 0.1), the 6 outputs summed, a linear layer to
  the vocabulary; Adam at 1e-3 on summed cross-entropy, batches of 2048.
- ``gazer``: the context with a learned ``[MASK]`` vector at the centre (7 positions), pre-norm
  layers with a final norm, the centre position read out through the input embedding (tied
  weights, half the parameters), label smoothing, AdamW with warm-up and cosine decay. The last
  layer runs for the centre query only (no other output is read), so an epoch costs less than
  the baseline's although it sees one position more.

``WordPredictor`` carries the vocabulary and config with the weights, so serving rebuilds it
from the registered artifact alone; it never answers ``<pad>`` or ``<unk>``.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gazer.apps.wordpredict.data import PAD_ID, UNK_ID, WIDTH, Vocabulary, clean_token
from gazer.ml.torchnet import LazyNet, cpu_state

ARCHS = ("baseline", "gazer")


@dataclasses.dataclass(frozen=True)
class NetConfig:
    arch: str = "gazer"
    vocab_size: int = 1000
    dim: int = 256
    heads: int = 4
    ff: int = 512
    layers: int = 2
    dropout: float = 0.1

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise ValueError(f"arch must be one of {', '.join(ARCHS)}; got {self.arch!r}")
        if self.dim % self.heads:
            raise ValueError(f"dim {self.dim} must be divisible by heads {self.heads}")


def build_net(config: NetConfig) -> Any:
    """The ``torch.nn.Module`` for ``config.arch``: ids (N, 6) → logits (N, vocab)."""
    import torch
    import torch.nn as nn

    class BaselineNet(nn.Module):
        def __init__(self, c: NetConfig) -> None:
            super().__init__()
            self.embed = nn.Embedding(c.vocab_size, c.dim)
            self.position = nn.Embedding(WIDTH, c.dim)
            layer = nn.TransformerEncoderLayer(c.dim, c.heads, c.ff, c.dropout, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, c.layers, enable_nested_tensor=False)
            self.out = nn.Linear(c.dim, c.vocab_size)
            self.register_buffer("positions", torch.arange(WIDTH), persistent=False)

        def forward(self, x: Any) -> Any:
            h = self.embed(x) + self.position(self.positions)    # (N, 6, dim)
            return self.out(self.encoder(h).sum(dim=1))          # (N, vocab)

    class GazerNet(nn.Module):
        def __init__(self, c: NetConfig) -> None:
            super().__init__()
            self.embed = nn.Embedding(c.vocab_size, c.dim)
            self.mask = nn.Parameter(torch.zeros(1, 1, c.dim))
            self.position = nn.Parameter(torch.zeros(1, WIDTH + 1, c.dim))
            self.layers = nn.ModuleList(
                nn.TransformerEncoderLayer(c.dim, c.heads, c.ff, c.dropout, batch_first=True,
                                           norm_first=True, activation="gelu")
                for _ in range(c.layers))
            self.norm = nn.LayerNorm(c.dim)
            self.bias = nn.Parameter(torch.zeros(c.vocab_size))
            nn.init.normal_(self.embed.weight, std=c.dim ** -0.5)
            nn.init.normal_(self.position, std=0.02)

        def forward(self, x: Any) -> Any:
            e = self.embed(x)                                    # (N, 6, dim)
            mask = self.mask.expand(len(x), 1, -1)
            h = torch.cat([e[:, :3], mask, e[:, 3:]], dim=1) + self.position  # (N, 7, dim)
            for layer in self.layers[:-1]:
                h = layer(h)
            centre = self._last(self.layers[-1], h)              # (N, 1, dim)
            return self.norm(centre[:, 0]) @ self.embed.weight.T + self.bias  # (N, vocab)

        @staticmethod
        def _last(layer: Any, h: Any) -> Any:
            """The last pre-norm layer for the centre query only: the other positions'
            outputs are never read, so their attention and feed-forward are skipped."""
            normed = layer.norm1(h)
            query = normed[:, 3:4]
            attended = layer.self_attn(query, normed, normed, need_weights=False)[0]
            centre = h[:, 3:4] + layer.dropout1(attended)
            grown = layer.linear2(layer.dropout(layer.activation(layer.linear1(
                layer.norm2(centre)))))
            return centre + layer.dropout2(grown)

    return (BaselineNet if config.arch == "baseline" else GazerNet)(config)


def baseline_parameter_count(vocab_size: int, dim: int = 256, ff: int = 512,
                             layers: int = 2) -> int:
    """The baseline's parameters by formula (the number of heads does not change it)."""
    attention = 3 * dim * dim + 3 * dim + dim * dim + dim
    feed_forward = dim * ff + ff + ff * dim + dim
    norms = 2 * 2 * dim
    return (vocab_size * dim + WIDTH * dim + layers * (attention + feed_forward + norms)
            + dim * vocab_size + vocab_size)


def count_parameters(net: Any) -> int:
    return int(sum(p.numel() for p in net.parameters()))


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    epochs: int = 4
    batch_size: int = 2048
    lr: float = 1e-3
    patience: int = 2
    seed: int = 0
    label_smoothing: float = 0.0
    time_budget_s: float = 0.0  # stop after the epoch that crosses it; 0 = no budget


def train_config_for(arch: str, **overrides: Any) -> TrainConfig:
    """The reference's settings for ``baseline``; ours for ``gazer`` (smoothing, higher lr)."""
    base = TrainConfig() if arch == "baseline" else TrainConfig(lr=2e-3, label_smoothing=0.1)
    return dataclasses.replace(base, **{k: v for k, v in overrides.items() if v is not None})


def _device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def evaluate_arrays(net: Any, x: np.ndarray, y: np.ndarray, batch: int = 4096
                    ) -> dict[str, Any]:
    """Mean loss, top-1 and top-5 accuracy, and each sample's hit (for frequency bands)."""
    import torch
    import torch.nn.functional as F

    device = next(net.parameters()).device
    net.eval()
    total, hits1, hits5 = 0.0, [], []
    with torch.inference_mode():
        for start in range(0, len(x), batch):
            xb = torch.from_numpy(x[start:start + batch].astype(np.int64)).to(device)
            yb = torch.from_numpy(y[start:start + batch].astype(np.int64)).to(device)
            logits = net(xb)
            total += F.cross_entropy(logits, yb, reduction="sum").item()
            top5 = logits.topk(min(5, logits.shape[1]), dim=1).indices
            hits1.append((top5[:, 0] == yb).cpu().numpy())
            hits5.append((top5 == yb[:, None]).any(dim=1).cpu().numpy())
    hit1 = np.concatenate(hits1) if hits1 else np.zeros(0, bool)
    hit5 = np.concatenate(hits5) if hits5 else np.zeros(0, bool)
    n = max(len(y), 1)
    return {"loss": total / n, "accuracy": float(hit1.mean()) if len(hit1) else 0.0,
            "top5": float(hit5.mean()) if len(hit5) else 0.0, "hits": hit1}


def train_net(
    config: NetConfig, train: TrainConfig, x_train: np.ndarray, y_train: np.ndarray,
    x_val: np.ndarray, y_val: np.ndarray, *,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
    checkpoints: Path | None = None,
) -> tuple[dict[str, Any], list[dict[str, float]]]:
    """Train with early stopping on validation loss; the best epoch's CPU state and history.

    ``baseline`` uses Adam on summed cross-entropy (the reference's); ``gazer`` uses AdamW on
    mean cross-entropy with label smoothing and a warm-up + cosine schedule.
    """
    import torch
    import torch.nn.functional as F

    torch.manual_seed(train.seed)
    device = _device()
    net = build_net(config).to(device)
    steps_per_epoch = max(1, math.ceil(len(x_train) / train.batch_size))
    if config.arch == "baseline":
        opt: Any = torch.optim.Adam(net.parameters(), lr=train.lr)
        sched = None
        reduction = "sum"
    else:
        opt = torch.optim.AdamW(net.parameters(), lr=train.lr, weight_decay=0.01)
        total_steps = steps_per_epoch * train.epochs
        warmup = max(1, min(total_steps // 10, 500))

        def shape(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            progress = (step - warmup) / max(1, total_steps - warmup)
            return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))

        sched = torch.optim.lr_scheduler.LambdaLR(opt, shape)
        reduction = "mean"
    xt = torch.from_numpy(x_train.astype(np.int64))
    yt = torch.from_numpy(y_train.astype(np.int64))
    gen = torch.Generator().manual_seed(train.seed)
    best: tuple[float, dict[str, Any]] = (float("inf"), cpu_state(net))
    history: list[dict[str, float]] = []
    waited = 0
    started_all = time.perf_counter()
    for epoch in range(train.epochs):
        started, total, seen = time.perf_counter(), 0.0, 0
        net.train()
        for idx in torch.randperm(len(xt), generator=gen).split(train.batch_size):
            xb, yb = xt[idx].to(device), yt[idx].to(device)
            loss = F.cross_entropy(net(xb), yb, reduction=reduction,
                                   label_smoothing=train.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            per_token = loss.item() / len(idx) if reduction == "sum" else loss.item()
            total, seen = total + per_token * len(idx), seen + len(idx)
        train_s = time.perf_counter() - started
        val = evaluate_arrays(net, x_val, y_val)
        row = {"train_loss": total / max(seen, 1), "val_loss": val["loss"],
               "val_accuracy": val["accuracy"], "val_top5": val["top5"], "epoch_s": train_s,
               "tokens_per_s": seen / max(train_s, 1e-9)}
        history.append(row)
        if checkpoints is not None:
            checkpoints.mkdir(parents=True, exist_ok=True)
            torch.save({"epoch": epoch, "config": dataclasses.asdict(config),
                        "state": net.state_dict(), "metrics": row},
                       checkpoints / f"epoch-{epoch + 1:03d}.pt")
        if on_epoch is not None:
            on_epoch(epoch, row)
        if val["loss"] < best[0]:
            best, waited = (val["loss"], cpu_state(net)), 0
        else:
            waited += 1
            if waited >= train.patience:
                break
        if train.time_budget_s and time.perf_counter() - started_all >= train.time_budget_s:
            break
    return best[1], history



MAX_WORD_CHARS = 60
MAX_TOP_K = 50  # the candidates served: ``top_words`` / ``top_probabilities`` per row


class WordPredictor(LazyNet):
    """3 words before + 3 after → the missing word; the served model.

    ``predict`` takes an (N, 6) array of words and returns N words; ``predict_proba`` the
    distribution over the vocabulary with ``<pad>`` and ``<unk>`` at zero; ``top_k`` words
    with probabilities. Served, its outputs are ``predict``, ``probabilities``, and the
    ``MAX_TOP_K`` likeliest words per row, likeliest first, as ``top_words`` (N, k) with
    ``top_probabilities`` (N, k), all from one forward pass (``predict_outputs``).
    """

    output_names = ("predict", "probabilities", "top_words", "top_probabilities")

    def __init__(self, config: NetConfig, state: dict[str, Any], vocab: Vocabulary,
                 metrics: dict[str, float] | None = None) -> None:
        self.config = config
        self.state = state
        self.vocab = vocab
        self.metrics = dict(metrics or {})

    def build(self) -> Any:
        return build_net(self.config)

    @property
    def labels(self) -> dict[str, int]:
        """The words it can answer: feedback naming another word is refused."""
        return self.vocab.index

    def encode(self, rows: Any) -> np.ndarray:
        """Words (N, 6) → ids, cleaned like the training text; unknown words are ``<unk>``."""
        array = np.asarray(rows, dtype=object)
        if array.ndim == 1 and len(array) == WIDTH:
            array = array.reshape(1, WIDTH)
        if array.ndim != 2 or array.shape[1] != WIDTH:
            raise ValueError(f"expected rows of {WIDTH} words (3 before, 3 after); "
                             f"got shape {list(array.shape)}")
        return np.array([[self.vocab.index.get(clean_token(_text(w)) or _text(w), UNK_ID)
                          for w in row] for row in array], dtype=np.int64)

    def predict_proba(self, rows: Any) -> np.ndarray:
        import torch

        ids = torch.from_numpy(self.encode(rows))
        with torch.inference_mode():
            logits = self.net()(ids)
            logits[:, PAD_ID] = float("-inf")
            logits[:, UNK_ID] = float("-inf")
            return torch.softmax(logits, dim=1).numpy()

    def predict(self, rows: Any) -> np.ndarray:
        return self._words(self.predict_proba(rows).argmax(axis=1))

    def top_k(self, rows: Any, k: int = 5) -> list[list[tuple[str, float]]]:
        probs = self.predict_proba(rows)
        order = self._top(probs, k)
        return [[(self.vocab.tokens[i], float(p[i])) for i in row]
                for row, p in zip(order, probs, strict=True)]

    def predict_outputs(self, rows: Any, wanted: set[str]) -> dict[str, np.ndarray]:
        """The ``output_names`` in ``wanted``, from one ``predict_proba``."""
        probs = self.predict_proba(rows)
        out: dict[str, np.ndarray] = {}
        if "predict" in wanted:
            out["predict"] = self._words(probs.argmax(axis=1))
        if "probabilities" in wanted:
            out["probabilities"] = probs
        if wanted & {"top_words", "top_probabilities"}:
            order = self._top(probs, MAX_TOP_K)
            out["top_words"] = self._words(order)
            out["top_probabilities"] = np.take_along_axis(probs, order, axis=1)
        return out

    def _top(self, probs: np.ndarray, k: int) -> np.ndarray:
        """Each row's ``k`` likeliest ids, likeliest first (ties by id); never pad/unk."""
        k = max(1, min(k, len(self.vocab) - 2))
        return np.argsort(-probs[:, 2:], axis=1, kind="stable")[:, :k] + 2

    def _words(self, ids: np.ndarray) -> np.ndarray:
        words = np.empty(ids.size, dtype=object)
        words[:] = [self.vocab.tokens[i] for i in ids.reshape(-1)]
        return words.reshape(ids.shape)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def check_words(words: Sequence[str]) -> list[str]:
    """Problems with one request's words, as messages (empty when the words are fine)."""
    problems = []
    if len(words) != WIDTH:
        problems.append(f"expected exactly {WIDTH} words (3 before and 3 after the hidden "
                        f"word); got {len(words)}")
    for i, word in enumerate(words):
        if not str(word).strip():
            problems.append(f"word {i + 1} is empty; expected a word")
        elif len(str(word)) > MAX_WORD_CHARS:
            problems.append(f"word {i + 1} has {len(str(word))} characters; expected at most "
                            f"{MAX_WORD_CHARS}")
    return problems
