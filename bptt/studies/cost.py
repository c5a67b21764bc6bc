"""What BPTT costs: counted products, measured time and measured memory (chapter 4, "O(T^2) versus O(T)").

Three parts, each the code behind one section of the chapter:

* The notes' linear example (eq-cost-linear): h_t = W h_{t-1} + U x_t, loss l_t = 1/2 ||h_t||^2,
  L = sum_t l_t. ``method1`` back-propagates every loss term on its own through all earlier steps;
  ``method2`` stores dL/dh_t once per step and reuses it (eq-cost-recursion). Both multiply gradients by the
  step Jacobian dh_t/dh_{t-1} = W only through an instrumented ``StepJacobian``, which counts and logs
  every product, so the chapter's counts are measured, not typed in.
* Timing and memory of ``bptt.loss_and_grads`` over T, and a least-squares slope on log-log axes
  (eq-cost-fit). The library's own step-rule calls are counted with its ``on_step`` hook (``bptt.StepCounter``).
* Checkpointing (eq-cost-checkpoint): keep only the state entering every k-th step, recompute each segment
  during the backward sweep; O(T/k + k) stored states for one extra forward pass. The loop is the core's
  ``bptt.loss_and_grads_checkpointed``.

The chapter's figures of the visited (t, k) triangle are in ``bptt.present.figures``.

Math steps are 1-based (h_1 .. h_T, x_1 .. x_T); arrays are 0-based: xs[k-1] = x_k, hs[k] = h_k, hs[0] = h_0.
Rows are batch entries, so ``g @ W`` stands for the row vector g times the Jacobian W.
"""
from __future__ import annotations

import math
import time
import tracemalloc
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

import numpy as np

from ..core.validation import as_float_array, as_shaped, check_shape, nonneg_number, positive_int
from ..core.backward import loss_and_grads, loss_and_grads_checkpointed
from ..core.params import RNNParams

# --------------------------------------------------------------------------- the linear example


class LinearProblem(NamedTuple):
    """The notes' linear RNN. W: (H, H), U: (H, D), xs: (T, B, D), h0: (B, H)."""

    W: np.ndarray
    U: np.ndarray
    xs: np.ndarray
    h0: np.ndarray


class LinearGrads(NamedTuple):
    """Gradients of L = sum_t 1/2 ||h_t||^2. W: (H, H), U: (H, D), h0: (B, H).
    deltas: (T, B, H) with deltas[k-1] = dL/dh_k, the quantity method 2 stores (None for method 1)."""

    W: np.ndarray
    U: np.ndarray
    h0: np.ndarray
    deltas: np.ndarray | None = None


def linear_problem(T: int, *, B: int = 1, D: int = 2, H: int = 3, seed: int = 0, radius: float = 0.9
                   ) -> LinearProblem:
    """A random linear problem whose W has spectral norm ``radius`` (< 1 keeps h_t bounded for any T)."""
    T, B, D, H = (positive_int(v, n) for v, n in ((T, "T"), (B, "B"), (D, "D"), (H, "H")))
    nonneg_number(radius, "radius", strict=True)
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(H, H))
    W *= radius / np.linalg.norm(W, 2)
    return LinearProblem(W=W, U=rng.normal(size=(H, D)) / np.sqrt(D), xs=rng.normal(size=(T, B, D)),
                         h0=rng.normal(size=(B, H)))


def _check_problem(prob: LinearProblem) -> LinearProblem:
    if not isinstance(prob, LinearProblem):
        raise ValueError(f"expected a LinearProblem(W, U, xs, h0), got {type(prob).__name__}")
    W = as_float_array(prob.W, "W", 2)
    H = W.shape[0]
    check_shape(W, "W", (H, H), "(H, H)")
    U = as_float_array(prob.U, "U", 2)
    if U.shape[0] != H:
        raise ValueError(f"U must have shape (H, D) with H = {H}, got {U.shape}")
    xs = as_float_array(prob.xs, "xs", 3)
    if xs.shape[0] < 1 or xs.shape[2] != U.shape[1]:
        raise ValueError(f"xs must have shape (T, B, D) with T >= 1 and D = {U.shape[1]}, got {xs.shape}")
    h0 = as_shaped(prob.h0, "h0", (xs.shape[1], H), "(B, H)")
    return LinearProblem(W, U, xs, h0)


def linear_forward(prob: LinearProblem) -> np.ndarray:
    """Eq. (eq-cost-linear): hs: (T+1, B, H) with hs[0] = h0 and hs[k] = W hs[k-1] + U x_k."""
    W, U, xs, h0 = _check_problem(prob)
    hs = np.empty((len(xs) + 1,) + h0.shape)
    hs[0] = h0
    for k in range(1, len(xs) + 1):
        hs[k] = hs[k - 1] @ W.T + xs[k - 1] @ U.T
    return hs


@dataclass
class StepJacobian:
    """The step Jacobian dh_k/dh_{k-1} = W of the linear RNN, instrumented.

    ``vjp(g, k, terms)`` returns g W (g: (B, H) = the gradient at h_k, a row vector per batch entry), i.e. the
    gradient handed on to h_{k-1}, and records the product: ``calls`` counts them, ``visits`` logs
    (t_first, t_last, k) = the loss terms whose gradient the product carries and the step it crosses.
    """

    W: np.ndarray
    calls: int = 0
    visits: list[tuple[int, int, int]] = field(default_factory=list)

    def vjp(self, g: np.ndarray, k: int, terms: tuple[int, int]) -> np.ndarray:
        """One vector-Jacobian product through step k for the loss terms t_first..t_last (1-based)."""
        self.calls += 1
        self.visits.append((int(terms[0]), int(terms[1]), int(k)))
        return g @ self.W


def _start(prob: LinearProblem) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, StepJacobian]:
    """The checked problem (W, U, xs, h0), its states hs and a fresh instrumented Jacobian."""
    W, U, xs, h0 = _check_problem(prob)
    return W, U, xs, h0, linear_forward(prob), StepJacobian(W)


def method1(prob: LinearProblem, *, per_parameter: bool = False) -> tuple[LinearGrads, StepJacobian]:
    """"Method 1": every loss term l_t is back-propagated on its own, from h_t through h_{t-1}, ..., h_0.

    At each visited step k the term's gradient dl_t/dh_k adds its local share to dW (h_{k-1}) and dU (x_k)
    and is multiplied by the Jacobian once to reach h_{k-1}: t products for term t, T(T+1)/2 in all.
    per_parameter=True repeats every path once for W and once for U (the crudest reading of the notes),
    doubling the count. Returns the gradients and the instrumented Jacobian.
    """
    W, U, xs, h0, hs, jac = _start(prob)
    T = len(xs)
    dW, dU, dh0 = np.zeros_like(W), np.zeros_like(U), np.zeros_like(h0)
    for wanted in (("W", "U"),) if not per_parameter else (("W",), ("U",)):
        for t in range(1, T + 1):
            g = hs[t].copy()                       # dl_t/dh_t = h_t
            for k in range(t, 0, -1):
                if "W" in wanted:
                    dW += g.T @ hs[k - 1]
                if "U" in wanted:
                    dU += g.T @ xs[k - 1]
                g = jac.vjp(g, k, (t, t))          # dl_t/dh_{k-1}
            if "W" in wanted:
                dh0 += g
    return LinearGrads(dW, dU, dh0), jac


def method2(prob: LinearProblem) -> tuple[LinearGrads, StepJacobian]:
    """"Method 2" (BPTT, eq. eq-cost-recursion): one reverse sweep that stores dL/dh_k for every k.

    dL/dh_T = h_T;  dL/dh_k = h_k + (dL/dh_{k+1}) W.  Each step costs one Jacobian product, T in all; the
    stored deltas already hold the sum over every path, so dW and dU are sums of local terms.
    """
    W, U, xs, h0, hs, jac = _start(prob)
    T = len(xs)
    deltas = np.empty((T,) + h0.shape)
    carried = np.zeros_like(h0)                    # (dL/dh_{k+1}) W, nothing beyond step T
    for k in range(T, 0, -1):
        deltas[k - 1] = hs[k] + carried            # dL/dh_k, stored once
        carried = jac.vjp(deltas[k - 1], k, (k, T))
    B, H = h0.shape
    flat = deltas.reshape(T * B, H)
    dW = flat.T @ hs[:-1].reshape(T * B, H)        # sum_k (dL/dh_k)^T h_{k-1}
    dU = flat.T @ xs.reshape(T * B, -1)            # sum_k (dL/dh_k)^T x_k
    return LinearGrads(dW, dU, carried, deltas), jac


def count_products(T: int, method: str, *, per_parameter: bool = False) -> int:
    """Run ``method`` ("method1" or "method2") on a small linear problem of length T and return how many
    Jacobian products it made (measured by ``StepJacobian.calls``)."""
    T = positive_int(T, "T")
    prob = linear_problem(T, B=1, D=1, H=2)
    if method == "method1":
        return method1(prob, per_parameter=per_parameter)[1].calls
    if method == "method2":
        if per_parameter:
            raise ValueError("per_parameter applies to method1 only")
        return method2(prob)[1].calls
    raise ValueError(f"method must be 'method1' or 'method2', got {method!r}")


def visit_grid(visits: list[tuple[int, int, int]], T: int) -> np.ndarray:
    """The (t, k) triangle as an array: grid[t-1, k-1] = the number (1, 2, ...) of the product that carried
    loss term t across step k, NaN where no product did. visits: a ``StepJacobian.visits`` log. -> (T, T)."""
    T = positive_int(T, "T")
    grid = np.full((T, T), np.nan)
    for i, (t_first, t_last, k) in enumerate(visits, start=1):
        if not (1 <= k <= t_first <= t_last <= T):
            raise ValueError(f"a visit must satisfy 1 <= k <= t_first <= t_last <= T = {T}, got {(t_first, t_last, k)}")
        grid[t_first - 1:t_last, k - 1] = i
    return grid


# --------------------------------------------------------------------------- timing and memory


def rnn_problem(T: int, *, B: int = 4, D: int = 4, H: int = 16, K: int = 5, seed: int = 0
                ) -> tuple[RNNParams, np.ndarray, np.ndarray]:
    """A random tanh-RNN problem for timing: params, xs: (T, B, D), ys: (T, B)."""
    T, B, D, H, K = (positive_int(v, n) for v, n in ((T, "T"), (B, "B"), (D, "D"), (H, "H"), (K, "K")))
    rng = np.random.default_rng(seed)
    return RNNParams.random(D, H, K, seed=seed), rng.normal(size=(T, B, D)), rng.integers(0, K, (T, B))


def median_time(fn: Callable[[], Any], repeats: int = 5, clock: Callable[[], float] = time.process_time,
                min_sample: float = 0.01) -> float:
    """Median seconds per call of ``fn()`` over ``repeats`` samples, after one untimed warm-up call.

    Each sample times as many back-to-back calls as it takes to last at least ``min_sample`` seconds (as
    ``timeit`` does), so short calls are not drowned in clock jitter. The default clock is the CPU time of
    this process, so other programs sharing the machine do not inflate the measurement (pass
    ``time.perf_counter`` for wall-clock time)."""
    repeats = positive_int(repeats, "repeats")
    if not (min_sample >= 0):
        raise ValueError(f"min_sample must be a number >= 0 seconds, got {min_sample!r}")
    t0 = clock()
    fn()
    first = clock() - t0
    number = max(1, math.ceil(min_sample / first)) if first > 0 else 100
    times = []
    for _ in range(repeats):
        t0 = clock()
        for _ in range(number):
            fn()
        times.append((clock() - t0) / number)
    return float(np.median(times))


def _gradient_call(method: str, params: RNNParams, xs: np.ndarray, ys: np.ndarray) -> Callable[[], Any]:
    """A no-argument call computing one gradient: ``loss_and_grads(method=...)``, or
    ``loss_and_grads_checkpointed`` for method "checkpoint" (what the sweeps time and measure)."""
    if method == "checkpoint":
        return lambda: loss_and_grads_checkpointed(params, xs, ys)
    return lambda: loss_and_grads(params, xs, ys, method=method)


def time_methods(Ts: Any, *, methods: tuple[str, ...] = ("naive", "bptt"), repeats: int = 5,
                 B: int = 4, D: int = 4, H: int = 16, K: int = 5, seed: int = 0) -> dict[str, np.ndarray]:
    """Median CPU seconds of ``loss_and_grads(method=m)`` for every T in ``Ts``. Returns {"T": (n,), m: (n,)}.
    method "checkpoint" times ``loss_and_grads_checkpointed`` instead."""
    return _sweep(Ts, methods, lambda call: median_time(call, repeats), B=B, D=D, H=H, K=K, seed=seed)


def _sweep(Ts: Any, methods: tuple[str, ...], measure: Callable[[Callable[[], Any]], float], **sizes: int
           ) -> dict[str, np.ndarray]:
    """{"T": (n,), m: (n,)}: ``measure`` applied to one gradient call of each method at every T."""
    Ts = [positive_int(int(T), "T") for T in np.atleast_1d(Ts)]
    out: dict[str, list[float]] = {m: [] for m in methods}
    for T in Ts:
        params, xs, ys = rnn_problem(T, **sizes)
        for m in methods:
            out[m].append(measure(_gradient_call(m, params, xs, ys)))
    return {"T": np.array(Ts), **{m: np.array(v) for m, v in out.items()}}


def fit_loglog(x: Any, y: Any) -> tuple[float, float]:
    """Least-squares line log y = p log x + log c (eq. eq-cost-fit). Returns (p, c): y ~ c x^p."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or len(x) < 2:
        raise ValueError(f"x and y must be 1-d arrays of the same length >= 2, got {x.shape} and {y.shape}")
    if np.any(x <= 0) or np.any(y <= 0) or not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("x and y must be finite and > 0 for a log-log fit")
    if np.ptp(x) == 0:
        raise ValueError("x must take at least two different values")
    p, logc = np.polyfit(np.log(x), np.log(y), 1)
    return float(p), float(np.exp(logc))


def peak_bytes(fn: Callable[[], Any]) -> int:
    """Peak bytes allocated (numpy arrays included) while ``fn()`` runs, measured with tracemalloc."""
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    try:
        fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return int(peak - base)


def memory_sweep(Ts: Any, *, methods: tuple[str, ...] = ("bptt", "checkpoint"), B: int = 8, D: int = 4,
                 H: int = 32, K: int = 5, seed: int = 0) -> dict[str, np.ndarray]:
    """Peak bytes of one gradient computation for every T. Returns {"T": (n,), m: (n,)}."""
    return _sweep(Ts, methods, peak_bytes, B=B, D=D, H=H, K=K, seed=seed)


def stored_states(T: int, segment: int | None = None) -> int:
    """How many (B, H) hidden states are alive at the peak: T + 1 for plain BPTT (segment=None), else the
    ceil(T/k) checkpoints plus the k + 1 states of the segment being recomputed (sqrt(T) checkpointing,
    ``loss_and_grads_checkpointed(segment=k)``; chapter 10 compares it with the optimal schedule)."""
    T = positive_int(T, "T")
    if segment is None:
        return T + 1
    k = positive_int(segment, "segment")
    return math.ceil(T / k) + min(k, T) + 1


def exercise_problem() -> LinearProblem:
    """The fixed linear problem of exercise cost-3: T = 6, B = 2, D = 2, H = 3."""
    return linear_problem(6, B=2, D=2, H=3, seed=3)
