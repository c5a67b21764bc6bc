"""Full-sequence BPTT vs detach every k vs randomized truncation on a character-level language model.

The longer version of the comparison in book/08_pytorch.ipynb, with the same code (``bptt.studies.charlm.train``):
the whole tiny-shakespeare corpus (last 10 % held out), a bigger hidden layer and more updates. Every
strategy sees the same sequential minibatches and makes one Adam update per minibatch, so they cost the
same; they differ only in how far back each minibatch's gradient reaches.

Usage (from the repository root):
    python benchmarks/charlm_truncation.py                 # writes bptt/data/results/charlm_truncation.json
    python benchmarks/charlm_truncation.py --updates 300   # a quicker run
Runs on a GPU when torch.cuda.is_available(), on the CPU otherwise (7.5 minutes on a busy 2-core CPU).
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bptt.studies import charlm  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--updates", type=int, default=1200)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq-len", type=int, default=64)
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--lr", type=float, default=5e-3)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--eval-every", type=int, default=150)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="CPU threads (tiny matrices: 1 is fastest)")
    ap.add_argument("--out", default=str(ROOT / "bptt" / "data" / "results" / "charlm_truncation.json"))
    args = ap.parse_args()

    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.set_num_threads(args.threads)
    text = charlm.load_text()
    vocab = charlm.Vocab.from_text(text)
    ids = vocab.encode(text)
    split = int(0.9 * len(ids))
    train_ids, val_ids = ids[:split], ids[split:]
    per_epoch = charlm.num_batches(len(train_ids), args.batch, args.seq_len)
    print(f"device={device} chars={len(ids)} vocab={vocab.size} minibatches/epoch={per_epoch}", flush=True)

    runs = {}
    for strategy in charlm.STRATEGIES:
        model = charlm.CharRNN(vocab.size, args.hidden, seed=args.seed)
        log = charlm.train(model, train_ids, strategy=strategy, n_updates=args.updates, batch_size=args.batch,
                           seq_len=args.seq_len, k=args.k, lr=args.lr, clip=args.clip, seed=args.seed,
                           val_ids=val_ids, eval_every=args.eval_every, device=device)
        sample = charlm.sample(model.cpu(), vocab, "ROMEO:\n", 300, temperature=0.8, seed=0)
        r5 = lambda xs: [round(float(x), 5) for x in xs]  # noqa: E731
        runs[strategy] = {"train_loss": r5(log.losses), "grad_norm": r5(log.grad_norms), "eval_at": log.eval_at,
                          "val_nll": r5(log.eval_nll), "val_ppl": r5(charlm.perplexity(v) for v in log.eval_nll),
                          "seconds": log.seconds, "sample": sample}
        print(f"{strategy:>10}: val ppl {runs[strategy]['val_ppl'][-1]:.3f}  ({log.seconds:.0f} s)", flush=True)

    full = runs["full"]["val_ppl"][-1]
    for s in charlm.STRATEGIES:
        print(f"{s:>10}: final val ppl / full = {runs[s]['val_ppl'][-1] / full:.4f}")
    result = {
        "command": "python benchmarks/charlm_truncation.py " + " ".join(sys.argv[1:]),
        "config": {**{k: v for k, v in vars(args).items() if k != "out"}, "keep_prob": 1 - 1 / args.k,
                   "train_chars": int(len(train_ids)), "val_chars": int(len(val_ids)), "vocab": vocab.size,
                   "minibatches_per_epoch": per_epoch},
        "device": device if device == "cpu" else torch.cuda.get_device_name(),
        "torch": torch.__version__, "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d"),
        "runs": runs,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    np.seterr(all="raise")
    main()
