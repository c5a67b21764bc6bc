"""Studies for the deep and bidirectional chapter (book/09_deep.ipynb): the float64 torch.nn.RNN
mirror of a DeepRNNParams, shortest paths in the unrolled graph, the future-copy task that needs a
bidirectional model, and the problems of the chapter's exercises (their checkers are in
``bptt.present.deep_exercises``). torch is imported only inside the torch helpers.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.deep import DeepRNNParams, deep_forward, deep_loss_and_grads
from ..core.optim import Adam
from ..core.validation import positive_int


# --------------------------------------------------------------------------- torch mirror
def to_torch(params: DeepRNNParams, nonlinearity: str = "tanh") -> Any:
    """A float64 ``torch.nn.RNN`` holding ``params``' cells: weight_ih = U, weight_hh = W, bias_ih = b,
    bias_hh = 0 (torch keeps two biases per cell; the book keeps one)."""
    import torch

    rnn = torch.nn.RNN(params.n_in, params.n_hidden, num_layers=params.n_layers,
                       bidirectional=params.bidirectional, nonlinearity=nonlinearity, dtype=torch.float64)
    with torch.no_grad():
        for l, layer in enumerate(params.cells):
            for d, cell in enumerate(layer):
                sfx = f"_l{l}" + ("_reverse" if d else "")
                for name, value in (("weight_ih", cell.U), ("weight_hh", cell.W), ("bias_ih", cell.b)):
                    getattr(rnn, name + sfx).copy_(torch.from_numpy(value))
                getattr(rnn, "bias_hh" + sfx).zero_()
    return rnn


def torch_loss_and_grads(params: DeepRNNParams, xs: np.ndarray, ys: np.ndarray, nonlinearity: str = "tanh"
                         ) -> tuple[float, list[np.ndarray]]:
    """The loss and its gradients from ``to_torch`` plus a linear head (V, c), by torch.autograd.
    Returns (loss, grads) with grads in the order of ``params.arrays()``."""
    import torch
    import torch.nn.functional as F

    rnn = to_torch(params, nonlinearity)
    V, c = (torch.tensor(a, requires_grad=True) for a in (params.V, params.c))
    tops, _ = rnn(torch.as_tensor(xs, dtype=torch.float64))
    logits, y = tops @ V.T + c, torch.as_tensor(ys)
    loss = sum(F.cross_entropy(logits[t], y[t]) for t in range(len(y)))
    loss.backward()
    cells = [getattr(rnn, f"{name}_l{l}" + ("_reverse" if d else "")).grad.numpy()
             for l in range(params.n_layers) for d in range(params.n_dir)
             for name in ("weight_ih", "weight_hh", "bias_ih")]
    return loss.item(), cells + [V.grad.numpy(), c.grad.numpy()]


# --------------------------------------------------------------------------- paths in the unrolled graph
def unrolled_graph(n_layers: int, T: int, bidirectional: bool) -> dict[tuple, list[tuple]]:
    """The unrolled network as a directed graph: nodes ("x", t), ("h", l, d, t), ("o", t) for math steps
    t = 1..T and layers l = 1..N; an edge for every weight matrix that carries a signal (U, W, V)."""
    dirs = (0, 1) if bidirectional else (0,)
    edges: dict[tuple, list[tuple]] = {}
    for t in range(1, T + 1):
        for l in range(1, n_layers + 1):
            for d in dirs:
                node = ("h", l, d, t)
                nxt = t + 1 if d == 0 else t - 1
                out = [("h", l, d, nxt)] if 1 <= nxt <= T else []                       # W
                out += [("h", l + 1, e, t) for e in dirs] if l < n_layers else [("o", t)]  # U or V
                edges[node] = out
        edges[("x", t)] = [("h", 1, d, t) for d in dirs]
        edges[("o", t)] = []
    return edges


def shortest_paths(edges: dict[tuple, list[tuple]], source: tuple, target: tuple) -> tuple[float, int]:
    """(length, count) of the shortest paths from ``source`` to ``target`` by breadth-first search;
    (inf, 0) when there is no path. Length = the number of weight matrices on the path."""
    dist, count = {source: 0}, {source: 1}
    queue = deque([source])
    while queue:
        node = queue.popleft()
        for nxt in edges[node]:
            if nxt not in dist:
                dist[nxt], count[nxt] = dist[node] + 1, 0
                queue.append(nxt)
            if dist[nxt] == dist[node] + 1:
                count[nxt] += count[node]
    return (dist[target], count[target]) if target in dist else (math.inf, 0)


def layer_and_lag_profiles(G: np.ndarray, direction: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """From G (T, N, n_dir, T) of ``deep_gradient_norms``: geometric means over loss terms t of
    ||dL_t/dh^{(l)}_t|| for l = N, N-1, .., 1 (down the layers at the same step) and of
    ||dL_t/dh^{(N)}_{t-j}|| for j = 0, .., N-1 (back in time in the top layer), both (N,), forward direction."""
    T, N = G.shape[0], G.shape[1]
    down = np.array([np.exp(np.mean(np.log(G[np.arange(T), N - 1 - j, direction, np.arange(T)])))
                     for j in range(N)])
    back = np.array([np.exp(np.mean(np.log(G[np.arange(j, T), N - 1, direction, np.arange(T - j)])))
                     for j in range(N)])
    return down, back


# --------------------------------------------------------------------------- a task that needs the future
def future_task(T: int, B: int, K: int, delay: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random symbols in [0, K), one-hot: xs (T, B, K). The label at step t is the input ``delay`` steps
    later, y_t = x_{t+delay}, and the last input x_T for the final ``delay`` steps: ys (T, B)."""
    symbols = rng.integers(0, K, size=(T, B))
    later = np.minimum(np.arange(T) + delay, T - 1)
    return np.eye(K)[symbols], symbols[later]


@dataclass
class FutureResult:
    """n_layers, bidirectional, the trained params, the loss per training step (steps,) and the test
    accuracy per step (T,); ``accuracy`` is the mean over the steps whose label lies in the future."""

    n_layers: int
    bidirectional: bool
    params: DeepRNNParams
    losses: np.ndarray
    step_accuracy: np.ndarray
    accuracy: float


def train_future(n_layers: int, bidirectional: bool, *, T: int = 12, K: int = 4, delay: int = 3,
                 steps: int = 300, hidden: int = 16, batch: int = 32, lr: float = 1e-2, seed: int = 0,
                 n_test: int = 1000) -> FutureResult:
    """Train a deep (bi)RNN on ``future_task`` with Adam on fresh batches; test on ``n_test`` new
    sequences. Deterministic given ``seed``."""
    for name, v in (("T", T), ("K", K), ("delay", delay), ("steps", steps), ("n_test", n_test)):
        positive_int(v, name)
    if delay >= T:
        raise ValueError(f"delay must be < T = {T}, got {delay}")
    rng = np.random.default_rng(seed)
    params = DeepRNNParams.random(K, hidden, K, n_layers=n_layers, bidirectional=bidirectional, seed=seed)
    opt, losses = Adam(lr=lr, max_norm=1.0), np.empty(steps)
    for s in range(steps):
        losses[s], grads = deep_loss_and_grads(params, *future_task(T, batch, K, delay, rng))
        params = opt.step(params, grads)
    xs, ys = future_task(T, n_test, K, delay, np.random.default_rng(10_000 + seed))
    step_acc = (deep_forward(params, xs)[1].argmax(-1) == ys).mean(axis=1)
    return FutureResult(n_layers, bidirectional, params, losses, step_acc, float(step_acc[:T - delay].mean()))


# --------------------------------------------------------------------------- exercises
def exercise_problem() -> tuple[DeepRNNParams, np.ndarray, np.ndarray]:
    """A 2-layer bidirectional tanh RNN (D = 3, H = 5, K = 4) with nonzero biases, xs (7, 2, 3), ys (7, 2)."""
    rng = np.random.default_rng(2026)
    params = DeepRNNParams.random(3, 5, 4, n_layers=2, bidirectional=True, seed=9)
    params = params.map(lambda a: a + 0.2 * rng.normal(size=a.shape))
    return params, rng.normal(size=(7, 2, 3)), rng.integers(0, 4, size=(7, 2))


def budget_hidden(n_in: int, n_out: int, n_layers: int, forward_hidden: int) -> int:
    """The largest H for which a bidirectional model (n_in, H, n_out, n_layers) has no more parameters than a
    forward-only one of ``forward_hidden`` units (same n_in, n_out, n_layers)."""
    budget = DeepRNNParams.random(n_in, forward_hidden, n_out, n_layers=n_layers).n_params
    H = 1
    while DeepRNNParams.random(n_in, H + 1, n_out, n_layers=n_layers, bidirectional=True).n_params <= budget:
        H += 1
    return H


def count_shortest_paths(N: int, t: int, k: int) -> int:
    """The number of shortest paths from x_k to o_t in an N-layer forward RNN (exercise deep-2)."""
    return shortest_paths(unrolled_graph(N, max(t, k), False), ("x", k), ("o", t))[1]
