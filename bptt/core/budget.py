"""BPTT under a memory budget: store at most ``slots`` hidden states and recompute the others, by the
schedule that needs the fewest forward steps (Gruslys et al. 2016; Griewank's binomial checkpointing).

The reverse sweep needs the states in reverse order h_T, h_{T-1}, ..., h_1 (the step t is back-propagated
from h_t, and dW's term of step t waits for h_{t-1}); h_0 is stored from the start and counts as a slot.
A state is obtained either from a slot (free) or by forward steps from a stored state below it. Let
C(n, s) be the fewest forward steps that produce h_n, ..., h_1 in that order from a stored h_0 with s slots
(h_0's included). Advancing y steps and storing h_y splits the problem into the right part (n - y states
from h_y with one slot less) and the left part (h_y itself is then read from its slot, the y - 1 states
below it follow with all s slots), so

    C(0, s) = 0,  C(1, s) = 1,  C(n, 1) = n (n + 1) / 2,
    C(n, s) = min_{1 <= y < n}  y + C(n - y, s - 1) + C(y - 1, s)                     (the dynamic program)

whose solution is binomial: with N_r(s) = binom(s + r, s) - 1, the longest sequence reversible when every
state is computed at most r times,

    C(n, s) = n + sum_{r >= 1} max(0, n - N_r(s))                                    (the binomial cost)

(so C(n, s) = n for s >= n: plain BPTT, each state computed once). ``checkpoint_cost`` evaluates it,
``checkpoint_schedule`` unrolls the dynamic program into actions, ``loss_and_grads_budget`` executes them
with the library's forward step and step rule.
"""
from __future__ import annotations

from math import comb
from typing import Callable, Iterator, NamedTuple, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .backward import step_back
from .params import RNNParams
from .stepwise import checked_problem, forward_step, start_pair, step_outputs, zero_grads
from .validation import positive_int

__all__ = ["checkpoint_cost", "checkpoint_schedule", "peak_stored", "loss_and_grads_budget", "Action"]

Array = NDArray[np.float64]


class Action(NamedTuple):
    """One action of a checkpoint schedule, on the state h_t (``hs[t]``, t in 0..T):

    * ("forward", t):  one forward step computes h_t from h_{t-1} (the working state, or a stored one);
    * ("store", t):    h_t is kept in a slot;      ("free", t): its slot is released;
    * ("backward", t): step t is back-propagated from h_t (the working state or its slot)."""

    kind: str
    t: int


def _reach(s: int, n_max: int) -> list[int]:
    """N_r(s) = binom(s + r, s) - 1 for r = 1, 2, ... up to the first >= n_max."""
    reach = [s]
    while reach[-1] < n_max:
        reach.append(comb(s + len(reach) + 1, s) - 1)
    return reach


def checkpoint_cost(T: int, slots: int) -> int:
    """The fewest forward-step applications that full BPTT over T steps needs when at most ``slots`` hidden
    states (h_0 included) are stored at once: C(T, slots) of the dynamic program, by the binomial cost (see
    the module docstring). T for slots >= T (plain BPTT), T (T + 1) / 2 for slots = 1."""
    T, slots = positive_int(T, "T", optional=False), positive_int(slots, "slots", optional=False)
    return int(_costs(np.array([T]), slots)[0])


def _costs(ms: NDArray[np.int64], s: int) -> NDArray[np.int64]:
    """C(m, s) for every m in ms (m >= 0): m + sum over r of max(0, m - N_r(s)), from the sorted N_r(s) and
    their prefix sums, in O(len(ms)) memory (no table is kept between calls)."""
    ms = np.asarray(ms, dtype=np.int64)
    if s == 1:                                      # N_r(1) = r: C(m, 1) = m (m + 1) / 2
        return ms * (ms + 1) // 2
    reach = np.array(_reach(s, max(int(ms.max(initial=0)), 1)), dtype=np.int64)
    below = np.searchsorted(reach, ms, side="left")             # how many N_r(s) < m
    prefix = np.concatenate([[0], np.cumsum(reach)])
    return ms + below * ms - prefix[below]


def checkpoint_schedule(T: int, slots: int) -> list[Action]:
    """The optimal schedule for T steps and ``slots`` stored states as a list of ``Action``, starting with
    ("store", 0): it has exactly ``checkpoint_cost(T, slots)`` "forward" actions, one "backward" per step in
    the order T, T-1, ..., 1, and never more than ``slots`` states stored at once (``peak_stored``).
    Each split y is the smallest minimiser of the dynamic program."""
    return list(iter_schedule(T, slots))


def iter_schedule(T: int, slots: int) -> Iterator[Action]:
    """``checkpoint_schedule`` one action at a time (what ``loss_and_grads_budget`` runs: it never holds the
    whole list)."""
    return _actions(positive_int(T, "T", optional=False), positive_int(slots, "slots", optional=False))


def _actions(T: int, slots: int) -> Iterator[Action]:
    """The generator behind ``iter_schedule``, for checked T and slots."""
    yield Action("store", 0)
    todo: list[tuple[int, ...]] = [(0, T, slots)]   # (base, n, s): reverse h_{base+n} .. h_{base+1}; (y,): h_y
    while todo:
        item = todo.pop()
        if len(item) == 1:                              # h_y from its slot: back-propagate, release the slot
            yield Action("backward", item[0])
            yield Action("free", item[0])
            continue
        base, n, s = item
        if s == 1 or n == 1:                            # no slot to spare: every state from h_base
            for k in range(n, 0, -1):
                yield from (Action("forward", base + j) for j in range(1, k + 1))
                yield Action("backward", base + k)
        elif n > 1:
            if s >= n:                                  # room for every state: y = 1 is optimal (C = n)
                y = 1
            else:
                ys = np.arange(1, n)
                y = int(ys[np.argmin(ys + _costs(n - ys, s - 1) + _costs(ys - 1, s))])
            yield from (Action("forward", base + j) for j in range(1, y + 1))
            yield Action("store", base + y)
            todo += [(base, y - 1, s), (base + y,), (base + y, n - y, s - 1)]


def peak_stored(schedule: Sequence[Action]) -> int:
    """The largest number of states a schedule keeps stored at once (h_0 included)."""
    now = peak = 0
    for kind, _ in schedule:
        now += (kind == "store") - (kind == "free")
        peak = max(peak, now)
    return peak


def loss_and_grads_budget(params: RNNParams, xs: ArrayLike, ys: ArrayLike, h0: ArrayLike | None = None, *,
                          activation: str = "tanh", slots: int,
                          on_forward: Callable[[int], None] | None = None) -> tuple[float, RNNParams]:
    """Full BPTT that stores at most ``slots`` hidden states at once (h_0 counts as one) plus O(1) working
    states, recomputing the others by ``checkpoint_schedule(T, slots)``: the loss and gradients of
    ``loss_and_grads`` with ``checkpoint_cost(T, slots)`` forward steps.

    xs: (T, B, D); ys: (T, B) ints in [0, K); h0: (B, H) or None (zeros); slots: an integer >= 1 (bool
    excluded). ``on_forward(t)``: an optional hook called at every forward-step application, with t the index
    of the state it computes (``hs[t]``). Each "backward" action reads step t's outputs from h_t, applies the
    step rule (eq-chain-delta, eq-chain-recursion) and adds the step's terms of eq-chain-grads; dW's term
    da_t^T h_{t-1} waits for h_{t-1}, the next state the sweep produces. Returns (loss, grads)."""
    slots = positive_int(slots, "slots", optional=False)
    xs_arr, ys_arr, h0_arr, grad_fn = checked_problem(params, xs, ys, h0, activation)
    acc = zero_grads(params)
    pair, at = start_pair(h0_arr), 0                  # pair[1] is the working state h_at
    stored: dict[int, Array] = {}
    carry = pending = None                            # dL/dh_t from step t+1; da_{t+1}, waiting for h_t
    total = 0.0
    for kind, t in iter_schedule(xs_arr.shape[0], slots):
        if kind == "forward":
            if at != t - 1:
                pair[1] = stored[t - 1]
            forward_step(params, xs_arr[t - 1], pair, activation)
            at = t
            if on_forward is not None:
                on_forward(t)
        elif kind == "store":
            stored[t] = pair[1].copy()
        elif kind == "free":
            del stored[t]
        else:
            if at != t:
                pair[1], at = stored[t], t
            if pending is not None:
                acc.W[...] += pending.T @ pair[1]
            loss, dh, fprime = step_outputs(params, pair, ys_arr[t - 1], grad_fn, acc)
            total += loss
            if carry is not None:
                dh += carry
            pending, carry = step_back(dh, fprime, params.W)
            acc.U[...] += pending.T @ xs_arr[t - 1]
            acc.b[...] += pending.sum(0)
    acc.W[...] += pending.T @ stored[0]
    return total, acc
