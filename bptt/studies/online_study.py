"""Online gradients and memory budgets (chapter 10, "Beyond BPTT").

Three parts, each the code behind one section of the chapter:

* Counting. ``cost_per_step`` gives the multiply-adds of one step and the numbers each method keeps, read
  off the shapes (eq-beyond-rtrl-cost): RTRL's influence update W J_{t-1} is H x H times H x P with
  P = H D + H^2 + H parameters in U, W, b, so O(H^4) per step and O(H^3) stored; BPTT O(H^2) per step and
  O(T H) stored; SnAp-1 and UORO O(H^2 + H D) per step.
* Estimators. ``estimator_draws`` runs SnAp-1, UORO (many draws) and truncated BPTT on one problem and
  returns their gradients next to the exact one, for bias, variance and cosine (eq-beyond-bias-var).
* The online race. ``OnlineLearner`` subclasses update the weights after EVERY step of one long stream:
  RTRL, SnAp-1 and UORO carry their influence forward (eq-beyond-influence, eq-beyond-snap,
  eq-beyond-uoro) and use the gradient of the current loss term only; truncated BPTT back-propagates the
  current loss term through the last ``tau`` steps (the library's weighted loss with the window recomputed
  from the state it stored). ``race`` trains one learner on ``recall_stream`` (predict the symbol seen
  ``delay`` steps ago) and records its learning curve. With the learning rate 0 each learner's summed
  per-step gradients are the library's whole-sequence gradient (the tests check it).

Shapes: T steps, B parallel streams (batch rows), D inputs, H hidden, K classes; the influence of the
parameters theta = (U, W, b), flattened in that order, is (B, H, P). Arrays are 0-based: xs[t-1] is x_t.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.activations import activation_fn, activation_grad
from ..core.backward import loss_and_grads, weighted_loss_and_grads
from ..core.online import snap1_loss_and_grads
from ..core.params import RNNParams
from ..core.rnn import check_inputs, check_labels, softmax
from ..core.validation import choice, nonneg_number, positive_int
from ..core.diagnostics import cosine, relative_error
from ..core.optim import Adam
from .tasks import init_rnn

METHODS = ("rtrl", "snap1", "uoro", "tbptt")
#: the colours of the methods in the chapter's figures
COLORS = {"bptt": "#1f77b4", "rtrl": "#9467bd", "snap1": "#2ca02c", "uoro": "#d62728", "tbptt": "#ff7f0e"}
LABELS = {"bptt": "BPTT", "rtrl": "RTRL", "snap1": "SnAp-1", "uoro": "UORO", "tbptt": "truncated BPTT"}


# --------------------------------------------------------------------------- counting
def n_theta(H: int, D: int) -> int:
    """P = H D + H^2 + H, the number of recurrent parameters (U, W, b) whose influence RTRL carries."""
    return H * D + H * H + H


def cost_per_step(H: int, D: int, K: int, *, T: int = 1, tau: int = 1) -> dict[str, dict[str, int]]:
    """Multiply-adds of one step (for one sequence) and numbers kept between steps, per method, counted from
    the shapes of the products each method makes (eq-beyond-rtrl-cost):

    * every method runs the forward step, F = H^2 + H D + K H (W h, U x, V h);
    * BPTT adds a backward step (dh V, da W, and the outer products of dW, dU, dV): 2 H^2 + H D + 2 K H,
      and keeps the T + 1 states (H each) until the backward sweep;
    * RTRL multiplies W (H x H) by its influence (H x P): H^2 P, and contracts g_t with it: H P;
      it keeps the influence, H P numbers, whatever T;
    * SnAp-1 and UORO do O(P) work: SnAp-1 scales its H P / H = P kept entries (2 P) and contracts them
      with g_t (P); UORO multiplies W by s~ (H^2), forms nu^T dF/dtheta (P), updates theta~ (2 P) and adds
      its contribution (P); both keep O(P) numbers;
    * truncated BPTT with a window of ``tau`` back-propagates each loss term through tau steps
      (tau backward steps) and keeps tau states.
    Returns {method: {"macs": per step, "floats": kept}}."""
    H, D, K, T, tau = (positive_int(v, n) for v, n in ((H, "H"), (D, "D"), (K, "K"), (T, "T"), (tau, "tau")))
    P = n_theta(H, D)
    F = H * H + H * D + K * H
    back = 2 * H * H + H * D + 2 * K * H
    return {
        "bptt": {"macs": F + back, "floats": (T + 1) * H},
        "rtrl": {"macs": F + H * H * P + H * P, "floats": H * P},
        "snap1": {"macs": F + 3 * P, "floats": P},
        "uoro": {"macs": F + H * H + 4 * P, "floats": H + P},
        "tbptt": {"macs": F + tau * back, "floats": (tau + 1) * H},
    }


def matched_window(H: int, D: int, K: int, method: str = "uoro") -> int:
    """The window tau at which truncated BPTT costs about as many multiply-adds per step as ``method``
    (at least 1): the equal-cost comparison of the estimator section."""
    c = cost_per_step(H, D, K)
    F = H * H + H * D + K * H
    back = 2 * H * H + H * D + 2 * K * H
    return max(1, int(round((c[choice(method, "method", ("snap1", "uoro", "rtrl"))]["macs"] - F) / back)))


# --------------------------------------------------------------------------- the online learners
class OnlineLearner:
    """Runs the RNN over a stream one step at a time and returns, at every step, the gradient of that
    step's loss L_t (batch-mean cross-entropy) with respect to all parameters as the method estimates it.
    ``step(params, x, y) -> (loss, grads)``; x: (B, D), y: (B,) ints. The parameters may change between
    steps (online learning); the carried quantities are then approximations, as in every online method."""

    name = ""

    def __init__(self, B: int, H: int, D: int, *, activation: str = "tanh") -> None:
        self.f, self.fprime = activation_fn(activation), activation_grad(activation)
        self.B, self.H, self.D = B, H, D
        self.h = np.zeros((B, H))
        self.t = 0

    def _forward(self, params: RNNParams, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        """One step: returns (L_t, h_prev, f'(a_t), dO) and moves the state on; dO = dL_t/do_t: (B, K)."""
        h_prev = self.h
        h = self.f(params.b + h_prev @ params.W.T + x @ params.U.T)
        p = softmax(h @ params.V.T + params.c)
        B = len(y)
        loss = float(-np.mean(np.log(p[np.arange(B), y])))
        p[np.arange(B), y] -= 1.0
        self.h, self.t = h, self.t + 1
        return loss, h_prev, self.fprime(h), p / B

    def _grads(self, params: RNNParams, dtheta: np.ndarray, dO: np.ndarray) -> RNNParams:
        """Unflatten dtheta: (P,) into dU, dW, db; dV, dc are exact: dO^T h_t and sum_b dO."""
        H, D = self.H, self.D
        return RNNParams(U=dtheta[:H * D].reshape(H, D), W=dtheta[H * D:H * D + H * H].reshape(H, H),
                         V=dO.T @ self.h, b=dtheta[H * D + H * H:], c=dO.sum(0))

    def step(self, params: RNNParams, x: np.ndarray, y: np.ndarray) -> tuple[float, RNNParams]:
        raise NotImplementedError


class RTRL(OnlineLearner):
    """Real-time recurrent learning (eq-beyond-influence): J_t = diag(f'_t) (W J_{t-1} + dF_t/dtheta),
    J: (B, H, P); the gradient of L_t is g_t^T J_t with g_t = V^T dO_t (eq-beyond-rtrl-grad)."""

    name = "rtrl"

    def __init__(self, B: int, H: int, D: int, **kw: Any) -> None:
        super().__init__(B, H, D, **kw)
        self.J = np.zeros((B, H, n_theta(H, D)))

    def step(self, params: RNNParams, x: np.ndarray, y: np.ndarray) -> tuple[float, RNNParams]:
        loss, h_prev, fp, dO = self._forward(params, x, y)
        self.J = influence_step(params, self.J, h_prev, x, fprime=fp)[0]
        g = dO @ params.V                                       # g_t: (B, H)
        return loss, self._grads(params, np.einsum("bi,bip->p", g, self.J), dO)


def influence_step(params: RNNParams, J: np.ndarray, h_prev: np.ndarray, x: np.ndarray, *,
                   activation: str = "tanh", fprime: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One step of RTRL's influence recursion (eq-beyond-influence) for a batch:
    J_t = diag(f'(a_t)) (W J_{t-1} + da_t/dtheta). J: (B, H, P) = J_{t-1}, its columns U, W, b (each row-major);
    h_prev: (B, H) = h_{t-1}; x: (B, D) = x_t; ``fprime`` = f'(a_t) if already known. Returns (J_t, h_t)."""
    H, D = params.n_hidden, params.n_in
    B = len(x)
    if J.shape != (B, H, n_theta(H, D)):
        raise ValueError(f"J must have shape (B, H, H D + H^2 + H) = {(B, H, n_theta(H, D))}, got {J.shape}")
    h = activation_fn(activation)(params.b + h_prev @ params.W.T + x @ params.U.T)
    fp = activation_grad(activation)(h) if fprime is None else fprime
    i = np.arange(H)
    J = params.W @ J                                            # (H, H) @ (B, H, P): the O(H^4) product
    J[:, :, :H * D].reshape(B, H, H, D)[:, i, i, :] += x[:, None, :]         # da_i/dU[i, :] = x
    J[:, :, H * D:H * D + H * H].reshape(B, H, H, H)[:, i, i, :] += h_prev[:, None, :]  # dW[i, :]
    J[:, i, H * D + H * H + i] += 1.0                                        # db[i]
    J *= fp[:, :, None]
    return J, h


class SnAp1(OnlineLearner):
    """SnAp-1 (eq-beyond-snap): the influence of W[i, j], U[i, j], b[i] kept on unit i only, so J: (B, P)
    holds one number per parameter and batch row; J_t = f'_t[i] (W[i, i] J_{t-1} + dF_t/dtheta)."""

    name = "snap1"

    def __init__(self, B: int, H: int, D: int, **kw: Any) -> None:
        super().__init__(B, H, D, **kw)
        self.J = np.zeros((B, n_theta(H, D)))

    def _rows(self, v: np.ndarray) -> np.ndarray:
        """A per-unit (B, H) array spread over the parameters that unit owns: (B, P)."""
        H, D = self.H, self.D
        return np.concatenate([np.repeat(v, D, axis=1), np.repeat(v, H, axis=1), v], axis=1)

    def step(self, params: RNNParams, x: np.ndarray, y: np.ndarray) -> tuple[float, RNNParams]:
        loss, h_prev, fp, dO = self._forward(params, x, y)
        B, H = self.B, self.H
        immediate = np.concatenate([np.tile(x, (1, H)), np.tile(h_prev, (1, H)), np.ones((B, H))], axis=1)
        self.J = self._rows(fp) * (self._rows(np.broadcast_to(np.diag(params.W), (B, H))) * self.J + immediate)
        g = dO @ params.V
        return loss, self._grads(params, np.einsum("bp,bp->p", self._rows(g), self.J), dO)


class UORO(OnlineLearner):
    """UORO (eq-beyond-uoro): per batch row a rank-one estimate s~ theta~^T of the influence, with random
    signs nu_t and the variance-reducing rho0, rho1 of Tallec & Ollivier; s~: (B, H), theta~: (B, P)."""

    name = "uoro"
    EPS = 1e-7

    def __init__(self, B: int, H: int, D: int, *, rng: Any = None, **kw: Any) -> None:
        super().__init__(B, H, D, **kw)
        self.rng = np.random.default_rng(rng)
        self.s, self.theta = np.zeros((B, H)), np.zeros((B, n_theta(H, D)))

    def step(self, params: RNNParams, x: np.ndarray, y: np.ndarray) -> tuple[float, RNNParams]:
        loss, dO, rows = self.step_rows(params, x, y)
        return loss, self._grads(params, rows.sum(0), dO)

    def step_rows(self, params: RNNParams, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """One step; returns (L_t, dO, contributions) with each batch row's (g_t . s~_t) theta~_t: (B, P)."""
        loss, h_prev, fp, dO = self._forward(params, x, y)
        B, eps = self.B, self.EPS
        nu = 2.0 * self.rng.integers(0, 2, size=(B, self.H)) - 1.0    # the library's draws
        Js = fp * (self.s @ params.W.T)                           # J_t s~ with J_t = diag(f') W
        m = nu * fp                                               # nu^T dF/dtheta, block by block:
        nu_dF = np.concatenate([(m[:, :, None] * x[:, None, :]).reshape(B, -1),
                                (m[:, :, None] * h_prev[:, None, :]).reshape(B, -1), m], axis=1)
        norm = lambda a: np.linalg.norm(a, axis=1, keepdims=True)  # noqa: E731
        rho0 = np.sqrt(norm(self.theta) / (norm(Js) + eps)) + eps
        rho1 = np.sqrt(norm(nu_dF) / (norm(nu) + eps)) + eps
        self.s = rho0 * Js + rho1 * nu
        self.theta = self.theta / rho0 + nu_dF / rho1
        g = dO @ params.V
        return loss, dO, np.sum(g * self.s, axis=1)[:, None] * self.theta


def uoro_draws(params: RNNParams, xs: Any, ys: Any, n_draws: int, rng: Any = None) -> np.ndarray:
    """``n_draws`` independent UORO estimates of the gradient of (U, W, b) on one problem, run side by side
    as extra batch rows (each draw has its own signs). xs: (T, B, D), ys: (T, B).
    Returns (n_draws, P), each row flattened like ``theta_vector``."""
    xs, _ = check_inputs(params, xs)
    ys = check_labels(params, xs, ys)
    n = positive_int(n_draws, "n_draws")
    T, B, D = xs.shape
    learner = UORO(n * B, params.n_hidden, D, rng=rng)
    total = np.zeros((n * B, n_theta(params.n_hidden, D)))
    for x, y in zip(xs, ys):                     # row r = draw r // B, sequence r % B
        total += learner.step_rows(params, np.tile(x, (n, 1)), np.tile(y, n))[2]
    return n * total.reshape(n, B, -1).sum(1)    # each draw: the mean over its own B rows


class TruncatedBPTT(OnlineLearner):
    """Truncated BPTT online: at step t, the gradient of L_t alone back-propagated through the last ``tau``
    steps, recomputed with the current weights from the state stored tau steps back (the library's
    weighted loss with weights [0, ..., 0, 1]). Keeps tau inputs and the state before them."""

    name = "tbptt"

    def __init__(self, B: int, H: int, D: int, *, tau: int = 4, activation: str = "tanh", **kw: Any) -> None:
        super().__init__(B, H, D, activation=activation)
        self.tau, self.activation = positive_int(tau, "tau"), activation
        self.xs: list[np.ndarray] = []
        self.states: list[np.ndarray] = []   # states[0] enters the window

    def step(self, params: RNNParams, x: np.ndarray, y: np.ndarray) -> tuple[float, RNNParams]:
        self.xs.append(x)
        self.states.append(self.h)
        if len(self.xs) > self.tau:
            del self.xs[0], self.states[0]
        n = len(self.xs)
        ys = np.broadcast_to(y, (n, len(y)))        # only the last row is scored
        weights = np.zeros(n)
        weights[-1] = 1.0
        loss, grads = weighted_loss_and_grads(params, np.stack(self.xs), ys, self.states[0], weights=weights,
                                              activation=self.activation)
        self._forward(params, x, y)                 # move the state on
        return loss, grads


LEARNERS = {"rtrl": RTRL, "snap1": SnAp1, "uoro": UORO, "tbptt": TruncatedBPTT}


def make_learner(method: str, B: int, H: int, D: int, *, tau: int = 4, rng: Any = None,
                 activation: str = "tanh") -> OnlineLearner:
    """A fresh learner of ``method`` ("rtrl", "snap1", "uoro", "tbptt") for B streams."""
    method = choice(method, "method", METHODS)
    B, H, D = positive_int(B, "B"), positive_int(H, "H"), positive_int(D, "D")
    if method == "uoro":
        return UORO(B, H, D, rng=rng, activation=activation)
    if method == "tbptt":
        return TruncatedBPTT(B, H, D, tau=tau, activation=activation)
    return LEARNERS[method](B, H, D, activation=activation)


def summed_gradient(method: str, params: RNNParams, xs: Any, ys: Any, *, tau: int = 4, rng: Any = None,
                    activation: str = "tanh") -> tuple[float, RNNParams]:
    """Run a learner over a whole sequence WITHOUT updating and sum its per-step gradients: the
    whole-sequence estimate of dL/dtheta (equal to the library's rtrl/snap1/uoro_loss_and_grads, and to
    ``loss_and_grads(window=tau)`` for "tbptt"). xs: (T, B, D), ys: (T, B). Returns (loss, grads)."""
    xs, _ = check_inputs(params, xs)
    ys = check_labels(params, xs, ys)
    learner = make_learner(method, xs.shape[1], params.n_hidden, params.n_in, tau=tau, rng=rng,
                           activation=activation)
    total, acc = 0.0, params.map(np.zeros_like)
    for x, y in zip(xs, ys):
        loss, g = learner.step(params, x, y)
        total += loss
        acc = RNNParams(*(a + b for a, b in zip(acc, g)))
    return total, acc


# --------------------------------------------------------------------------- estimators
@dataclass
class EstimatorDraws:
    """The exact gradient and each estimator's gradients on one problem, as flat vectors of (U, W, b).
    exact: (P,); snap1: (P,); tbptt: (P,) with window ``tau``; uoro: (n_draws, P)."""

    exact: np.ndarray
    snap1: np.ndarray
    tbptt: np.ndarray
    uoro: np.ndarray
    tau: int

    def stats(self) -> dict[str, dict[str, float]]:
        """Per estimator: relative bias ||E g~ - g|| / ||g||, relative variance E||g~ - E g~||^2 / ||g||^2
        (eq-beyond-bias-var; 0 for the deterministic ones), and the mean cosine of one draw to g. The
        UORO mean is over the draws, so its bias is only known up to sqrt(variance / n_draws)."""
        g, n2 = self.exact, float(self.exact @ self.exact)
        out = {}
        for name in ("snap1", "uoro", "tbptt"):
            draws = np.atleast_2d(getattr(self, name))
            mean = draws.mean(0)
            var = float(np.mean(np.sum((draws - mean) ** 2, axis=1))) / n2 if len(draws) > 1 else 0.0
            out[name] = {"bias": float(relative_error(mean, g)), "variance": var,
                         "cosine": float(np.mean(cosine(draws, g))),
                         "stderr_bias": float(np.sqrt(var / len(draws)))}
        return out


def theta_vector(grads: RNNParams) -> np.ndarray:
    """The recurrent part (U, W, b) of a gradient as one flat vector (the parameters the methods differ on)."""
    return np.concatenate([grads.U.ravel(), grads.W.ravel(), grads.b.ravel()])


def estimator_draws(params: RNNParams, xs: Any, ys: Any, *, n_draws: int = 100, tau: int | None = None,
                    seed: int = 0) -> EstimatorDraws:
    """Exact BPTT, SnAp-1 and truncated BPTT (window ``tau``, default the equal-cost ``matched_window``)
    through the library's functions, and ``n_draws`` UORO draws (``uoro_draws``, signs from ``seed``)."""
    n_draws = positive_int(n_draws, "n_draws")
    tau = matched_window(params.n_hidden, params.n_in, params.n_out) if tau is None else positive_int(tau, "tau")
    exact = theta_vector(loss_and_grads(params, xs, ys)[1])
    snap = theta_vector(snap1_loss_and_grads(params, xs, ys)[1])
    trunc = theta_vector(loss_and_grads(params, xs, ys, window=tau)[1])
    uoro = uoro_draws(params, xs, ys, n_draws, rng=seed)
    return EstimatorDraws(exact, snap, trunc, uoro, tau)


def estimator_problem(T: int, H: int, *, B: int = 1, D: int = 3, K: int = 3, seed: int = 0
                      ) -> tuple[RNNParams, np.ndarray, np.ndarray]:
    """A random problem for the estimator study: ``tasks.init_rnn`` weights (PyTorch's initialisation),
    inputs N(0, 1), random labels. Returns (params, xs (T, B, D), ys (T, B))."""
    rng = np.random.default_rng(seed)
    T = positive_int(T, "T")
    return init_rnn(D, H, K, seed=seed), rng.normal(size=(T, B, D)), rng.integers(0, K, (T, B))


# --------------------------------------------------------------------------- the race
def recall_stream(steps: int, B: int, K: int = 4, delay: int = 3, rng: Any = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """B endless streams of random symbols (one-hot, K of them); the target at step t is the symbol seen
    ``delay`` steps earlier (class K, "nothing yet", for the first ``delay`` steps). Solving it needs a
    memory of ``delay`` steps; chance is 1/K. Returns xs: (steps, B, K), ys: (steps, B) in [0, K]."""
    steps, B, K = positive_int(steps, "steps"), positive_int(B, "B"), positive_int(K, "K")
    delay = positive_int(delay, "delay")
    sym = np.random.default_rng(rng).integers(0, K, (steps, B))
    xs = np.eye(K)[sym]
    ys = np.full((steps, B), K)
    ys[delay:] = sym[:-delay]
    return xs, ys


@dataclass
class RaceRun:
    """One learner's run: the loss of every step (steps,), the accuracy of every step (steps,), seconds per
    step (process time) and the numbers it keeps between steps."""

    method: str
    seed: int
    losses: np.ndarray
    correct: np.ndarray
    seconds_per_step: float
    floats: int


def race(method: str, *, steps: int = 3000, B: int = 4, H: int = 16, K: int = 4, delay: int = 3,
         lr: float = 3e-3, tau: int = 2, seed: int = 0) -> RaceRun:
    """Train a fresh RNN (``tasks.init_rnn``, seed ``seed``) online on ``recall_stream``: after every step
    the learner's gradient of L_t updates the weights with Adam (clipped to norm 1). The stream and the
    initial weights depend on ``seed`` only, so all methods see the same data. Returns a ``RaceRun``."""
    nonneg_number(lr, "lr", strict=True)
    xs, ys = recall_stream(steps, B, K, delay, rng=seed)
    params = init_rnn(K, H, K + 1, seed=seed)
    learner = make_learner(method, B, H, K, tau=tau, rng=10_000 + seed)
    opt = Adam(lr=lr, max_norm=1.0)
    losses, correct = np.empty(steps), np.empty(steps)
    t0 = time.process_time()
    for t in range(steps):
        losses[t], grads = learner.step(params, xs[t], ys[t])
        logits = learner.h @ params.V.T + params.c       # the prediction the loss of step t scored
        correct[t] = np.mean(logits.argmax(1) == ys[t])
        params = opt.step(params, grads)
    seconds = (time.process_time() - t0) / steps
    floats = cost_per_step(H, K, K + 1, tau=tau)[method]["floats"] * B
    return RaceRun(method, seed, losses, correct, seconds, floats)


def smooth(curve: Any, window: int = 200) -> np.ndarray:
    """Moving average of a per-step curve over blocks of ``window`` steps: (len // window,)."""
    curve = np.asarray(curve, dtype=float)
    window = positive_int(window, "window")
    n = len(curve) // window
    return curve[:n * window].reshape(n, window).mean(1)
