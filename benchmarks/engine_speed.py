"""How fast is the live engine (bptt/present/static/lab/bptt.js) in the browser? Measured in one run.

Headless Chromium (Debian's, driven by Playwright, network off) imports the engine through a blob: URL, as a
page opened from file:// does, and times gradientNorms (the whole T x T gradient-flow map) and lossAndGrads at
T=100, B=1, D=8, H=32, K=8 (and T=200, the live widgets' longest sequence) after a warm-up:
  * wall time per call: median and best (minimum) over batches of 10 calls (a page's clock ticks in 0.1 ms);
  * CPU time per call: the renderer process's CPU time (/proc) over many calls, divided by their number,
    which other processes sharing the cores do not stretch (on a busy machine it is the figure to trust).
The same inputs go through bptt.gradient_norms and bptt.loss_and_grads in this process (single thread; wall
median and best, and CPU time), and the two answers are checked to agree. Prints the times and the ratios;
goal: gradientNorms under 5 ms (60 frames a second while a control is dragged).
Writes benchmarks/results/engine_speed.json.   Usage: python benchmarks/engine_speed.py [--runs N]
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # single thread, before numpy loads its BLAS

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

import bptt

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))
from book_site import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

ENGINE = ROOT / "bptt" / "present" / "static" / "lab" / "bptt.js"
GOAL_MS = 5.0
BATCH = 10
TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")

IMPORT_JS = """async (source) => {
  const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  window.E = await import(url);
}"""

# JavaScript: `name`(...args) `warmup` times, then `batches` timed batches of `batch` calls (ms per call)
WALL_JS = """([name, args, warmup, batches, batch]) => {
  const fn = () => window.E[name](...args);
  for (let i = 0; i < warmup; i++) fn();
  const times = [];
  for (let i = 0; i < batches; i++) {
    const t0 = performance.now();
    for (let j = 0; j < batch; j++) fn();
    times.push((performance.now() - t0) / batch);
  }
  return { out: fn(), times };
}"""

LOOP_JS = """([name, args, n]) => { for (let i = 0; i < n; i++) window.E[name](...args); }"""


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def renderers() -> list[int]:
    """The Chromium renderer processes this script started (where a page's JavaScript runs)."""
    found = []
    for pid in descendants(os.getpid()):
        try:
            if b"--type=renderer" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
        except OSError:
            pass
    return found


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of the processes, in seconds."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total * TICK_S


def python_times(fn, runs: int, warmup: int = 20) -> tuple[float, float, float]:
    """(median wall, best wall, CPU time) of fn() in ms per call."""
    for _ in range(warmup):
        fn()
    times = []
    c0 = time.process_time()
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    cpu = (time.process_time() - c0) / runs
    return 1e3 * statistics.median(times), 1e3 * min(times), 1e3 * cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=300, help="calls per measurement (default 300)")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    rows = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(offline=True)
        page = context.new_page()
        page.goto("about:blank")
        page.evaluate(IMPORT_JS, ENGINE.read_text(encoding="utf-8"))
        version = browser.version
        pids = renderers()
        for T in (100, 200):
            D, B, H, K = 8, 1, 32, 8
            params = bptt.RNNParams.random(D, H, K, seed=0)
            rng = np.random.default_rng(1)
            xs, ys = rng.normal(size=(T, B, D)), rng.integers(0, K, size=(T, B))
            js_args = [{k: getattr(params, k).tolist() for k in "UWVbc"}, xs.tolist(), ys.tolist()]
            for js_name, py_fn in (("gradientNorms", lambda: bptt.gradient_norms(params, xs, ys)),
                                   ("lossAndGrads", lambda: bptt.loss_and_grads(params, xs, ys))):
                r = page.evaluate(WALL_JS, [js_name, js_args, 50, args.runs // BATCH, BATCH])
                expected = py_fn()
                if js_name == "gradientNorms":
                    np.testing.assert_allclose(r["out"], expected, rtol=1e-9, atol=1e-12 * np.abs(expected).max())
                else:
                    np.testing.assert_allclose(r["out"]["loss"], expected[0], rtol=1e-9)
                    np.testing.assert_allclose(r["out"]["grads"]["W"], expected[1].W, rtol=1e-9,
                                               atol=1e-12 * np.abs(expected[1].W).max())
                # CPU time: enough calls for about a second of work, so the 10 ms tick is a 1% error
                n = max(args.runs, int(1000 / max(statistics.median(r["times"]), 0.05)))
                c0 = cpu_seconds(pids)
                page.evaluate(LOOP_JS, [js_name, js_args, n])
                js_cpu = 1e3 * (cpu_seconds(pids) - c0) / n if pids else float("nan")
                py_med, py_best, py_cpu = python_times(py_fn, args.runs)
                rows.append(dict(function=js_name, T=T, B=B, D=D, H=H, K=K,
                                 js_median_ms=statistics.median(r["times"]), js_best_ms=min(r["times"]),
                                 js_cpu_ms=js_cpu, python_median_ms=py_med, python_best_ms=py_best,
                                 python_cpu_ms=py_cpu, js_over_python_cpu=js_cpu / py_cpu))
        browser.close()

    load = os.getloadavg()[0] / (os.cpu_count() or 1)
    print(f"Chromium {version} (headless, offline) vs numpy {np.__version__} (1 thread); {args.runs} calls a "
          f"measurement; machine load {load:.1f} per core (wall times stretch on a busy machine, CPU times do not)")
    print(f"{'':21}{'---------- JS ms ----------':>28}{'-------- Python ms --------':>29}")
    print(f"{'engine function':<16}{'T':>5}{'median':>9}{'best':>9}{'CPU':>9}  {'median':>9}{'best':>9}{'CPU':>9}"
          f"{'JS/Py CPU':>11}")
    for r in rows:
        print(f"{r['function']:<16}{r['T']:>5}{r['js_median_ms']:>9.3f}{r['js_best_ms']:>9.3f}{r['js_cpu_ms']:>9.3f}  "
              f"{r['python_median_ms']:>9.3f}{r['python_best_ms']:>9.3f}{r['python_cpu_ms']:>9.3f}"
              f"{r['js_over_python_cpu']:>11.2f}")
    m = rows[0]
    verdict = "meets" if m["js_cpu_ms"] < GOAL_MS else "misses"
    print(f"gradientNorms at T=100, B=1, D=8, H=32, K=8 in Chromium: {m['js_cpu_ms']:.2f} ms of CPU per call "
          f"({verdict} the {GOAL_MS:g} ms goal; wall median {m['js_median_ms']:.2f} ms, best {m['js_best_ms']:.2f} ms), "
          f"{m['js_over_python_cpu']:.2f} x bptt.gradient_norms ({m['python_cpu_ms']:.2f} ms)")
    out = ROOT / "benchmarks" / "results" / "engine_speed.json"
    out.write_text(json.dumps({
        "command": "python benchmarks/engine_speed.py " + " ".join(sys.argv[1:]),
        "chromium": version, "numpy": np.__version__, "python": platform.python_version(),
        "machine": platform.machine(), "date": time.strftime("%Y-%m-%d"), "runs": args.runs,
        "load_per_core": round(load, 2), "goal_ms": GOAL_MS, "results": rows}, indent=1) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
