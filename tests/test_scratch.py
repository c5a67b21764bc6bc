"""The scratch buffers that loss_and_grads reuses never leak into what it returns."""
from __future__ import annotations

import threading

import numpy as np

import bptt
from rnn_reference import random_problem


def test_results_survive_later_calls_of_other_and_same_shapes():
    p, xs, ys, h0 = random_problem(T=6, B=3, D=2, H=4, K=3, seed=1)
    loss1, g1 = bptt.loss_and_grads(p, xs, ys, h0)
    kept = [a.copy() for a in g1.arrays()]
    p2, xs2, ys2, h02 = random_problem(T=6, B=3, D=2, H=4, K=3, seed=2)   # same shapes: same buffers
    bptt.loss_and_grads(p2, xs2, ys2, h02)
    p3, xs3, ys3, h03 = random_problem(T=9, B=2, D=2, H=5, K=3, seed=3)   # other shapes: new buffers
    bptt.loss_and_grads(p3, xs3, ys3, h03)
    assert all(np.array_equal(a, b) for a, b in zip(g1.arrays(), kept))
    again = bptt.loss_and_grads(p, xs, ys, h0)
    assert again[0] == loss1 and all(np.array_equal(a, b) for a, b in zip(again[1].arrays(), kept))


def test_threads_do_not_share_buffers():
    problems = [random_problem(T=20, B=4, D=3, H=8, K=5, seed=s) for s in range(4)]
    expected = [bptt.loss_and_grads(*pr)[1].flat() for pr in problems]
    results: dict[int, list[np.ndarray]] = {i: [] for i in range(4)}

    def work(i: int) -> None:
        for _ in range(30):
            results[i].append(bptt.loss_and_grads(*problems[i])[1].flat())

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(4):
        assert all(np.array_equal(r, expected[i]) for r in results[i])
