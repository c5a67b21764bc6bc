"""How the cost of a gradient grows with the sequence length T (chapter 4, "O(T^2) versus O(T)").

Times ``bptt.loss_and_grads`` with method="naive" (every loss term back-propagated on its own, O(T^2)) and
method="bptt" (one reverse sweep, O(T)), plus BPTT with sqrt(T) checkpoints, on one thread; measures the
peak memory of BPTT and of the checkpointed version; prints the naive/bptt time ratio per T and the log-log
slopes, and writes bptt/data/results/scaling.json (plotted by book/04_cost.ipynb).

Usage:  python benchmarks/scaling.py            (about a minute on one core)
        python benchmarks/scaling.py --quick    (a smoke run that writes nothing)
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
from bptt.studies import cost  # noqa: E402

RESULTS = Path(__file__).resolve().parents[1] / "bptt" / "data" / "results" / "scaling.json"
SIZES = dict(B=4, D=4, H=16, K=5)      # small, so the per-step work (not one big matmul) dominates
FIT_FROM = 64                           # fit slopes on T >= this, where the fixed per-call cost is negligible


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny sweep, print only, write nothing")
    args = ap.parse_args()
    if args.quick:
        Ts, mem_Ts, repeats = [16, 32, 64], [64, 128, 256], 2
    else:
        Ts, mem_Ts, repeats = [16, 32, 64, 128, 256, 512, 1024], [64, 128, 256, 512, 1024, 2048, 4096], 5

    t0 = time.perf_counter()
    times = cost.time_methods(Ts, methods=("naive", "bptt", "checkpoint"), repeats=repeats, **SIZES)
    mem = cost.memory_sweep(mem_Ts, methods=("bptt", "checkpoint"), B=8, D=4, H=32, K=5)
    elapsed = time.perf_counter() - t0

    fit = times["T"] >= min(FIT_FROM, Ts[-2])
    slopes = {m: cost.fit_loglog(times["T"][fit], times[m][fit])[0] for m in ("naive", "bptt", "checkpoint")}
    mem_slopes = {m: cost.fit_loglog(mem["T"][1:], mem[m][1:])[0] for m in ("bptt", "checkpoint")}

    print(f"{'T':>6} {'naive ms':>10} {'bptt ms':>9} {'ckpt ms':>9} {'naive/bptt':>11} {'(T+1)/2':>9}")
    for T, n, b, c in zip(times["T"], times["naive"], times["bptt"], times["checkpoint"]):
        print(f"{T:>6} {n * 1e3:>10.2f} {b * 1e3:>9.3f} {c * 1e3:>9.3f} {n / b:>11.1f} {(T + 1) / 2:>9.1f}")
    print(f"log-log time slopes (T >= {times['T'][fit][0]}): "
          + ", ".join(f"{m} {p:.2f}" for m, p in slopes.items()))
    print(f"{'T':>6} {'bptt peak KB':>13} {'ckpt peak KB':>13}")
    for T, b, c in zip(mem["T"], mem["bptt"], mem["checkpoint"]):
        print(f"{T:>6} {b / 1024:>13.0f} {c / 1024:>13.0f}")
    print("log-log memory slopes: " + ", ".join(f"{m} {p:.2f}" for m, p in mem_slopes.items()))
    print(f"sweep took {elapsed:.1f} s")

    if args.quick:
        return
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "command": "python benchmarks/scaling.py",
        "machine": {"python": platform.python_version(), "numpy": np.__version__,
                    "processor": platform.machine(), "threads": 1},
        "sizes": SIZES, "repeats": repeats, "statistic": "median CPU seconds (time.process_time) of one loss_and_grads call",
        "T": times["T"].tolist(),
        "seconds": {m: [float(f"{v:.6g}") for v in times[m]] for m in ("naive", "bptt", "checkpoint")},
        "fit_from_T": int(times["T"][fit][0]),
        "time_slopes": {m: round(p, 3) for m, p in slopes.items()},
        "memory": {"T": mem["T"].tolist(), "sizes": dict(B=8, D=4, H=32, K=5),
                   "peak_bytes": {m: mem[m].tolist() for m in ("bptt", "checkpoint")},
                   "slopes": {m: round(p, 3) for m, p in mem_slopes.items()}},
        "elapsed_s": round(elapsed, 1),
    }
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}")


if __name__ == "__main__":
    main()
