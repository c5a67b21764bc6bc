"""Reusable scratch arrays for the internals of ``loss_and_grads``.

A gradient call needs several (T, B, H)-sized temporaries (states, logits, dL/dh, f'). Allocating them
afresh each call costs page faults that, at T=100, B=32, H=128, take a quarter of the run time. The
cache keeps one buffer per role and thread, replaced when the shape changes, so memory stays bounded.
Only arrays that never leave the library are taken from here; everything returned to a caller is new.
"""
from __future__ import annotations

import threading

import numpy as np
from numpy.typing import NDArray

__all__: list[str] = []   # internal

_local = threading.local()


def scratch(role: str, shape: tuple[int, ...]) -> NDArray[np.float64]:
    """An uninitialised float64 array of ``shape`` for ``role``, reused by later calls with that shape."""
    cache: dict[str, NDArray[np.float64]] = _local.__dict__.setdefault("cache", {})
    buf = cache.get(role)
    if buf is None or buf.shape != shape:
        buf = cache[role] = np.empty(shape)
    return buf
