"""Checkers for the exercises of the chapter "LSTM" (book/07_lstm.ipynb)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..core.activations import sigmoid
from ..core.lstm import n_lstm_params
from . import checks


@checks.exercise("lstm-1", hint="the direct path s_{t-1} -> s_t multiplies elementwise by f_t: a diagonal matrix")
def _check_dcdc(answer: Any) -> tuple[bool, str]:
    f = np.array([0.9, 0.5, 0.99])
    return checks.close(answer, np.diag(f), what="Jacobian ds_t/ds_{t-1}")


@checks.exercise("lstm-2", hint="on the direct cell path the factors multiply: sigma(2.0) ** 10")
def _check_forget_product(answer: Any) -> tuple[bool, str]:
    return checks.close(answer, float(sigmoid(2.0)) ** 10, what="product of forget gates")


@checks.exercise("lstm-3", hint="four blocks, each with an (H, D) input matrix, an (H, H) recurrent matrix "
                 "and H biases; the head adds K(H + 1)")
def _check_n_params(answer: Any) -> tuple[bool, str]:
    return checks.exact_int(answer, n_lstm_params(10, 32, 5), what="number of parameters")
