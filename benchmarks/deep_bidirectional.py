"""Forward-only vs bidirectional RNNs (1 and 2 layers) on the future-copy task of bptt.studies.deep_study as
the delay grows: the label at step t is the input `delay` steps later.

For every delay, model and seed: train with numpy Adam on fresh batches (bptt.deep_loss_and_grads),
then measure the accuracy on 1000 new sequences over the steps whose label lies in the future
(chance = 1/K). Prints a table and writes bptt/data/results/deep_bidirectional.json, which
book/09_deep.ipynb plots.

    python benchmarks/deep_bidirectional.py      # a few minutes on 2 CPU cores
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

from bptt.studies import deep_study  # noqa: E402

DELAYS = [1, 2, 4, 8, 12, 16]
MODELS = [(1, False), (2, False), (1, True), (2, True)]      # (n_layers, bidirectional)
SEEDS = [0, 1, 2]
CONFIG = dict(T=24, K=4, steps=600, hidden=32, batch=32, lr=1e-2, n_test=1000)
OUT = Path(__file__).resolve().parents[1] / "bptt" / "data" / "results" / "deep_bidirectional.json"


def run_one(job: tuple[int, bool, int, int]) -> dict:
    n_layers, bi, delay, seed = job
    t0 = time.process_time()
    r = deep_study.train_future(n_layers, bi, delay=delay, seed=seed, **CONFIG)
    return dict(n_layers=n_layers, bidirectional=bi, delay=delay, seed=seed, accuracy=r.accuracy,
                final_loss=float(r.losses[-50:].mean()), cpu_s=round(time.process_time() - t0, 2))


def name(n_layers: int, bi: bool) -> str:
    return f"{'bidirectional' if bi else 'forward'} N={n_layers}"


def main() -> None:
    jobs = [(n, bi, d, s) for d in DELAYS for (n, bi) in MODELS for s in SEEDS]
    jobs.sort(key=lambda j: -j[0] * (2 if j[1] else 1))      # longest first keeps the workers busy
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        runs = list(pool.map(run_one, jobs))
    wall = time.perf_counter() - t0
    runs.sort(key=lambda r: (r["bidirectional"], r["n_layers"], r["delay"], r["seed"]))
    print(f"{'model':>18} " + " ".join(f"d={d:>3}" for d in DELAYS))
    for n, bi in MODELS:
        accs = [np.mean([r["accuracy"] for r in runs if (r["n_layers"], r["bidirectional"], r["delay"]) == (n, bi, d)])
                for d in DELAYS]
        print(f"{name(n, bi):>18} " + " ".join(f"{a:5.2f}" for a in accs))
    print(f"chance = {1 / CONFIG['K']:.2f}; wall time {wall:.0f} s")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(dict(
        command="python benchmarks/deep_bidirectional.py", delays=DELAYS, seeds=SEEDS, config=CONFIG,
        chance=1 / CONFIG["K"], wall_s=round(wall, 1), machine=f"{platform.machine()}, {os.cpu_count()} CPU cores",
        runs=runs), indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
