"""The online-learning race of chapter 10: RTRL, SnAp-1, UORO and truncated BPTT (two windows) train the
same small RNN on the same stream, updating the weights after EVERY step.

The task (bptt.studies.online_study.recall_stream): B = 4 endless streams of random symbols from K = 4;
the target at step t is the symbol seen `delay` = 3 steps earlier, so the network must remember the last
three symbols (chance 1/4). Each method gets the gradient of the current loss term only, as it estimates
it, and Adam (lr 3e-3, clipped to norm 1) applies it at once. Five seeds; a seed fixes the stream, the
initial weights and UORO's signs, so every method sees the same data. Records the accuracy and loss
curves (means over blocks of 100 steps), the CPU time per step and the numbers each method keeps, prints
a table and writes bptt/data/results/online_race.json, which book/10_beyond_bptt.ipynb plots.

    python benchmarks/online_race.py      # about five minutes on 2 CPU cores
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

from bptt.studies import online_study  # noqa: E402

#: (label, method, window tau): truncated BPTT with the equal-cost window and with one just long enough
RUNS = [("rtrl", "rtrl", 1), ("snap1", "snap1", 1), ("uoro", "uoro", 1), ("tbptt2", "tbptt", 2),
        ("tbptt4", "tbptt", 4)]
SEEDS = [0, 1, 2, 3, 4]
CONFIG = dict(steps=4000, B=4, H=16, K=4, delay=3, lr=3e-3)
BLOCK = 100
OUT = Path(__file__).resolve().parents[1] / "bptt" / "data" / "results" / "online_race.json"


def run_one(job: tuple[str, str, int, int]) -> dict:
    label, method, tau, seed = job
    r = online_study.race(method, tau=tau, seed=seed, **CONFIG)
    return dict(label=label, method=method, tau=tau, seed=seed,
                accuracy=[round(float(a), 4) for a in online_study.smooth(r.correct, BLOCK)],
                loss=[round(float(a), 4) for a in online_study.smooth(r.losses, BLOCK)],
                final_accuracy=round(float(r.correct[-500:].mean()), 4),
                ms_per_step=round(1e3 * r.seconds_per_step, 4), floats=int(r.floats))


def main() -> None:
    jobs = [(label, m, tau, s) for label, m, tau in RUNS for s in SEEDS]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        runs = list(pool.map(run_one, jobs))
    wall = time.perf_counter() - t0
    print(f"{'method':>8} {'final acc (5 seeds)':>34} {'mean':>6} {'ms/step':>8} {'floats':>7}")
    for label, _, _ in RUNS:
        rs = [r for r in runs if r["label"] == label]
        accs = [r["final_accuracy"] for r in rs]
        print(f"{label:>8} {' '.join(f'{a:.2f}' for a in accs):>34} {np.mean(accs):6.2f} "
              f"{np.median([r['ms_per_step'] for r in rs]):8.3f} {rs[0]['floats']:7d}")
    print(f"chance = {1 / CONFIG['K']:.2f}; wall time {wall:.0f} s")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(dict(
        command="python benchmarks/online_race.py", seeds=SEEDS, config=CONFIG, block=BLOCK,
        chance=1 / CONFIG["K"], wall_s=round(wall, 1),
        machine=f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_implementation()} "
                f"{platform.python_version()}, numpy {np.__version__}",
        runs=runs), indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
