"""How fast are RTRL and the memory-budgeted BPTT, and where does each win? Measured in one run, one thread.

Prints and writes bptt/data/results/online_speed.json:
  * RTRL at H = 32: CPU time per step / the time of one square matrix product doing the same number of
    multiply-adds (the influence product B H^2 P plus the gradient B H P, P = H (D + H + 1)); goal <= 3;
  * the budgeted BPTT: its time / ((forward steps it ran) x (one forward step) + one backward sweep), for
    several budgets at T = 1000; goal <= 1.2. One forward step is ``stepwise.forward_step`` (the step the
    run applies); one backward sweep is full BPTT (``loss_and_grads``) less its forward pass;
  * RTRL versus BPTT: time ratio over H and T (the crossover, if any) and the stored-number crossover
    (RTRL's influence B H^2 (D + H + 1) against BPTT's T-long buffers);
  * the memory/time frontier of the budgeted BPTT at T = 1000: slots, forward steps, peak stored states,
    CPU time (Gruslys et al. 2016: about 95 % of the memory saved for about a third more time).
Times are medians of the process's CPU time over rounds that run every compared call once (``interleaved``),
so other programs sharing the machine inflate them little and alike.

Usage:  python benchmarks/online_speed.py            (a few minutes on one core)
        python benchmarks/online_speed.py --quick    (a smoke run that writes nothing)
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy is imported: one thread, so timings measure the algorithm

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import bptt  # noqa: E402
from bptt import cost  # noqa: E402
from bptt.core.rnn import run_hidden  # noqa: E402
from bptt.core.stepwise import forward_step, start_pair  # noqa: E402

COMMAND = "python benchmarks/online_speed.py"
RESULTS = Path(__file__).resolve().parents[1] / "bptt" / "data" / "results" / "online_speed.json"


def rtrl_macs(B: int, D: int, H: int) -> int:
    """Multiply-adds of one RTRL step: (D_t W) J_{t-1} per row, B H^2 P, and g_t^T J_t, B H P."""
    P = H * (D + H + 1)
    return B * H * H * P + B * H * P


def interleaved(calls: dict, rounds: int, *, warm_up: bool = True) -> dict:
    """Median CPU seconds of each call, timed in rounds that run every call once (after one untimed warm-up
    round if ``warm_up``), so a change in the machine's load affects all of them alike."""
    times: dict = {name: [] for name in calls}
    for r in range(rounds + warm_up):
        for name, fn in calls.items():
            t0 = time.process_time()
            fn()
            if r or not warm_up:
                times[name].append(time.process_time() - t0)
    return {name: float(np.median(v)) for name, v in times.items()}


def rtrl_ratio(repeats: int, T: int = 30, B: int = 16, D: int = 16, H: int = 32, K: int = 8) -> dict:
    """RTRL's time per step against one square matrix product with the same multiply-adds, and against one
    product of RTRL's own shape, (H, H) @ (H, B P)."""
    params, xs, ys = cost.rnn_problem(T, B=B, D=D, H=H, K=K)
    macs = rtrl_macs(B, D, H)
    n = round(macs ** (1 / 3))
    rng = np.random.default_rng(0)
    A, C = rng.normal(size=(n, n)), rng.normal(size=(n, n))
    Wm, J = rng.normal(size=(H, H)), rng.normal(size=(H, macs // (H * H)))
    t = interleaved({"rtrl": lambda: bptt.rtrl_loss_and_grads(params, xs, ys), "square": lambda: A @ C,
                     "shaped": lambda: Wm @ J}, repeats)
    t_step = t["rtrl"] / T
    t_square = t["square"] * macs / n ** 3
    t_shaped = t["shaped"] * macs / (H * H * J.shape[1])
    return {"T": T, "B": B, "D": D, "H": H, "K": K, "macs_per_step": macs, "matmul_n": n,
            "ms_per_step": t_step * 1e3, "ms_matmul_same_macs": t_square * 1e3, "ratio": t_step / t_square,
            "ms_matmul_rtrl_shape": t_shaped * 1e3, "ratio_rtrl_shape": t_step / t_shaped}


def budget_runs(slot_list: list[int], rounds: int, T: int, B: int, D: int, H: int, K: int) -> tuple[dict, list]:
    """The budgeted BPTT at each budget: forward steps, peak stored states, time, and its ratio to
    (forward steps) x (one forward step) + one backward sweep, the sweep measured two ways: full BPTT less
    its forward pass (``ratio``: the library's batched sweep, with the forward pass the recurrence into a
    reused buffer, as ``loss_and_grads`` runs it), and the budgeted run's own sweep, its time at slots = T
    less its T forward steps (``ratio_own_sweep``: what recomputation adds beyond its steps).
    One forward step: ``stepwise.forward_step``, the step the run applies, timed over T applications."""
    params, xs, ys = cost.rnn_problem(T, B=B, D=D, H=H, K=K)
    pair, h0, hs = start_pair(np.zeros((B, H))), np.zeros((B, H)), np.empty((T + 1, B, H))

    def forward_steps() -> None:
        for x in xs:
            forward_step(params, x, pair, "tanh")

    calls: dict = {"steps": forward_steps, "full": lambda: bptt.loss_and_grads(params, xs, ys),
                   "forward": lambda: run_hidden(params, xs, h0, "tanh", out=hs)}
    for slots in slot_list:
        calls[slots] = lambda slots=slots: bptt.loss_and_grads_budget(params, xs, ys, slots=slots)
    t = interleaved(calls, rounds, warm_up=T <= 200)
    t_fwd, t_sweep = t["steps"] / T, t["full"] - t["forward"]
    rows = []
    for slots in slot_list:
        steps = bptt.checkpoint_cost(T, slots)
        rows.append({"slots": slots, "forward_steps": steps, "extra_forward": steps / T - 1,
                     "peak_stored": bptt.peak_stored(bptt.checkpoint_schedule(T, slots)),
                     "ms": t[slots] * 1e3, "ratio": t[slots] / (steps * t_fwd + t_sweep)})
    t_own_sweep = next(r["ms"] for r in rows if r["forward_steps"] == T) / 1e3 - T * t_fwd
    for row in rows:
        row["ratio_own_sweep"] = row["ms"] / 1e3 / (row["forward_steps"] * t_fwd + t_own_sweep)
        row["memory_saved"] = 1 - row["peak_stored"] / (T + 1)      # plain BPTT stores h_0 .. h_T
        row["time_vs_full_memory"] = row["ms"] / rows[0]["ms"]
    base = {"T": T, "B": B, "D": D, "H": H, "K": K, "rounds": rounds, "ms_forward_step": t_fwd * 1e3,
            "ms_full_bptt": t["full"] * 1e3, "ms_backward_sweep": t_sweep * 1e3,
            "ms_own_backward_sweep": t_own_sweep * 1e3, "worst_ratio": max(r["ratio"] for r in rows),
            "worst_ratio_own_sweep": max(r["ratio_own_sweep"] for r in rows)}
    return base, rows


def print_budget(title: str, base: dict, rows: list) -> None:
    print(f"{title}, T={base['T']} B={base['B']} D={base['D']} H={base['H']} K={base['K']}: one forward step "
          f"{base['ms_forward_step']:.3f} ms, full BPTT {base['ms_full_bptt']:.1f} ms (backward sweep "
          f"{base['ms_backward_sweep']:.1f} ms; the budgeted run's own sweep {base['ms_own_backward_sweep']:.1f} ms)")
    print("  slots  forward steps  peak stored  memory saved  time ms  vs full memory  ratio  ratio (own sweep)")
    for r in rows:
        print(f"  {r['slots']:5d}  {r['forward_steps']:13,d}  {r['peak_stored']:11d}  {r['memory_saved']:11.1%}  "
              f"{r['ms']:7.0f}  {r['time_vs_full_memory']:14.2f}  {r['ratio']:5.2f}  {r['ratio_own_sweep']:17.2f}")
    print(f"  worst ratio to (forward steps x one step + one sweep): {base['worst_ratio']:.2f} with the library's "
          f"sweep, {base['worst_ratio_own_sweep']:.2f} with the run's own (goal <= 1.2)")


def crossover(Hs: list[int], Ts: list[int], repeats: int, B: int = 8, D: int = 8, K: int = 8) -> list[dict]:
    """RTRL / BPTT time per gradient over H and T, and the numbers each holds besides its inputs."""
    rows = []
    for H in Hs:
        for T in Ts:
            params, xs, ys = cost.rnn_problem(T, B=B, D=D, H=H, K=K)
            t = interleaved({"rtrl": lambda: bptt.rtrl_loss_and_grads(params, xs, ys),
                             "bptt": lambda: bptt.loss_and_grads(params, xs, ys)}, repeats)
            t_rtrl, t_bptt = t["rtrl"], t["bptt"]
            rows.append({"H": H, "T": T, "ms_rtrl": t_rtrl * 1e3, "ms_bptt": t_bptt * 1e3, "ratio": t_rtrl / t_bptt,
                         "floats_rtrl": 2 * B * H * H * (D + H + 1),
                         "floats_bptt": (T + 1) * B * H + T * B * (2 * H + K)})
    return rows


def memory_crossover_T(H: int, B: int = 8, D: int = 8, K: int = 8) -> int:
    """The smallest T at which BPTT's buffers (states (T+1) B H, dL/dh and f' T B H each, dL/do T B K) exceed
    RTRL's two influence arrays 2 B H^2 (D + H + 1)."""
    rtrl = 2 * B * H * H * (D + H + 1)
    return int(np.floor((rtrl - B * H) / (B * (3 * H + K)))) + 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, few repeats, nothing written")
    args = ap.parse_args()
    repeats = 2 if args.quick else 9

    r = rtrl_ratio(repeats)
    print(f"RTRL, H={r['H']} B={r['B']} D={r['D']}: {r['ms_per_step']:.3f} ms per step; one square matrix product "
          f"with the same {r['macs_per_step']:,} multiply-adds {r['ms_matmul_same_macs']:.3f} ms: ratio "
          f"{r['ratio']:.2f} (goal <= 3); one product of RTRL's shape (H, H) @ (H, B P): ratio "
          f"{r['ratio_rtrl_shape']:.2f}")

    big = dict(B=64, D=32, H=256, K=32)
    T = 60 if args.quick else 200
    base, rows = budget_runs([T, T // 4, T // 10, 5, 3], 2 if args.quick else 7, T, **big)
    print_budget("budgeted BPTT", base, rows)

    T = 100 if args.quick else 1000
    slot_list = sorted({T, T // 2, T // 5, T // 10, T // 20, int(np.ceil(np.sqrt(T))), T // 50, T // 100, 5},
                       reverse=True)
    front_base, frontier = budget_runs(slot_list, 1 if args.quick else 3, T, **big)
    print_budget("memory/time frontier", front_base, frontier)

    Hs, Ts = ([2, 8], [10, 50]) if args.quick else ([1, 2, 4, 8, 16, 32], [10, 100, 1000])
    table = crossover(Hs, Ts, max(2, repeats // 2))
    print("RTRL / BPTT time per gradient (B=8, D=8, K=8); RTRL's influence vs BPTT's buffers (floats):")
    print("     H " + "".join(f"  T={T:<6d}" for T in Ts) + "  memory crossover T")
    for H in Hs:
        ratios = [row["ratio"] for row in table if row["H"] == H]
        print(f"  {H:4d} " + "".join(f"  {q:8.2f}" for q in ratios) + f"  {memory_crossover_T(H):10d}")
    wins = [(row["H"], row["T"]) for row in table if row["ratio"] < 1]
    print("  RTRL faster than BPTT at (H, T):", wins if wins else "nowhere in this grid")

    if args.quick:
        return
    RESULTS.write_text(json.dumps({
        "command": COMMAND, "machine": platform.machine(), "python": platform.python_version(),
        "numpy": np.__version__, "threads": 1, "timer": "median process CPU time",
        "rtrl_vs_matmul": r,
        "budget": {**base, "rows": rows},
        "frontier": {**front_base, "rows": frontier},
        "crossover": {"B": 8, "D": 8, "K": 8, "rows": table, "rtrl_faster_at": wins,
                      "memory_crossover_T": {str(H): memory_crossover_T(H) for H in Hs}},
    }, indent=1) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
