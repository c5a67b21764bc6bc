"""Deep (stacked) and bidirectional RNNs, built from the vanilla step and its one BPTT sweep.

Layer l = 1..N, direction d (forward runs t = 1..T, reverse runs t = T..1 over the same inputs):

    a^{(l)}_t = U^{(l)} h^{(l-1)}_t + W^{(l)} h^{(l)}_{t-1} + b^{(l)},   h^{(l)}_t = f(a^{(l)}_t)   (eq-deep-layer)
    a reverse cell uses h^{(l)}_{t+1} instead of h^{(l)}_{t-1}; h^{(0)}_t = x_t, and a layer's output at
    step t is [forward h_t, reverse h_t] (torch.nn.RNN's order);   o_t = V h^{(N)}_t + c.

The reverse direction is the forward recurrence run over time-reversed arrays, so every layer-direction's
backward pass is ``backward_full`` (eq-deep-time) and its input gradient dA @ U goes to the layer below
(eq-deep-up). Shapes: T steps, B batch, D inputs, H hidden units per direction, K classes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .validation import as_labels, as_sequence, as_shaped, positive_int
from .activations import activation_grad
from .params import ParamArrays, array_size, output_weights, recurrent_weights, set_fields
from .backward import backward_full, layer_grads
from .rnn import losses_and_logits_grad, run_hidden

__all__ = ["CellParams", "DeepRNNParams", "deep_forward", "deep_loss_and_grads", "deep_input_grads",
           "deep_gradient_norms", "input_connectivity"]


@dataclass(frozen=True)
class CellParams(ParamArrays):
    """One recurrent layer in one direction: h_t = f(U x_t + W h_{t-1} + b).
    U: (H, D_in), W: (H, H), b: (H,)."""

    U: np.ndarray
    W: np.ndarray
    b: np.ndarray

    def __post_init__(self) -> None:
        U, W = recurrent_weights(self.U, self.W)
        H = U.shape[0]
        set_fields(self, (U, W, as_shaped(self.b, "b", (H,), "(H,)")))

    n_in = array_size("U", 1, "D_in, the width of the cell's input.")
    n_hidden = array_size("U", 0, "H, the number of hidden units.")


def _as_cells(cells: Any) -> list[list[CellParams]]:
    """Check the nested structure of ``cells`` and copy it into new lists."""
    if not isinstance(cells, (list, tuple)) or not cells:
        raise ValueError("cells must be a non-empty list over layers (bottom first) of lists over directions "
                         f"of CellParams, got {type(cells).__name__}" + ("" if cells else " of length 0"))
    out = []
    for l, layer in enumerate(cells):
        if not isinstance(layer, (list, tuple)) or len(layer) not in (1, 2):
            raise ValueError(f"cells[{l}] must be a list of 1 (forward) or 2 (forward, reverse) CellParams, "
                             f"got {type(layer).__name__}" + (f" of length {len(layer)}"
                                                             if isinstance(layer, (list, tuple)) else ""))
        for d, cell in enumerate(layer):
            if not isinstance(cell, CellParams):
                raise ValueError(f"cells[{l}][{d}] must be a CellParams, got {type(cell).__name__}")
        out.append(list(layer))
    return out


@dataclass(frozen=True)
class DeepRNNParams(ParamArrays):
    """A stack of N recurrent layers, each with n_dir = 1 or 2 directions, and a linear output layer.

    cells: list over layers (bottom first) of [forward] or [forward, reverse] CellParams, all with the
    same H; layer 0 reads D_in = D inputs, every higher layer D_in = H * n_dir.
    V: (K, H * n_dir), c: (K,).
    """

    cells: list[list[CellParams]]
    V: np.ndarray
    c: np.ndarray

    def __post_init__(self) -> None:
        cells = _as_cells(self.cells)
        H, n_dir = cells[0][0].n_hidden, len(cells[0])
        for l, layer in enumerate(cells):
            if len(layer) != n_dir:
                raise ValueError(f"every layer must have the same number of directions: layer 0 has {n_dir}, "
                                 f"layer {l} has {len(layer)}")
            for d, cell in enumerate(layer):
                if cell.n_hidden != H:
                    raise ValueError(f"every cell must have the same H = {H} (that of cells[0][0]), "
                                     f"cells[{l}][{d}] has H = {cell.n_hidden}")
                if l > 0 and cell.n_in != H * n_dir:
                    raise ValueError(f"cells[{l}][{d}].U must have shape (H, H * n_dir) = {(H, H * n_dir)} "
                                     f"(the width of layer {l - 1}'s output), got {cell.U.shape}")
            if l == 0 and n_dir == 2 and layer[1].n_in != layer[0].n_in:
                raise ValueError(f"both directions of layer 0 must read the same D inputs: U shapes "
                                 f"{layer[0].U.shape} and {layer[1].U.shape}")
        V = output_weights(self.V, H * n_dir, "H * n_dir")
        set_fields(self, (cells, V, as_shaped(self.c, "c", (V.shape[0],), "(K,)")))

    # sizes ---------------------------------------------------------------
    @property
    def n_layers(self) -> int:
        """N, the number of stacked layers."""
        return len(self.cells)

    @property
    def n_dir(self) -> int:
        """1 (forward only) or 2 (bidirectional)."""
        return len(self.cells[0])

    @property
    def bidirectional(self) -> bool:
        return self.n_dir == 2

    @property
    def n_in(self) -> int:
        """D, the input size."""
        return self.cells[0][0].n_in

    @property
    def n_hidden(self) -> int:
        """H, the hidden units of one layer in one direction."""
        return self.cells[0][0].n_hidden

    n_out = array_size("V", 0, "K, the number of classes.")

    # construction --------------------------------------------------------
    @classmethod
    def random(cls, n_in: int, n_hidden: int, n_out: int, *, n_layers: int = 1, bidirectional: bool = False,
               seed: int = 0) -> "DeepRNNParams":
        """Gaussian weights with standard deviation 1/sqrt(fan-in), zero biases. Seeded."""
        for name, n in (("n_in", n_in), ("n_hidden", n_hidden), ("n_out", n_out)):
            positive_int(n, name)
        positive_int(n_layers, "n_layers")
        if not isinstance(bidirectional, (bool, np.bool_)):
            raise ValueError(f"bidirectional must be True or False, got {bidirectional!r}")
        rng = np.random.default_rng(seed)
        n_dir = 2 if bidirectional else 1

        def gauss(rows: int, cols: int) -> np.ndarray:
            return rng.normal(0.0, 1.0 / np.sqrt(cols), size=(rows, cols))

        cells = [[CellParams(gauss(n_hidden, n_in if l == 0 else n_hidden * n_dir),
                             gauss(n_hidden, n_hidden), np.zeros(n_hidden)) for _ in range(n_dir)]
                 for l in range(n_layers)]
        return cls(cells, gauss(n_out, n_hidden * n_dir), np.zeros(n_out))

    # treating all arrays as one vector ----------------------------------------
    def arrays(self) -> tuple[np.ndarray, ...]:
        """U, W, b of every cell (layer by layer, forward before reverse), then V, c."""
        return tuple(a for layer in self.cells for cell in layer for a in cell) + (self.V, self.c)

    def map(self, fn: Callable[[np.ndarray], np.ndarray]) -> "DeepRNNParams":
        """A new DeepRNNParams with ``fn`` applied to each array."""
        return DeepRNNParams([[cell.map(fn) for cell in layer] for layer in self.cells], fn(self.V), fn(self.c))


# ------------------------------------------------------------------------------------ forward
def check_deep_inputs(params: Any, xs: Any, activation: str) -> np.ndarray:
    """Validate ``params`` (a DeepRNNParams), ``xs`` (T, B, D) and ``activation``; return xs as float64."""
    if not isinstance(params, DeepRNNParams):
        raise ValueError(f"params must be a DeepRNNParams, got {type(params).__name__}")
    activation_grad(activation)
    xs = as_sequence(xs, params.n_in, "U of layer 1", params.cells[0][0].U.shape)
    return xs


def _run(params: DeepRNNParams, xs: np.ndarray, activation: str
         ) -> tuple[list[np.ndarray], list[list[np.ndarray]], np.ndarray]:
    """Forward through every layer. Returns (inputs, states, tops): inputs[l] (T, B, D_in) is layer l's
    input, states[l][d] (T+1, B, H) the states of cell (l, d) in its own time order (reverse: reversed,
    row 0 = the zero initial state), tops (T, B, H * n_dir)."""
    T, B, _ = xs.shape
    h0 = np.zeros((B, params.n_hidden))
    inputs, states, X = [], [], xs
    for layer in params.cells:
        inputs.append(X)
        hs = [run_hidden(cell, X if d == 0 else X[::-1], h0, activation) for d, cell in enumerate(layer)]
        states.append(hs)
        X = np.concatenate([h[1:] if d == 0 else h[:0:-1] for d, h in enumerate(hs)], axis=-1)
    return inputs, states, X


def deep_forward(params: DeepRNNParams, xs: Any, *, activation: str = "tanh") -> tuple[np.ndarray, np.ndarray]:
    """Run the stacked (and possibly bidirectional) RNN from zero initial states (eq-deep-layer).
    xs: (T, B, D). Returns tops: (T, B, H * n_dir), the top layer's outputs, and logits: (T, B, K)."""
    xs = check_deep_inputs(params, xs, activation)
    tops = _run(params, xs, activation)[2]
    return tops, tops @ params.V.T + params.c


# ------------------------------------------------------------------------------------ backward
def _backward(params: DeepRNNParams, inputs: list[np.ndarray], states: list[list[np.ndarray]],
              d_top: np.ndarray, activation: str, dh_out: list | None = None
              ) -> tuple[list[list[CellParams]], np.ndarray]:
    """Back-propagate d_top = dL/d(top outputs) (T, B, H * n_dir) through all layers.

    Each cell runs ``backward_full`` over its own time order (eq-deep-time); its input gradient dA @ U
    (eq-deep-up) is added, back in the layer's time order, to dL/d(output of the layer below).
    Returns the cells' gradients and dL/dxs (T, B, D). If ``dh_out`` is a list, dh_out[l][d] receives
    dL/dh of cell (l, d), (T, B, H) in the layer's (forward) time order.
    """
    grad = activation_grad(activation)
    T, B, _ = d_top.shape
    H, ones = params.n_hidden, np.ones(T)
    cell_grads: list[list[CellParams]] = [[] for _ in params.cells]
    if dh_out is not None:
        dh_out[:] = [[] for _ in params.cells]
    dY = d_top
    for l in range(params.n_layers - 1, -1, -1):
        X, dX = inputs[l], np.zeros_like(inputs[l])
        for d, cell in enumerate(params.cells[l]):
            hs = states[l][d]
            flip = slice(None, None, 1 if d == 0 else -1)               # the cell's own time order
            dH = dY[flip, :, d * H:(d + 1) * H]
            dh = None if dh_out is None else np.empty_like(dH)

            def keep(s: int, dh_s: np.ndarray, da_s: np.ndarray, out: Any = dh) -> None:
                out[s] = dh_s                                           # the sweep's total dL/dh_s

            dA = backward_full(dH, grad(hs[1:]), cell.W, ones,
                               on_step=None if dh is None else keep)     # (eq-deep-time)
            cell_grads[l].append(CellParams(*layer_grads(dA, X[flip], hs[:-1])))
            dX += (dA @ cell.U)[flip]                                   # (eq-deep-up)
            if dh_out is not None:
                dh_out[l].append(dh[flip])
        dY = dX
    return cell_grads, dY


def _loss_backward(params: DeepRNNParams, xs: Any, ys: Any, activation: str
                   ) -> tuple[float, list[list[CellParams]], np.ndarray, np.ndarray, np.ndarray]:
    """Check the inputs, run forward, and back-propagate the loss. Returns (loss, the cells' gradients,
    dL/dxs (T, B, D), dO = dL/do_t (T, B, K), tops (T, B, H * n_dir))."""
    xs = check_deep_inputs(params, xs, activation)
    T, B, _ = xs.shape
    ys = as_labels(ys, T, B, params.n_out)
    inputs, states, tops = _run(params, xs, activation)
    losses, dO = losses_and_logits_grad(tops @ params.V.T + params.c, ys, in_place=True)
    cell_grads, dX = _backward(params, inputs, states, dO @ params.V, activation)
    return float(losses.sum()), cell_grads, dX, dO, tops


def deep_loss_and_grads(params: DeepRNNParams, xs: Any, ys: Any, *, activation: str = "tanh"
                        ) -> tuple[float, DeepRNNParams]:
    """Loss L = sum_t mean_b CE(softmax(o_t), y_t) and its gradient with respect to every parameter.
    xs: (T, B, D) float; ys: (T, B) int in [0, K). Returns (loss, grads), grads a DeepRNNParams of
    the same structure. One layer, one direction: the same numbers as ``loss_and_grads``."""
    loss, cell_grads, _, dO, tops = _loss_backward(params, xs, ys, activation)
    dV, _, dc = layer_grads(dO, tops, None)
    return loss, DeepRNNParams(cell_grads, dV, dc)


def deep_input_grads(params: DeepRNNParams, xs: Any, ys: Any, *, activation: str = "tanh") -> np.ndarray:
    """dL/dxs: (T, B, D), the gradient of the loss of ``deep_loss_and_grads`` with respect to the inputs,
    by the same backward pass (each layer's dA @ U flows to the layer below, eq-deep-up).
    xs: (T, B, D) float; ys: (T, B) int in [0, K)."""
    return _loss_backward(params, xs, ys, activation)[2]


# ------------------------------------------------------------------------------------ diagnostics
def deep_gradient_norms(params: DeepRNNParams, xs: Any, ys: Any, *, activation: str = "tanh") -> np.ndarray:
    """The gradient-flow map over (layer, time) for every loss term and direction.
    xs: (T, B, D), ys: (T, B). Returns G: (T, N, n_dir, T) with G[t, l, d, k] = ||dL_t/dh_k|| of
    layer l+1, direction d, state at step k+1 (0-based), loss term t+1 (Frobenius over batch and units).
    All T terms are back-propagated at once as T separate copies of the batch."""
    xs = check_deep_inputs(params, xs, activation)
    T, B, _ = xs.shape
    ys = as_labels(ys, T, B, params.n_out)
    reps = np.tile(xs, (1, T, 1))                                          # batch row r*B + b: term r
    inputs, states, tops = _run(params, reps, activation)
    _, dO = losses_and_logits_grad(tops @ params.V.T + params.c, np.tile(ys, (1, T)), in_place=True)
    dO *= T                                                                # mean over B rows, not T*B
    keep = (np.arange(T)[:, None] == np.repeat(np.arange(T), B)[None, :])  # (T steps, T*B rows)
    dO *= keep[..., None]
    dh: list = []
    _backward(params, inputs, states, dO @ params.V, activation, dh_out=dh)
    G = np.empty((T, params.n_layers, params.n_dir, T))
    for l, layer in enumerate(dh):
        for d, g in enumerate(layer):                                       # g: (T steps, T*B, H)
            G[:, l, d, :] = np.sqrt(np.einsum("krbh,krbh->rk", g.reshape(T, T, B, -1), g.reshape(T, T, B, -1)))
    return G


def input_connectivity(params: DeepRNNParams, xs: Any, *, activation: str = "tanh") -> np.ndarray:
    """Which inputs reach which outputs: C: (T, T) with C[t, k] = ||do_t/dx_k|| for 0-based steps
    (Frobenius norm of the (K, D) Jacobian, root-sum-square over the batch). xs: (T, B, D).
    A forward RNN gives C[t, k] = 0 for k > t; a bidirectional one fills both sides."""
    xs = check_deep_inputs(params, xs, activation)
    T, B, _ = xs.shape
    K = params.n_out
    reps = np.tile(xs, (1, T * K, 1))                       # row (t*K + i)*B + b: cotangent e_i at step t
    inputs, states, _ = _run(params, reps, activation)
    d_top = np.zeros((T, T * K * B, params.V.shape[1]))
    rows = np.arange(T * K * B).reshape(T, K, B)
    for t in range(T):
        d_top[t, rows[t].ravel()] = np.repeat(params.V, B, axis=0)     # d o_{t,i} / d top_t = V[i]
    _, dX = _backward(params, inputs, states, d_top, activation)      # (T steps k, T*K*B, D)
    J = dX.reshape(T, T, K * B * xs.shape[2])
    return np.sqrt(np.einsum("ktj,ktj->tk", J, J))
