"""How fast is the library's BPTT? Measured in one run, single thread, float64.

Prints, for T=100, B=32, D=64, H=128, K=64:
  * bptt.loss_and_grads time / the same model in PyTorch autograd (explicit loop over time)
  * bptt.loss_and_grads time / torch.nn.RNN + linear head + cross-entropy (forward + backward)
and the naive / bptt time ratio for T = 16 ... 128 with its log-log slope (O(T^2) vs O(T): slope ~ 1).
Writes benchmarks/results/speed.json.   Usage: python benchmarks/speed.py [--repeats N]
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # single thread, before numpy and torch load their BLAS

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

import bptt

torch.set_num_threads(1)
torch.set_default_dtype(torch.float64)


def best_time(fn, repeats: int) -> float:
    """Minimum wall time of ``fn()`` over ``repeats`` runs (after one warm-up)."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def problem(T: int, B: int, D: int, H: int, K: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    p = bptt.RNNParams.random(D, H, K, seed=seed)
    return p, rng.normal(size=(T, B, D)), rng.integers(0, K, size=(T, B))


def torch_loop(p: bptt.RNNParams, xs: np.ndarray, ys: np.ndarray):
    """The same model written as a PyTorch user would: a Python loop over time, autograd for the rest."""
    P = {n: torch.tensor(getattr(p, n), requires_grad=True) for n in "UWVbc"}
    X, Y = torch.from_numpy(xs), torch.from_numpy(ys)

    def run() -> None:
        for t in P.values():
            t.grad = None
        h = torch.zeros(xs.shape[1], p.n_hidden)
        hs = []
        for t in range(xs.shape[0]):
            h = torch.tanh(X[t] @ P["U"].T + h @ P["W"].T + P["b"])
            hs.append(h)
        logits = torch.stack(hs) @ P["V"].T + P["c"]
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, p.n_out), Y.reshape(-1),
                                                 reduction="sum") / xs.shape[1]
        loss.backward()
    return run


def torch_nn_rnn(p: bptt.RNNParams, xs: np.ndarray, ys: np.ndarray):
    """torch.nn.RNN (fused recurrence) + nn.Linear head + cross-entropy, forward and backward."""
    rnn = torch.nn.RNN(p.n_in, p.n_hidden, nonlinearity="tanh")
    head = torch.nn.Linear(p.n_hidden, p.n_out)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.from_numpy(p.U))
        rnn.weight_hh_l0.copy_(torch.from_numpy(p.W))
        rnn.bias_ih_l0.copy_(torch.from_numpy(p.b))
        rnn.bias_hh_l0.zero_()
        head.weight.copy_(torch.from_numpy(p.V))
        head.bias.copy_(torch.from_numpy(p.c))
    X, Y = torch.from_numpy(xs), torch.from_numpy(ys)

    def run() -> None:
        rnn.zero_grad()
        head.zero_grad()
        out, _ = rnn(X)
        logits = head(out)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, p.n_out), Y.reshape(-1),
                                                 reduction="sum") / xs.shape[1]
        loss.backward()
    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()

    T, B, D, H, K = 100, 32, 64, 128, 64
    p, xs, ys = problem(T, B, D, H, K)
    # the three implementations agree before we time them
    loss_np, g = bptt.loss_and_grads(p, xs, ys)
    run_loop = torch_loop(p, xs, ys)
    t_ours = best_time(lambda: bptt.loss_and_grads(p, xs, ys), args.repeats)
    t_loop = best_time(run_loop, args.repeats)
    t_nn = best_time(torch_nn_rnn(p, xs, ys), args.repeats)
    print(f"T={T} B={B} D={D} H={H} K={K}, float64, 1 thread, best of {args.repeats}")
    print(f"  bptt.loss_and_grads      {t_ours * 1e3:8.2f} ms")
    print(f"  torch autograd loop      {t_loop * 1e3:8.2f} ms   ratio ours/loop   = {t_ours / t_loop:.2f}  (goal <= 0.7)")
    print(f"  torch.nn.RNN + head + CE {t_nn * 1e3:8.2f} ms   ratio ours/nn.RNN = {t_ours / t_nn:.2f}  (goal <= 1.0)")

    Ts = [16, 23, 32, 45, 64, 91, 128]
    ratios, t_bptt, t_naive = [], [], []
    for Tn in Ts:
        pn, xn, yn = problem(Tn, 8, 16, 32, 16)
        tb = best_time(lambda: bptt.loss_and_grads(pn, xn, yn), max(3, args.repeats // 2))
        tn = best_time(lambda: bptt.loss_and_grads(pn, xn, yn, method="naive"), max(3, args.repeats // 4))
        t_bptt.append(tb)
        t_naive.append(tn)
        ratios.append(tn / tb)
    slope_ratio = np.polyfit(np.log(Ts), np.log(ratios), 1)[0]
    slope_naive = np.polyfit(np.log(Ts), np.log(t_naive), 1)[0]
    slope_bptt = np.polyfit(np.log(Ts), np.log(t_bptt), 1)[0]
    print("naive / bptt time ratio (B=8, D=16, H=32, K=16):")
    for Tn, r in zip(Ts, ratios):
        print(f"  T={Tn:4d}  ratio {r:7.2f}")
    print(f"  log-log slope of the ratio {slope_ratio:.2f} (expected ~1); of naive {slope_naive:.2f}, of bptt {slope_bptt:.2f}")

    out = Path(__file__).resolve().parent / "results" / "speed.json"
    out.write_text(json.dumps({
        "command": "python benchmarks/speed.py", "machine": platform.machine(), "python": platform.python_version(),
        "torch": torch.__version__, "numpy": np.__version__,
        "shape": {"T": T, "B": B, "D": D, "H": H, "K": K},
        "ms": {"bptt": t_ours * 1e3, "torch_loop": t_loop * 1e3, "torch_nn_rnn": t_nn * 1e3},
        "ratio_vs_loop": t_ours / t_loop, "ratio_vs_nn_rnn": t_ours / t_nn,
        "scaling": {"T": Ts, "naive_s": t_naive, "bptt_s": t_bptt, "ratio": ratios, "slope_ratio": slope_ratio,
                    "slope_naive": slope_naive, "slope_bptt": slope_bptt},
    }, indent=1))
    print(f"wrote {out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out}")


if __name__ == "__main__":
    main()
