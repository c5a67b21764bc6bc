"""A long-range memory task and a small numpy trainer (``bptt.Adam``) for the vanilla RNN and the LSTM.

The recall task with delay T: step 0 shows one of K symbols together with a 'remember' marker, steps
1 .. T-2 show random distractor symbols from the same alphabet, step T-1 shows an 'answer now' marker, and the model must output the first symbol at the last step.
Only the last step is scored (per-step weights w = [0, ..., 0, 1]), so the gradient that teaches the
model what to keep has to travel T-1 steps back. Chance accuracy is 1/K.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.validation import choice, positive_int
from ..core.backward import weighted_loss_and_grads
from ..core.optim import Adam
from ..core.params import RNNParams
from ..core.rnn import check_inputs, output_logits, run_hidden, softmax
from ..core import lstm

MODELS = ("rnn", "lstm")


class RecallBatch(tuple):
    """(xs (T, B, K+2), ys (T, B), weights (T,)); a plain tuple with names."""

    @property
    def xs(self) -> np.ndarray:
        return self[0]

    @property
    def ys(self) -> np.ndarray:
        return self[1]

    @property
    def weights(self) -> np.ndarray:
        return self[2]


def recall_task(T: int, B: int, K: int = 4, rng: Any = None) -> RecallBatch:
    """A batch of the recall task. T >= 2 steps, B sequences, K >= 2 symbols; rng: Generator, seed or None.

    xs: (T, B, K+2): channels 0..K-1 one-hot symbols (steps 0 .. T-2), channel K the 'remember' marker
    (on at step 0 only), channel K+1 the 'answer now' marker (on at step T-1 only);
    ys: (T, B) int, the first symbol repeated at every step (only the last one is scored);
    weights: (T,) = [0, ..., 0, 1], to pass as ``weights=`` to the loss functions.
    """
    T, B, K = positive_int(T, "T"), positive_int(B, "B"), positive_int(K, "K")
    if T < 2 or K < 2:
        raise ValueError(f"the recall task needs T >= 2 and K >= 2, got T = {T}, K = {K}")
    rng = np.random.default_rng(rng)
    symbols = rng.integers(0, K, (T, B))
    xs = np.zeros((T, B, K + 2))
    np.put_along_axis(xs[:-1], symbols[:-1, :, None], 1.0, axis=-1)
    xs[0, :, K] = 1.0       # "remember this one"
    xs[-1, :, K + 1] = 1.0  # "answer now"
    ys = np.broadcast_to(symbols[0], (T, B)).copy()
    weights = np.zeros(T)
    weights[-1] = 1.0
    return RecallBatch((xs, ys, weights))


# --------------------------------------------------------------------------- the vanilla RNN, weighted
def init_rnn(n_in: int, n_hidden: int, n_out: int, *, seed: int = 0) -> RNNParams:
    """A vanilla RNN with PyTorch's default initialisation (torch.nn.RNN + nn.Linear):
    U(-1/sqrt(H), 1/sqrt(H)) for U, W, V and b, c = 0 — the same recipe as ``LSTMParams.random``."""
    positive_int(n_in, "n_in"), positive_int(n_out, "n_out")
    a = 1.0 / math.sqrt(positive_int(n_hidden, "n_hidden"))
    rng = np.random.default_rng(seed)
    H = n_hidden
    return RNNParams(U=rng.uniform(-a, a, (H, n_in)), W=rng.uniform(-a, a, (H, H)),
                     V=rng.uniform(-a, a, (n_out, H)), b=rng.uniform(-a, a, H), c=np.zeros(n_out))


# --------------------------------------------------------------------------- training
def predict_last(model: str, params: Any, xs: np.ndarray) -> np.ndarray:
    """Class probabilities at the last step: (B, K)."""
    model = choice(model, "model", MODELS)
    if model == "rnn":
        xs, h0 = check_inputs(params, xs)
        logits = output_logits(params, run_hidden(params, xs, h0, "tanh"))
    else:
        logits = lstm.lstm_forward(params, xs).logits
    return softmax(logits[-1])


@dataclass
class TrainResult:
    """model, T, the trained params, the loss per training step (steps,) and the test accuracy."""

    model: str
    T: int
    params: Any
    losses: np.ndarray
    accuracy: float


def train_recall(model: str, T: int, *, steps: int = 300, batch: int = 32, hidden: int = 32, K: int = 4,
                 lr: float = 1e-2, forget_bias: float = 1.0, seed: int = 0, n_test: int = 1000) -> TrainResult:
    """Train ``model`` ("rnn" or "lstm") on the recall task with delay T for ``steps`` Adam steps on fresh
    batches, then measure last-step accuracy on ``n_test`` new sequences. Deterministic given ``seed``."""
    model = choice(model, "model", MODELS)
    steps = positive_int(steps, "steps")
    rng = np.random.default_rng(seed)
    if model == "rnn":
        params: Any = init_rnn(K + 2, hidden, K, seed=seed)
        fn = lambda p, xs, ys, w: weighted_loss_and_grads(p, xs, ys, weights=w)  # noqa: E731
    else:
        params = lstm.LSTMParams.random(K + 2, hidden, K, seed=seed, forget_bias=forget_bias)
        fn = lambda p, xs, ys, w: lstm.lstm_loss_and_grads(p, xs, ys, weights=w)  # noqa: E731
    opt = Adam(lr=lr, max_norm=1.0)
    losses = np.empty(steps)
    for s in range(steps):
        xs, ys, w = recall_task(T, batch, K, rng)
        losses[s], grads = fn(params, xs, ys, w)
        params = opt.step(params, grads)
    xs, ys, _ = recall_task(T, n_test, K, np.random.default_rng(10_000 + seed))
    acc = float(np.mean(predict_last(model, params, xs).argmax(-1) == ys[-1]))
    return TrainResult(model, T, params, losses, acc)
