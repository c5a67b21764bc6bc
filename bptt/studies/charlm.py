"""A character-level language model trained with (truncated) BPTT, on the library's own RNN in torch.

The pieces, in the order the chapter uses them:

* ``load_text`` / ``Vocab``: the corpus shipped in ``bptt/data/`` and a character vocabulary (encode/decode).
* ``stream_layout`` / ``sequential_batches``: the corpus cut into B contiguous streams (one per batch row);
  minibatch i holds positions i*T .. (i+1)*T - 1 of every stream, so minibatch i+1 *continues* minibatch i
  row by row and the hidden state can be carried across them.
* ``CharRNN``: ``TorchRNN`` (U, W, V, b, c as in ``bptt.RNNParams``) fed one-hot characters.
* ``train``: Adam + ``torch.nn.utils.clip_grad_norm_`` over sequential minibatches with the state carried
  (and detached) between them; within a minibatch the graph is full ("full"), cut every k steps ("detach")
  or cut at random with unbiased rescaling ("randomized", factors from ``bptt.draw_xi``).
* ``evaluate`` / ``perplexity``: mean cross-entropy per character (nats) and exp of it.
* ``sample``: text from the model with a seeded ``torch.Generator``.
* ``connectivity``: ||d o_t[j] / d x_k|| over k, how strongly each earlier character moves the logit of
  the character predicted at position t (Madsen, "Visualizing memorization in RNNs", Distill 2019).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..core.optim import Adam
from ..core.truncation import draw_xi
from ..core.validation import positive_int, probability
from ..data import DATA_DIR
from .torch_ref import TorchRNN

#: the corpus shipped with the course, inside the package (see bptt/data/README.md)
DATA_PATH = DATA_DIR / "tinyshakespeare.txt"
STRATEGIES = ("full", "detach", "randomized")


# --------------------------------------------------------------------------- text
def load_text(n_chars: int | None = None, path: str | Path | None = None) -> str:
    """The first ``n_chars`` characters of the corpus (all of it if None)."""
    path = DATA_PATH if path is None else Path(path)
    if not path.is_file():
        raise ValueError(f"corpus file not found: {path} (the package ships bptt/data/tinyshakespeare.txt)")
    text = path.read_text(encoding="utf-8")
    if n_chars is not None:
        text = text[:positive_int(n_chars, "n_chars")]
    return text


@dataclass(frozen=True)
class Vocab:
    """The sorted distinct characters of a text; a character's id is its index in ``chars``."""

    chars: str

    @classmethod
    def from_text(cls, text: str) -> "Vocab":
        if not isinstance(text, str) or not text:
            raise ValueError("Vocab.from_text needs a non-empty string")
        return cls("".join(sorted(set(text))))

    @property
    def size(self) -> int:
        """K, the number of distinct characters."""
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        """Text -> int64 ids: (len(text),)."""
        index = {ch: i for i, ch in enumerate(self.chars)}
        unknown = sorted(set(text) - set(index))
        if unknown:
            raise ValueError(f"characters not in the vocabulary: {unknown!r}")
        return np.fromiter((index[ch] for ch in text), dtype=np.int64, count=len(text))

    def decode(self, ids: Any) -> str:
        """Ids (any shape, read in order) -> text."""
        return "".join(self.chars[int(i)] for i in np.asarray(ids).ravel())


# --------------------------------------------------------------------------- sequential batching
def stream_layout(n_tokens: int, batch_size: int, seq_len: int) -> tuple[int, int]:
    """(stream length L, minibatches per epoch). The corpus of n_tokens ids is cut into B contiguous streams
    of L = n_tokens // B ids (the remainder is dropped); a minibatch needs seq_len inputs plus the next id
    as target, so an epoch has (L - 1) // seq_len minibatches."""
    n_tokens, B, T = (positive_int(v, n) for v, n in ((n_tokens, "n_tokens"), (batch_size, "batch_size"),
                                                      (seq_len, "seq_len")))
    L = n_tokens // B
    if L < T + 1:
        raise ValueError(f"{n_tokens} tokens in {B} streams give streams of {L} ids; need at least seq_len + 1 = {T + 1}")
    return L, (L - 1) // T


def num_batches(n_tokens: int, batch_size: int, seq_len: int) -> int:
    """Minibatches per epoch of the sequential layout (see ``stream_layout``)."""
    return stream_layout(n_tokens, batch_size, seq_len)[1]


def sequential_batches(ids: np.ndarray, batch_size: int, seq_len: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The minibatches of one epoch, in order: a list of (x, y), both (T, B) int64 with y[t] = the id after x[t].
    Row b of minibatch i is stream b at positions i*T .. (i+1)*T - 1, so minibatch i+1 continues minibatch i."""
    ids = np.asarray(ids)
    if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"ids must be a 1-d integer array, got dtype {ids.dtype} and shape {ids.shape}")
    L, n = stream_layout(len(ids), batch_size, seq_len)
    streams = torch.as_tensor(ids[:batch_size * L].reshape(batch_size, L).T.copy())  # (L, B)
    return [(streams[i * seq_len:(i + 1) * seq_len], streams[i * seq_len + 1:(i + 1) * seq_len + 1])
            for i in range(n)]


def batch_positions(n_tokens: int, batch_size: int, seq_len: int) -> np.ndarray:
    """(B, L) array: the corpus position of stream b's j-th id (for drawing the layout)."""
    L, _ = stream_layout(n_tokens, batch_size, seq_len)
    return np.arange(batch_size)[:, None] * L + np.arange(L)[None, :]


# --------------------------------------------------------------------------- the model
class CharRNN(nn.Module):
    """``TorchRNN`` over one-hot characters: x_t = onehot(id_t) in R^K, h_t = tanh(U x_t + W h_{t-1} + b),
    o_t = V h_t + c (the logits of the next character)."""

    def __init__(self, vocab_size: int, n_hidden: int, *, seed: int = 0, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        vocab_size, n_hidden = positive_int(vocab_size, "vocab_size"), positive_int(n_hidden, "n_hidden")
        self.vocab_size = vocab_size
        self.rnn = TorchRNN(vocab_size, n_hidden, vocab_size, dtype=dtype, seed=seed)
        with torch.no_grad():   # a recurrent matrix with spectral norm below 1 keeps early training stable
            W = self.rnn.W
            W.mul_(0.9 / torch.linalg.matrix_norm(W, 2))

    def one_hot(self, ids: torch.Tensor) -> torch.Tensor:
        """(T, B) ids -> (T, B, K) one-hot inputs in the model's dtype."""
        return F.one_hot(ids, self.vocab_size).to(self.rnn.dtype)

    def forward(self, ids: torch.Tensor, h0: torch.Tensor | None = None, *, detach_every: int | None = None,
                xi: np.ndarray | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """ids: (T, B) -> (logits (T, B, K), last state (B, H), still attached to the graph)."""
        hs, logits = self.rnn.unroll(self.one_hot(ids), h0, detach_every=detach_every, xi=xi)
        return logits, hs[-1]


def mean_nll(logits: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy per character (nats). logits: (T, B, K), ys: (T, B)."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ys.reshape(-1))


def perplexity(nll: float) -> float:
    """exp(mean cross-entropy per character in nats): the size of a uniform choice that is equally surprised."""
    return float(math.exp(nll))


# --------------------------------------------------------------------------- training
@dataclass
class TrainLog:
    """What ``train`` measured. losses[i] = training loss (nats/char) of update i; eval_at / eval_nll =
    validation loss after those updates; checkpoints: update -> state_dict copy."""

    strategy: str
    losses: list[float] = field(default_factory=list)
    grad_norms: list[float] = field(default_factory=list)
    eval_at: list[int] = field(default_factory=list)
    eval_nll: list[float] = field(default_factory=list)
    checkpoints: dict[int, dict[str, torch.Tensor]] = field(default_factory=dict)
    seconds: float = 0.0


def train(model: CharRNN, train_ids: np.ndarray, *, strategy: str = "full", n_updates: int = 100,
          batch_size: int = 32, seq_len: int = 64, k: int = 8, keep_prob: float | None = None,
          lr: float = 5e-3, clip: float = 1.0, seed: int = 0, val_ids: np.ndarray | None = None,
          eval_every: int = 0, checkpoints: tuple[int, ...] = (), device: str | torch.device = "cpu") -> TrainLog:
    """Train ``model`` in place with Adam on sequential minibatches of ``train_ids``; return a TrainLog.

    Every strategy sees the same minibatches and makes one update per minibatch; the state is carried
    from one minibatch to the next and detached there (reset to zeros at the start of each epoch).
    Within a minibatch of seq_len steps: "full" back-propagates through all of them, "detach" cuts the
    graph every ``k`` steps, "randomized" multiplies the carried gradient by xi_t (``bptt.draw_xi`` with
    keep_prob, default 1 - 1/k so a cut is expected every k steps). Gradients are clipped to norm ``clip``
    by ``torch.nn.utils.clip_grad_norm_``. Checkpoints are taken after the listed update counts (0 = before
    training). Validation (``evaluate``) runs every ``eval_every`` updates and at the end if val_ids is given.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
    n_updates, k = positive_int(n_updates, "n_updates"), positive_int(k, "k")
    keep_prob = probability(1.0 - 1.0 / k if keep_prob is None else keep_prob, "keep_prob")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model.to(device)
    batches = sequential_batches(train_ids, batch_size, seq_len)
    params = list(model.parameters())
    opt = Adam(lr=lr)          # bptt.Adam on the tensors: torch.optim would first import torch._dynamo (seconds)
    log = TrainLog(strategy)
    if 0 in checkpoints:
        log.checkpoints[0] = {n: v.detach().cpu().clone() for n, v in model.state_dict().items()}
    h = None
    start = time.perf_counter()
    for i in range(n_updates):
        j = i % len(batches)
        if j == 0:
            h = None                                    # a new epoch starts every stream afresh
        x, y = (t.to(device) for t in batches[j])
        kw: dict[str, Any] = {}
        if strategy == "detach":
            kw["detach_every"] = k
        elif strategy == "randomized":
            kw["xi"] = draw_xi(seq_len, keep_prob, rng)
        logits, h_last = model(x, h, **kw)
        loss = mean_nll(logits, y)
        for p in params:
            p.grad = None
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(params, clip)
        with torch.no_grad():
            for p, new in zip(params, opt.update([p.detach() for p in params], [p.grad for p in params])):
                p.copy_(new)
        h = h_last.detach()                              # carry the value, cut the graph
        log.losses.append(float(loss.detach()))
        log.grad_norms.append(float(gn))
        done = i + 1
        if done in checkpoints:
            log.checkpoints[done] = {n: v.detach().cpu().clone() for n, v in model.state_dict().items()}
        if val_ids is not None and ((eval_every and done % eval_every == 0) or done == n_updates):
            log.eval_at.append(done)
            log.eval_nll.append(evaluate(model, val_ids, batch_size=batch_size, seq_len=seq_len))
    log.seconds = time.perf_counter() - start
    return log


@torch.no_grad()
def position_losses(model: CharRNN, ids: np.ndarray, *, batch_size: int = 32, seq_len: int = 64,
                    state: str = "carry", seed: int = 0) -> np.ndarray:
    """Mean loss (nats) at each position 0 .. seq_len-1 of a minibatch over one pass of ``ids``: (seq_len,).
    state: "carry" (sequential minibatches, state carried), "reset" (zeros before every minibatch) or
    "shuffled" (minibatches visited in a random order, the state carried from whichever came before)."""
    if state not in ("carry", "reset", "shuffled"):
        raise ValueError(f"state must be 'carry', 'reset' or 'shuffled', got {state!r}")
    device = next(model.parameters()).device
    batches = sequential_batches(ids, batch_size, seq_len)
    order = np.random.default_rng(seed).permutation(len(batches)) if state == "shuffled" else range(len(batches))
    total = torch.zeros(seq_len, dtype=torch.float64)
    h = None
    for j in order:
        x, y = (t.to(device) for t in batches[j])
        logits, h = model(x, None if state == "reset" else h)
        total += F.cross_entropy(logits.permute(0, 2, 1), y, reduction="none").mean(1).double().cpu()
    return (total / len(batches)).numpy()


def evaluate(model: CharRNN, ids: np.ndarray, *, batch_size: int = 32, seq_len: int = 64) -> float:
    """Mean cross-entropy per character (nats) over ``ids`` in the sequential layout, state carried."""
    return float(position_losses(model, ids, batch_size=batch_size, seq_len=seq_len).mean())


@torch.no_grad()
def sample(model: CharRNN, vocab: Vocab, prime: str, n_chars: int, *, temperature: float = 0.8,
           seed: int = 0) -> str:
    """``prime`` followed by n_chars characters drawn one at a time from softmax(o_t / temperature),
    with a ``torch.Generator`` seeded by ``seed`` (the same seed gives the same text)."""
    if not prime:
        raise ValueError("prime must be a non-empty string (the model needs a first character)")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature!r}")
    device = next(model.parameters()).device
    gen = torch.Generator(device="cpu").manual_seed(seed)
    ids = torch.as_tensor(vocab.encode(prime), device=device)[:, None]
    logits, h = model(ids)
    out = []
    for _ in range(positive_int(n_chars, "n_chars")):
        probs = torch.softmax(logits[-1, 0].double().cpu() / temperature, dim=-1)
        nxt = int(torch.multinomial(probs, 1, generator=gen))
        out.append(nxt)
        logits, h = model(torch.tensor([[nxt]], device=device), h)
    return prime + vocab.decode(out)


def connectivity(model: CharRNN, ids: np.ndarray, position: int) -> tuple[np.ndarray, int]:
    """Gradient flow from one prediction back to the inputs: c[k] = ||d o_t[j] / d x_k|| for k = 0 .. t,
    where t = position, x_k is the one-hot input at step k and j = argmax o_t is the character the model
    predicts after position t. The full graph is used (no truncation). Returns (c: (t+1,), j)."""
    ids = np.asarray(ids)
    if ids.ndim != 1 or not (0 <= position < len(ids)):
        raise ValueError(f"need 1-d ids and a position in [0, {len(ids)}), got shape {ids.shape}, position {position}")
    xs = model.one_hot(torch.as_tensor(ids[:position + 1])[:, None]).detach().requires_grad_(True)
    hs, logits = model.rnn.unroll(xs)
    j = int(logits[-1, 0].argmax())
    logits[-1, 0, j].backward()
    return torch.linalg.norm(xs.grad[:, 0], dim=-1).double().numpy(), j
