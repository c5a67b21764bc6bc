"""Vanilla RNN vs LSTM on the recall task of bptt.studies.tasks as the delay T grows.

For every delay T, model (RNN; LSTM with forget-gate bias 1 and 3) and seed: train with numpy Adam on
fresh batches, then measure the last-step accuracy on 1000 new sequences (chance = 1/K). Prints a table
and writes bptt/data/results/lstm_vs_rnn.json, which book/07_lstm.ipynb plots.

    python benchmarks/lstm_vs_rnn.py            # about 5 minutes on 2 CPU cores
"""
from __future__ import annotations

import json
import os
import platform
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # tiny matrices: one thread per worker is fastest

import numpy as np  # noqa: E402

from bptt.studies import tasks  # noqa: E402

DELAYS = [5, 10, 20, 30, 40, 60, 80]
MODELS = [("rnn", None), ("lstm", 1.0), ("lstm", 3.0)]
SEEDS = [0, 1, 2]
CONFIG = dict(steps=600, batch=32, hidden=32, K=4, lr=1e-2, n_test=1000)
OUT = Path(__file__).resolve().parents[1] / "bptt" / "data" / "results" / "lstm_vs_rnn.json"


def run_one(job: tuple[str, float | None, int, int]) -> dict:
    model, fb, T, seed = job
    t0 = time.process_time()
    r = tasks.train_recall(model, T, seed=seed, forget_bias=1.0 if fb is None else fb, **CONFIG)
    return dict(model=model, forget_bias=fb, T=T, seed=seed, accuracy=r.accuracy,
                final_loss=float(r.losses[-50:].mean()), cpu_s=round(time.process_time() - t0, 2))


def main() -> None:
    jobs = [(m, fb, T, s) for T in DELAYS for (m, fb) in MODELS for s in SEEDS]
    jobs.sort(key=lambda j: -j[2] * (4 if j[0] == "lstm" else 1))  # longest first keeps the workers busy
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        runs = list(pool.map(run_one, jobs))
    wall = time.perf_counter() - t0
    runs.sort(key=lambda r: (r["model"], r["forget_bias"] or 0, r["T"], r["seed"]))
    print(f"{'model':>12} " + " ".join(f"T={T:>3}" for T in DELAYS))
    for m, fb in MODELS:
        name = m if fb is None else f"{m} b_f={fb:g}"
        accs = [np.mean([r["accuracy"] for r in runs if r["model"] == m and r["forget_bias"] == fb and r["T"] == T])
                for T in DELAYS]
        print(f"{name:>12} " + " ".join(f"{a:5.2f}" for a in accs))
    print(f"chance = {1 / CONFIG['K']:.2f}; wall time {wall:.0f} s")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(dict(
        command="python benchmarks/lstm_vs_rnn.py", delays=DELAYS, seeds=SEEDS, config=CONFIG,
        chance=1 / CONFIG["K"], wall_s=round(wall, 1), machine=f"{platform.machine()}, {os.cpu_count()} CPU cores",
        runs=runs), indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
