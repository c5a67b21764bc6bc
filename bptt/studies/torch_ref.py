"""The library's RNN rebuilt with PyTorch, so that autograd can be checked against ``bptt.loss_and_grads``.

``TorchRNN`` holds the same five parameters as ``bptt.RNNParams`` (eq-fwd-a .. eq-fwd-o; Goodfellow eqs. 10.8-10.11):
a_t = U x_t + W h_{t-1} + b, h_t = f(a_t), o_t = V h_t + c. Its ``unroll`` is an explicit loop over time
in which truncation is a change to the *graph*, never to the values:

* detach every k:  ``h = h.detach()`` on the state entering step t when t is a positive multiple of k;
* randomized:      ``h = xi[t] * h + (1 - xi[t]) * h.detach()`` on the state entering step t >= 1 (the
                   value is unchanged, the gradient flowing back into it is multiplied by xi[t]);
* window k:        L_t is recomputed from the detached state entering step t-k+1, so it sends gradient only
                   to steps t-k+1 .. t.

Steps are 0-based as in the library: xs[t] is step t, hs[t] the state entering it, hs[t+1] its output.
Besides the model: the autograd reference the test suite and the chapters check the numpy library against
(``loss_and_grads``, ``forward``, ``gradient_map``), the graph inspection used in
the chapter (``graph_stats``), per-step gradient norms by ``retain_grad`` (``state_gradient_norms``,
``per_term_grad_norms``) (the chapter's exercise checkers are in ``bptt.present.pytorch_exercises``).
This module, ``bptt.studies.charlm`` and (inside its torch helpers) ``bptt.studies.deep_study`` are the only
ones in the library that import torch.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray
import torch.nn.functional as F
from torch import nn

from ..core.validation import ACTIVATIONS, METHODS, choice
from ..core.backward import truncation_options
from ..core.truncation import carry_multipliers
from ..core.params import RNNParams, array_size
from ..core.rnn import check_inputs, check_labels

TORCH_ACTIVATIONS = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu, "identity": lambda a: a}
PARAM_NAMES = ("U", "W", "V", "b", "c")


class TorchRNN(nn.Module):
    """h_t = f(U x_t + W h_{t-1} + b), o_t = V h_t + c as a torch module (parameters U (H, D), W (H, H),
    V (K, H), b (H,), c (K,), named and shaped exactly as in ``bptt.RNNParams``)."""

    def __init__(self, n_in: int, n_hidden: int, n_out: int, *, activation: str = "tanh",
                 dtype: torch.dtype = torch.float64, seed: int = 0, scale: float | None = None) -> None:
        super().__init__()
        p = RNNParams.random(n_in, n_hidden, n_out, seed=seed, scale=scale)
        self.activation = choice(activation, "activation", ACTIVATIONS)
        for name in PARAM_NAMES:
            setattr(self, name, nn.Parameter(torch.as_tensor(getattr(p, name), dtype=dtype)))

    @classmethod
    def from_params(cls, params: RNNParams, *, activation: str = "tanh",
                    dtype: torch.dtype = torch.float64) -> "TorchRNN":
        """A module whose parameters are copies of ``params`` (float64 by default, so it matches to round-off)."""
        if not isinstance(params, RNNParams):
            raise ValueError(f"params must be a bptt.RNNParams, got {type(params).__name__}")
        model = cls(params.n_in, params.n_hidden, params.n_out, activation=activation, dtype=dtype)
        with torch.no_grad():
            for name in PARAM_NAMES:
                getattr(model, name).copy_(torch.as_tensor(getattr(params, name), dtype=dtype))
        return model

    @property
    def dtype(self) -> torch.dtype:
        return self.W.dtype

    n_hidden = array_size("W", 0, "H, the number of hidden units.")

    def to_params(self) -> RNNParams:
        """The current parameter values as a float64 ``RNNParams``."""
        return RNNParams(*(getattr(self, n).detach().double().cpu().numpy() for n in PARAM_NAMES))

    def grads(self) -> RNNParams:
        """The ``.grad`` of each parameter as an ``RNNParams`` (zeros where no gradient arrived)."""
        return RNNParams(*((getattr(self, n).grad if getattr(self, n).grad is not None
                            else torch.zeros_like(getattr(self, n))).detach().double().cpu().numpy()
                           for n in PARAM_NAMES))

    def unroll(self, xs: torch.Tensor, h0: torch.Tensor | None = None, *, detach_every: int | None = None,
               xi: Sequence[float] | np.ndarray | None = None, t0: int = 0
               ) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Run the recurrence over xs: (T, B, D), starting from h0: (B, H) (zeros if None).

        detach_every / xi modify the graph of the state entering each step (see the module docstring);
        t0 is the absolute index of xs[0], so a slice of a longer sequence gets the same modifications.
        xi is indexed by absolute step. Returns (hs, logits): hs is a list of T+1 tensors (B, H) whose
        hs[t+1] is the graph node computed at step t (``retain_grad`` on them shows where gradient
        arrives), and logits: (T, B, K) with logits[t] = V hs[t+1] + c.
        """
        if xs.ndim != 3 or xs.shape[-1] != self.U.shape[1]:
            raise ValueError(f"xs must have shape (T, B, D) with D = {self.U.shape[1]}, got {tuple(xs.shape)}")
        T, B, _ = xs.shape
        f = TORCH_ACTIVATIONS[self.activation]
        # the input projections of all steps in one 2-D product (a 3-D one has a slow backward on the CPU)
        pre = (xs.reshape(T * B, -1) @ self.U.T + self.b).reshape(T, B, -1).unbind(0)  # one backward node, not T
        h = torch.zeros(B, self.n_hidden, dtype=xs.dtype, device=xs.device) if h0 is None else h0
        hs = [h]
        for s in range(T):
            t = t0 + s
            if s > 0 and detach_every is not None and t % detach_every == 0:
                h = h.detach()
            if s > 0 and xi is not None and t > 0:
                x_t = float(xi[t])
                if x_t == 0.0:
                    h = h.detach()
                elif x_t != 1.0:
                    h = x_t * h + (1.0 - x_t) * h.detach()
            h = f(pre[s] + h @ self.W.T)
            hs.append(h)
        logits = torch.stack(hs[1:]) @ self.V.T + self.c
        return hs, logits


def sequence_loss(logits: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    """L = sum_t mean_b CE(softmax(o_t), y_t), the library's loss. logits: (T, B, K), ys: (T, B) long."""
    T, B, K = logits.shape
    return F.cross_entropy(logits.reshape(T * B, K), ys.reshape(T * B), reduction="sum") / B


def _as_tensor(a: Any, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, dtype=np.float64), dtype=dtype)


def loss_and_grads(params: RNNParams, xs: ArrayLike, ys: ArrayLike, h0: ArrayLike | None = None, *,
                   activation: str = "tanh", method: str = "bptt", window: int | None = None,
                   detach_every: int | None = None, xi: ArrayLike | None = None) -> tuple[float, RNNParams]:
    """``bptt.loss_and_grads`` by torch.autograd in float64, with the same signature and semantics (the
    reference the test suite checks the library against).

    xs: (T, B, D), ys: (T, B) int in [0, K), h0: (B, H) or None. method "bptt" and "naive" build the same
    graph (autograd has one way to sum the paths); window, detach_every and the randomized factors xi (T,)
    (from ``bptt.draw_xi``) change the graph, never the values. Returns (loss, grads as RNNParams).
    """
    choice(method, "method", METHODS)
    choice(activation, "activation", ACTIVATIONS)
    xs_np, h0_np = check_inputs(params, xs, h0)
    ys_np = check_labels(params, xs_np, ys)
    T = xs_np.shape[0]
    window, _ = truncation_options(T, window, detach_every, xi)     # checks all three
    xi = None if xi is None else carry_multipliers(T, xi=xi)       # as a float64 (T,) array
    model = TorchRNN.from_params(params, activation=activation)
    x, y, h_init = _as_tensor(xs_np), torch.as_tensor(ys_np, dtype=torch.long), _as_tensor(h0_np)
    hs, logits = model.unroll(x, h_init, detach_every=detach_every, xi=xi)
    loss = sequence_loss(logits, y)
    if window is None or window >= T:
        loss.backward()
    else:
        B = x.shape[1]
        for t in range(T):          # L_t from the detached state entering step t-window+1
            start = max(0, t - window + 1)
            _, lg = model.unroll(x[start:t + 1], hs[start].detach(), detach_every=detach_every, xi=xi, t0=start)
            (F.cross_entropy(lg[-1], y[t], reduction="sum") / B).backward()
    return float(loss.detach()), model.grads()


def forward(params: RNNParams, xs: ArrayLike, h0: ArrayLike | None = None, *, activation: str = "tanh"
            ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``bptt.forward`` by the torch module: (hs (T+1, B, H), logits (T, B, K)) as float64 arrays."""
    xs_np, h0_np = check_inputs(params, xs, h0)
    with torch.no_grad():
        hs, logits = TorchRNN.from_params(params, activation=activation).unroll(_as_tensor(xs_np), _as_tensor(h0_np))
    return torch.stack(hs).numpy(), logits.numpy()


# --------------------------------------------------------------------------- looking at the graph
@dataclass(frozen=True)
class GraphStats:
    """What ``loss.backward()`` would walk: the nodes reachable through ``grad_fn.next_functions``."""

    n_nodes: int          # distinct backward nodes
    depth: int            # nodes on the longest path from the loss to a leaf
    steps: int            # activation nodes (one per time step the loss reaches), e.g. TanhBackward0
    kinds: dict[str, int]  # node type name -> count


def graph_stats(tensor: torch.Tensor, step_node: str = "TanhBackward0") -> GraphStats:
    """Walk the autograd graph below ``tensor`` (iteratively, so long graphs are fine). ``step_node`` is the
    node type counted as one time step (the activation's backward)."""
    if not isinstance(tensor, torch.Tensor) or tensor.grad_fn is None:
        raise ValueError("graph_stats needs a tensor with a grad_fn (the output of a computation that requires grad)")
    root = tensor.grad_fn
    depth: dict[Any, int] = {}
    kinds: Counter[str] = Counter()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:                      # post-order DFS: a node's depth is known after its children's
        node, expanded = stack.pop()
        if node in depth:
            continue
        children = [n for n, _ in node.next_functions if n is not None]
        if expanded:
            depth[node] = 1 + max((depth[c] for c in children), default=0)
            kinds[type(node).__name__] += 1
        else:
            stack.append((node, True))
            stack.extend((c, False) for c in children if c not in depth)
    return GraphStats(n_nodes=len(depth), depth=depth[root], steps=kinds.get(step_node, 0), kinds=dict(kinds))


def _retained_unroll(params: RNNParams, xs: ArrayLike, ys: ArrayLike, h0: ArrayLike | None, activation: str,
                     detach_every: int | None, xi: ArrayLike | None
                     ) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]:
    """Unroll the module on checked inputs with ``retain_grad`` on every state: (hs[1:], logits, ys)."""
    xs_np, h0_np = check_inputs(params, xs, h0)
    y = torch.as_tensor(check_labels(params, xs_np, ys), dtype=torch.long)
    model = TorchRNN.from_params(params, activation=activation)
    hs, logits = model.unroll(_as_tensor(xs_np), _as_tensor(h0_np), detach_every=detach_every, xi=xi)
    for h in hs[1:]:
        h.retain_grad()
    return hs[1:], logits, y


def state_gradient_norms(params: RNNParams, xs: ArrayLike, ys: ArrayLike, h0: ArrayLike | None = None, *,
                         term: int | None = None, activation: str = "tanh", detach_every: int | None = None,
                         xi: ArrayLike | None = None) -> NDArray[np.float64]:
    """||dL/dhs[k+1]|| for k = 0 .. T-1 by ``retain_grad`` on every state: (T,). L is the loss term L_term
    (0-based) or, if term is None, the total loss. A step the gradient never reaches has norm 0."""
    states, logits, y = _retained_unroll(params, xs, ys, h0, activation, detach_every, xi)
    T = len(y)
    if term is not None and not (isinstance(term, (int, np.integer)) and 0 <= term < T):
        raise ValueError(f"term must be an integer step in [0, T) = [0, {T}) or None, got {term!r}")
    L = sequence_loss(logits, y) if term is None else sequence_loss(logits[term:term + 1], y[term:term + 1])
    return per_term_grad_norms([L], states)[0]


def gradient_map(params: RNNParams, xs: ArrayLike, ys: ArrayLike, h0: ArrayLike | None = None, *,
                 activation: str = "tanh", detach_every: int | None = None,
                 xi: ArrayLike | None = None) -> NDArray[np.float64]:
    """G: (T, T) with G[t, k] = ||dL_t/dhs[k+1]||, one backward pass per loss term onto the retained states;
    the torch counterpart of ``bptt.gradient_norms``."""
    states, logits, y = _retained_unroll(params, xs, ys, h0, activation, detach_every, xi)
    return per_term_grad_norms([sequence_loss(logits[t:t + 1], y[t:t + 1]) for t in range(len(y))], states)


def per_term_grad_norms(terms: Sequence[torch.Tensor], states: Sequence[torch.Tensor]) -> NDArray[np.float64]:
    """G[t, k] = ||d terms[t] / d states[k]|| (Frobenius) by one autograd backward per loss term; the states
    must ``retain_grad``. A state a term does not reach gets 0. Any recurrent model (RNN, LSTM) works."""
    G = np.zeros((len(terms), len(states)))
    for t, term in enumerate(terms):
        for s in states:
            s.grad = None
        term.backward(retain_graph=True)
        G[t] = [0.0 if s.grad is None else float(torch.linalg.norm(s.grad)) for s in states]
    return G
