"""Checkers for the exercises of the chapter "The loss over time" (book/02_loss.ipynb)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..studies.losses import padding_mask, setting_weights
from . import checks


_EX1_P = np.array([0.5, 0.3, 0.2])


_EX1_Y = 2


@checks.exercise("loss-1", hint="dL/do = yhat - onehot(y): subtract 1 at the target's entry only")
def _check_loss_1(answer: Any) -> tuple[bool, str]:
    expected = _EX1_P - np.eye(3)[_EX1_Y]
    return checks.close(answer, expected, what="gradient dL/do")


@checks.exercise("loss-2", hint="a uniform prediction puts 1/K on the target at every step; sum T copies")
def _check_loss_2(answer: Any) -> tuple[bool, str]:
    return checks.close(answer, 20 * np.log(5), what="total loss")


@checks.exercise("loss-3", hint="dL/do_t is w_t (yhat_t - onehot(y_t)); which w_t are nonzero?")
def _check_loss_3(answer: Any) -> tuple[bool, str]:
    expected = setting_weights("many-to-one", 6) > 0
    return checks.exact(answer, expected, kind="bool", what="mask",
                        right="only the last step's logits receive gradient")


@checks.exercise("loss-4", hint="w[t, b] = 1 while t < length of sequence b, then 0; shape (T, B) = (5, 3)")
def _check_loss_4(answer: Any) -> tuple[bool, str]:
    return checks.close(answer, padding_mask([5, 3, 4]), what="weight array")
