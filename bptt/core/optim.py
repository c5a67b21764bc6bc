"""Adam (Kingma & Ba, 2015), the one optimizer of the library: for the numpy models (any ``ParamArrays``,
with optional global-norm clipping) and, through ``update``, for any arrays that support arithmetic
(torch tensors in ``bptt.studies.charlm``).

    m <- b1 m + (1 - b1) g,   v <- b2 v + (1 - b2) g^2,   p <- p - lr m_hat / (sqrt(v_hat) + eps)

with m_hat = m / (1 - b1^n), v_hat = v / (1 - b2^n) after n steps: ``torch.optim.Adam``'s default rule.
"""
from __future__ import annotations

from typing import Any, Sequence, TypeVar

from .clipping import clip_grad_norm
from .params import ParamArrays
from .validation import nonneg_number

__all__ = ["Adam"]

P = TypeVar("P", bound=ParamArrays)


class Adam:
    """Adam with learning rate ``lr``, ``betas`` = (b1, b2) and ``eps``; ``max_norm``: clip the whole
    gradient to this norm first (``clip_grad_norm``), or None. The moments start at zero on the first step."""

    def __init__(self, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 max_norm: float | None = None) -> None:
        self.lr = nonneg_number(lr, "lr", strict=True)
        b1, b2 = betas
        for name, b in (("betas[0]", b1), ("betas[1]", b2)):
            if not 0.0 <= nonneg_number(b, name) < 1.0:
                raise ValueError(f"{name} must lie in [0, 1), got {b!r}")
        self.betas, self.eps = (float(b1), float(b2)), nonneg_number(eps, "eps")
        self.max_norm = None if max_norm is None else nonneg_number(max_norm, "max_norm")
        self.m: list[Any] | None = None
        self.v: list[Any] | None = None
        self.n = 0

    def update(self, arrays: Sequence[Any], grads: Sequence[Any]) -> list[Any]:
        """One Adam step on a list of arrays (numpy arrays or torch tensors) with their gradients; returns
        the new arrays (the inputs are not modified). No clipping here."""
        if len(arrays) != len(grads):
            raise ValueError(f"arrays and grads must have the same length, got {len(arrays)} and {len(grads)}")
        if self.m is None:
            self.m = [g * 0.0 for g in grads]
            self.v = [g * 0.0 for g in grads]
        assert self.v is not None
        self.n += 1
        b1, b2 = self.betas
        c1, c2 = 1.0 - b1 ** self.n, 1.0 - b2 ** self.n
        new = []
        for k, (p, g) in enumerate(zip(arrays, grads)):
            self.m[k] = b1 * self.m[k] + (1.0 - b1) * g
            self.v[k] = b2 * self.v[k] + (1.0 - b2) * g * g
            new.append(p - self.lr * (self.m[k] / c1) / ((self.v[k] / c2) ** 0.5 + self.eps))
        return new

    def step(self, params: P, grads: P) -> P:
        """The updated parameters: a new object of the type and structure of ``params`` (any ``ParamArrays``),
        after clipping ``grads`` to ``max_norm`` if set."""
        if self.max_norm is not None:
            grads = clip_grad_norm(grads, self.max_norm)[0]
        updated = iter(self.update(params.arrays(), grads.arrays()))
        return params.map(lambda _: next(updated))    # same type and structure, arrays() order
