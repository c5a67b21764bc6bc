"""Online gradients: forward-mode alternatives to BPTT that carry the influence of the parameters on the
state forward, step by step, and hold nothing per past step.

The recurrent parameters are grouped by the unit they feed: theta[j] = (U[j, :], W[j, :], b[j]), E = D + H + 1
numbers per unit, so a_t[i] depends on theta[j] only for j = i, through z_t = (x_t, h_{t-1}, 1):
da_t[i]/dtheta[j, e] = [i = j] z_t[e]. The influence J_t = dh_t/dtheta (per batch row: (H, H, E)) obeys

    J_t = D_t (W J_{t-1} + da_t/dtheta),   D_t = diag(f'(a_t)),   J_0 = 0           (the influence recursion)

and dL/dtheta = sum_t g_t^T J_t, g_t = dL_t/dh_t the step's direct gradient (eq-chain-dh-direct).

* ``rtrl_loss_and_grads``:  the exact recursion (Williams & Zipser 1989), O(B H^3 (D + H)) per step in
  one batched matrix product, O(B H^2 (D + H)) memory, independent of T.
* ``snap1_loss_and_grads``: SnAp-1 (Menick et al. 2021): J kept on unit i's own parameters only, biased;
  O(B H (D + H)) time per step and memory.
* ``uoro_loss_and_grads``:  UORO (Tallec & Ollivier 2018): an unbiased rank-one estimate of J, O(B H (D + H))
  time per step and memory.

Each is a loop around the library's forward step and output layer (``stepwise``); V and c get their exact
gradients there. Rows are batch entries.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .params import RNNParams
from .stepwise import checked_problem, forward_step, start_pair, step_outputs, zero_grads
from .validation import as_generator

Array = NDArray[np.float64]
#: the eps of UORO's variance-reducing normalisation (Tallec & Ollivier 2018)
UORO_EPS = 1e-7


def _inputs_of_a(z: Array, x: Array, h_prev: Array) -> Array:
    """z_t = (x_t, h_{t-1}, 1) written into z: (B, E) (its last column holds the constant 1)."""
    D = x.shape[1]
    z[:, :D] = x
    z[:, D:-1] = h_prev
    return z


def _grads(theta_grad: Array, out: RNNParams, D: int) -> RNNParams:
    """Split the per-unit gradient theta_grad: (H, E) into U, W, b; V and c from ``out``."""
    return RNNParams(U=theta_grad[:, :D].copy(), W=theta_grad[:, D:-1].copy(), V=out.V, b=theta_grad[:, -1].copy(),
                     c=out.c)


def rtrl_loss_and_grads(params: RNNParams, xs: ArrayLike, ys: ArrayLike, h0: ArrayLike | None = None, *,
                        activation: str = "tanh") -> tuple[float, RNNParams]:
    """Real-time recurrent learning: the loss and exact gradient of ``loss_and_grads`` by the influence
    recursion, carried forward.

    xs: (T, B, D); ys: (T, B) ints in [0, K); h0: (B, H) or None (zeros). Per batch row the influence
    J_t[i, j, e] = dh_t[i]/dtheta[j, e] is kept in one array (B, H, H, E) and updated by one batched product
    (D_t W) J_{t-1} plus the diagonal term D_t z_t; apart from its inputs the loop holds
    O(B H (H D + H^2 + H)) numbers whatever T. Returns (loss, grads) with grads an RNNParams."""
    xs_arr, ys_arr, h0_arr, grad_fn = checked_problem(params, xs, ys, h0, activation)
    T, B, D = xs_arr.shape
    H = params.n_hidden
    E = D + H + 1
    acc = zero_grads(params)
    J, J_next = np.zeros((B, H, H * E)), np.empty((B, H, H * E))
    DW = np.empty((B, H, H))
    z = np.ones((B, E))
    theta_grad = np.zeros(H * E)
    unit = np.arange(H)
    pair, total = start_pair(h0_arr), 0.0
    for t in range(T):
        forward_step(params, xs_arr[t], pair, activation)
        loss, g, fprime = step_outputs(params, pair, ys_arr[t], grad_fn, acc)
        total += loss
        np.multiply(fprime[:, :, None], params.W, out=DW)             # D_t W, one (H, H) per row
        np.matmul(DW, J, out=J_next)                                  # D_t W J_{t-1}
        _inputs_of_a(z, xs_arr[t], pair[0])
        J_next.reshape(B, H, H, E)[:, unit, unit, :] += fprime[:, :, None] * z[:, None, :]   # + D_t da_t/dtheta
        J, J_next = J_next, J
        theta_grad += g.reshape(B * H) @ J.reshape(B * H, H * E)      # g_t^T J_t, summed over the batch
    return total, _grads(theta_grad.reshape(H, E), acc, D)


def snap1_loss_and_grads(params: RNNParams, xs: ArrayLike, ys: ArrayLike, h0: ArrayLike | None = None, *,
                         activation: str = "tanh") -> tuple[float, RNNParams]:
    """SnAp-1: the influence recursion with J kept on the sparsity pattern of one step, i.e. on unit i's own
    parameters theta[i] only (Menick et al. 2021). Per batch row, with J_0 = 0:

        J_t[i, e] = f'(a_t)[i] (W[i, i] J_{t-1}[i, e] + z_t[e]),   z_t = (x_t, h_{t-1}, 1),

    and dtheta[i, e] = sum_t sum_b g_t[b, i] J_t[b, i, e]; dV, dc exact. Deterministic, biased; equal to RTRL
    when H = 1 or W is diagonal. xs: (T, B, D); ys: (T, B); h0: (B, H) or None. Returns (loss, grads)."""
    xs_arr, ys_arr, h0_arr, grad_fn = checked_problem(params, xs, ys, h0, activation)
    T, B, D = xs_arr.shape
    H = params.n_hidden
    E = D + H + 1
    acc = zero_grads(params)
    J = np.zeros((B, H, E))
    z = np.ones((B, E))
    w_self = np.diag(params.W)[:, None]                                # W[i, i]: (H, 1)
    theta_grad = np.zeros((H, E))
    pair, total = start_pair(h0_arr), 0.0
    for t in range(T):
        forward_step(params, xs_arr[t], pair, activation)
        loss, g, fprime = step_outputs(params, pair, ys_arr[t], grad_fn, acc)
        total += loss
        _inputs_of_a(z, xs_arr[t], pair[0])
        J *= w_self
        J += z[:, None, :]
        J *= fprime[:, :, None]
        theta_grad += np.einsum("bi,bie->ie", g, J)
    return total, _grads(theta_grad, acc, D)


def uoro_loss_and_grads(params: RNNParams, xs: ArrayLike, ys: ArrayLike, h0: ArrayLike | None = None, *,
                        activation: str = "tanh", rng: object = None) -> tuple[float, RNNParams]:
    """UORO (Tallec & Ollivier 2018): per batch row a rank-one estimate s_t theta_t^T of the influence J_t,
    s_0 = 0, theta_0 = 0. At step t, with nu_t uniform on {-1, +1}^H (one draw per step and row):

        s_t     = rho0 J_t s_{t-1} + rho1 nu_t,        J_t s_{t-1} = D_t W s_{t-1}   (J_t = dh_t/dh_{t-1})
        theta_t = theta_{t-1} / rho0 + (nu_t^T dF_t/dtheta) / rho1,   nu_t^T dF_t/dtheta = (nu_t f'(a_t)) z_t^T
        rho0 = sqrt(|theta_{t-1}| / (|J_t s_{t-1}| + eps)) + eps
        rho1 = sqrt(|nu_t^T dF_t/dtheta| / (|nu_t| + eps)) + eps

    eps = ``UORO_EPS``; step t adds (g_t . s_t) theta_t, after its update. rng: None (fresh entropy), an integer
    seed or a numpy Generator (drawn from and advanced: ``2 * rng.integers(0, 2, size=(B, H)) - 1`` once per
    step); anything else raises ValueError. The loss, dV and dc are exact; E[dU, dW, db] over the signs equals
    the full gradient. xs: (T, B, D); ys: (T, B); h0: (B, H) or None. Returns (loss, grads)."""
    gen = as_generator(rng)
    xs_arr, ys_arr, h0_arr, grad_fn = checked_problem(params, xs, ys, h0, activation)
    T, B, D = xs_arr.shape
    H = params.n_hidden
    E = D + H + 1
    acc = zero_grads(params)
    s, theta = np.zeros((B, H)), np.zeros((B, H, E))
    z = np.ones((B, E))
    theta_grad = np.zeros((H, E))
    pair, total = start_pair(h0_arr), 0.0
    for t in range(T):
        nu = 2.0 * gen.integers(0, 2, size=(B, H)) - 1.0
        forward_step(params, xs_arr[t], pair, activation)
        loss, g, fprime = step_outputs(params, pair, ys_arr[t], grad_fn, acc)
        total += loss
        Js = (s @ params.W.T) * fprime                                 # J_t s_{t-1}
        nu_dF = (nu * fprime)[:, :, None] * _inputs_of_a(z, xs_arr[t], pair[0])[:, None, :]
        rho0 = np.sqrt(np.linalg.norm(theta.reshape(B, -1), axis=1) / (np.linalg.norm(Js, axis=1) + UORO_EPS)) \
            + UORO_EPS
        rho1 = np.sqrt(np.linalg.norm(nu_dF.reshape(B, -1), axis=1) / (np.linalg.norm(nu, axis=1) + UORO_EPS)) \
            + UORO_EPS
        s = rho0[:, None] * Js + rho1[:, None] * nu
        theta = theta / rho0[:, None, None] + nu_dF / rho1[:, None, None]
        theta_grad += np.einsum("b,bie->ie", np.einsum("bi,bi->b", g, s), theta)
    return total, _grads(theta_grad, acc, D)
