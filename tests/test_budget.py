"""BPTT under a memory budget (bptt.core.budget): the same loss and gradients as autograd and full BPTT for
every number of slots; the binomial cost equals the dynamic program and a brute-force search over all
schedules; the budgeted run counts exactly that many forward steps and stores at most ``slots`` states."""
from __future__ import annotations

import tracemalloc
from collections import deque
from functools import lru_cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bptt
from rnn_reference import ACTIVATIONS, activations, assert_exact_gradient, problems, random_problem
from test_bad_inputs import H0, INPUT_CASES, LABEL_CASES, PARAMS, XS, YS


# --------------------------------------------------------------------------- gradients
@settings(max_examples=50)
@given(prob=problems(max_T=12), activation=activations, given_h0=st.booleans(), extra=st.integers(-12, 3))
def test_budget_matches_torch_and_bptt(prob, activation, given_h0, extra):
    """For any slots in 1 .. T+3 the loss and gradients are autograd's and full BPTT's (rtol 1e-9, atol 1e-12)."""
    params, xs, ys, h0 = prob
    h0 = h0 if given_h0 else None
    T = xs.shape[0]
    slots = max(1, T + extra)
    loss, grads = bptt.loss_and_grads_budget(params, xs, ys, h0, activation=activation, slots=slots)
    assert_exact_gradient(loss, grads, params, xs, ys, h0, activation)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_slot_count(activation):
    """T = 9: slots = 1 (everything recomputed from h_0) through T + 2 (more than needed) all give full BPTT,
    with exactly checkpoint_cost(T, slots) forward steps counted by the hook."""
    prob = random_problem(T=9, B=2, D=3, H=4, K=3, seed=8)
    loss, full = bptt.loss_and_grads(*prob, activation=activation)
    for slots in range(1, 12):
        steps = []
        got_loss, got = bptt.loss_and_grads_budget(*prob, activation=activation, slots=slots, on_forward=steps.append)
        assert got_loss == pytest.approx(loss, rel=1e-12)
        for g, w in zip(got, full):
            np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-12)
        assert len(steps) == bptt.checkpoint_cost(9, slots)
        assert [a.t for a in bptt.checkpoint_schedule(9, slots) if a.kind == "forward"] == steps


def test_stored_states_stay_within_the_budget():
    """With states large enough to dominate, tracemalloc's peak for slots = 3 is the same at T = 40 and
    T = 80 and under slots + 13 states (the O(1) working buffers of one step), while full BPTT holds more
    than T states."""
    B, H = 64, 64
    params, xs, ys, h0 = random_problem(T=80, B=B, D=2, H=H, K=2, seed=0)
    state = B * H * 8

    def peak(fn, T, **kw):
        fn(params, xs[:T], ys[:T], h0, **kw)                        # warm-up
        tracemalloc.start()
        try:
            fn(params, xs[:T], ys[:T], h0, **kw)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    short, long = (peak(bptt.loss_and_grads_budget, T, slots=3) for T in (40, 80))
    assert short < (3 + 13) * state and long < 1.05 * short
    assert peak(bptt.loss_and_grads_checkpointed, 40, segment=40) > 40 * state


# --------------------------------------------------------------------------- the schedule and its cost
@lru_cache(maxsize=None)
def dp(n: int, s: int) -> int:
    """The dynamic program, literally: C(n, s) = min_y y + C(n - y, s - 1) + C(y - 1, s)."""
    if n <= 1:
        return n
    if s == 1:
        return n * (n + 1) // 2
    return min(y + dp(n - y, s - 1) + dp(y - 1, s) for y in range(1, n))


def brute_force(T: int, s: int) -> int:
    """The fewest forward steps over ALL schedules, by a 0-1 breadth-first search over (next state the sweep
    needs k, working state r, stored set S): advance r (cost 1), store r if a slot is free, drop a stored
    state, restart r from a stored state, or hand h_k to the sweep when r = k or k is stored (then k - 1 is
    needed and states >= k are useless). h_0 is stored and cannot be dropped."""
    start = (T, 0, frozenset([0]))
    dist = {start: 0}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        k, r, S = node
        d = dist[node]
        if k == 0:
            return d
        moves = []
        if r is not None and r < k:
            moves.append(((k, r + 1, S), 1))
        if r is not None and r not in S and len(S) < s:
            moves.append(((k, r, S | {r}), 0))
        moves += [((k, r, S - {j}), 0) for j in S if j != 0]
        moves += [((k, j, S), 0) for j in S if j != r]
        if r == k or k in S:
            moves.append(((k - 1, r if r is not None and r < k else None, frozenset(j for j in S if j < k)), 0))
        for nxt, w in moves:
            if nxt not in dist or d + w < dist[nxt]:
                dist[nxt] = d + w
                (queue.appendleft if w == 0 else queue.append)(nxt)
    raise AssertionError("unreachable")


@pytest.mark.parametrize("T", range(1, 8))
def test_dp_is_optimal_over_all_schedules(T):
    """For small T the dynamic program's cost is the brute-force optimum over every schedule, for every s."""
    for s in range(1, T + 2):
        assert dp(T, s) == brute_force(T, s), (T, s)


def test_binomial_cost_is_the_dp():
    """checkpoint_cost (the binomial closed form) equals the dynamic program for T <= 80 and every slots,
    is T for slots >= T and T (T + 1) / 2 for slots = 1."""
    for T in range(1, 81):
        for s in list(range(1, 12)) + [T - 1, T, T + 1, 5 * T]:
            if s >= 1:
                assert bptt.checkpoint_cost(T, s) == dp(T, s), (T, s)
        assert bptt.checkpoint_cost(T, 1) == T * (T + 1) // 2 and bptt.checkpoint_cost(T, T) == T


@settings(max_examples=60)
@given(T=st.integers(1, 120), slots=st.integers(1, 130))
def test_schedule_is_valid_and_optimal(T, slots):
    """Replaying the schedule: each forward step starts from the working state or a stored one, only the
    working state is stored, at most ``slots`` are stored at once (peak_stored), steps are back-propagated in
    the order T .. 1 from an available state, and the forward count is checkpoint_cost(T, slots)."""
    schedule = bptt.checkpoint_schedule(T, slots)
    assert schedule[0] == bptt.Action("store", 0)
    stored, working, order, forwards, peak = set(), 0, [], 0, 0
    for kind, t in schedule:
        if kind == "forward":
            assert working == t - 1 or t - 1 in stored
            working, forwards = t, forwards + 1
        elif kind == "store":
            assert working == t and t not in stored
            stored.add(t)
            peak = max(peak, len(stored))
        elif kind == "free":
            stored.remove(t)
        else:
            assert kind == "backward" and (working == t or t in stored)
            working = t if t in stored else working
            order.append(t)
    assert order == list(range(T, 0, -1))
    assert forwards == bptt.checkpoint_cost(T, slots)
    assert peak == bptt.peak_stored(schedule) <= slots


def test_cost_at_T_1000_is_fast_and_shows_the_trade_off():
    """All 1000 budgets at T = 1000 cost well under a second; 50 slots (5 % of the states) need 1950 forward
    steps, 1000 slots exactly T."""
    costs = [bptt.checkpoint_cost(1000, s) for s in range(1, 1001)]
    assert costs[0] == 500500 and costs[49] == 1950 and costs[-1] == 1000
    assert all(a >= b for a, b in zip(costs, costs[1:]))
    assert len(bptt.checkpoint_schedule(1000, 50)) > 1950


# --------------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize("slots", [True, False, 0, -2, 1.5, 2.0, "3", None, np.float64(3)])
def test_bad_slots(slots):
    with pytest.raises(ValueError, match="slots must be an integer >= 1, got"):
        bptt.loss_and_grads_budget(PARAMS, XS, YS, H0, slots=slots)
    with pytest.raises(ValueError, match="slots must be an integer >= 1, got"):
        bptt.checkpoint_cost(5, slots)
    with pytest.raises(ValueError, match="slots must be an integer >= 1, got"):
        bptt.checkpoint_schedule(5, slots)


@pytest.mark.parametrize("T", [0, -1, 2.5, True, None])
def test_bad_T(T):
    with pytest.raises(ValueError, match="T must be an integer >= 1, got"):
        bptt.checkpoint_cost(T, 2)
    with pytest.raises(ValueError, match="T must be an integer >= 1, got"):
        bptt.checkpoint_schedule(T, 2)


def test_slots_is_required_and_numpy_ints_work():
    with pytest.raises(TypeError):
        bptt.loss_and_grads_budget(PARAMS, XS, YS, H0)
    assert bptt.loss_and_grads_budget(PARAMS, XS, YS, H0, slots=np.int64(2))[0] == pytest.approx(
        bptt.loss_and_grads(PARAMS, XS, YS, H0)[0], rel=1e-12)


@pytest.mark.parametrize("overrides,match", [c[1:] for c in INPUT_CASES + LABEL_CASES],
                         ids=[c[0] for c in INPUT_CASES + LABEL_CASES])
def test_bad_inputs(overrides, match):
    """The budgeted BPTT rejects what loss_and_grads rejects, with the same messages."""
    args = dict(xs=XS, ys=YS, h0=H0) | overrides
    with pytest.raises(ValueError, match=match):
        bptt.loss_and_grads_budget(PARAMS, args["xs"], args["ys"], args["h0"], slots=2)


def test_bad_activation():
    with pytest.raises(ValueError, match="activation must be one of 'tanh', 'sigmoid', 'relu', 'identity'"):
        bptt.loss_and_grads_budget(PARAMS, XS, YS, H0, activation="softplus", slots=2)
