"""Checkers for the exercises of the chapter "Vanishing and exploding gradients" (book/06_vanishing.ipynb)."""
from __future__ import annotations

from typing import Any

from ..core.activations import DERIVATIVE_BOUND
from ..core.clipping import clip_elementwise as clip_element
from ..core.diagnostics import cosine
from ..core.spectral import top_singular_value
from ..studies.vanishing import EXERCISE_GRADIENT, exercise_matrix
from . import checks


@checks.exercise("vanishing-1", hint="the bound is (gamma sigma_max)^(t-k); gamma for sigmoid is max s(1-s)")
def _check_threshold(answer: Any) -> tuple[bool, str]:
    return checks.close(answer, 1.0 / DERIVATIVE_BOUND["sigmoid"], what="threshold on sigma_max")


@checks.exercise("vanishing-2", hint="sigma_max is np.linalg.norm(W, 2); raise gamma * sigma_max to the 20th power")
def _check_bound20(answer: Any) -> tuple[bool, str]:
    rate = DERIVATIVE_BOUND["sigmoid"] * top_singular_value(exercise_matrix())
    return checks.close(answer, rate ** 20, what="bound after 20 steps")


@checks.exercise("vanishing-3", hint="clip with np.clip(g, -5, 5), then cos = a.b / (|a| |b|)")
def _check_cosine(answer: Any) -> tuple[bool, str]:
    return checks.close(answer, cosine(clip_element(EXERCISE_GRADIENT, 5.0), EXERCISE_GRADIENT), what="cosine")
