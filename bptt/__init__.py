"""bptt: backpropagation through time, derived, implemented and checked (the library of the bptt-book course).

``import bptt`` gives the numpy-only core, the API below; it loads numpy and nothing heavier. Shapes: T
steps, B batch, D inputs, H hidden units, K classes. Arrays are 0-based while the math counts steps
t = 1..T with h_0 the initial state: ``xs[t-1]`` is x_t, ``ys[t-1]`` is y_t, ``hs[t]`` is h_t (hs has
T+1 rows, ``hs[0]`` = h_0), ``logits[t-1]`` is o_t. Every gradient function is called
``f(params, xs, ys, h0=None, *, activation="tanh", ...)`` and returns ``(loss, grads)``.

Parameters
    RNNParams (U, W, V, b, c), ParamArrays (the vector methods every parameter object shares)
Forward pass and loss
    forward, loss, step_losses, softmax, log_softmax, logits_grad,
    activation_fn, activation_grad, sigmoid, DERIVATIVE_BOUND
Gradients (BPTT)
    loss_and_grads (full, naive, truncated, weighted; an ``on_step`` hook), weighted_loss_and_grads,
    loss_and_grads_checkpointed, StepCounter
The backward pass in parts
    prepare, Prepared, step_back, backward_full, backward_per_term, backward_naive, state_grads,
    layer_grads, param_grads
Truncation
    draw_xi (randomized factors, passed on as ``xi=``), carry_multipliers, path_weights
Clipping and training
    clip_grad_norm, clip_elementwise, Adam
Gradient-flow diagnostics
    gradient_norms, lag_profile, jacobian_product_norms, copy_contributions, CopyContributions,
    relative_error, cosine
The size of W
    spectral_radius, top_singular_value, scale_to_spectral_radius, scale_to_top_singular_value,
    orthogonal, rnn_with_radius
LSTM
    LSTMParams, LSTMCache, lstm_step, lstm_step_back, lstm_forward, lstm_loss, lstm_loss_and_grads,
    lstm_gradient_norms, n_lstm_params
Deep and bidirectional RNNs
    CellParams, DeepRNNParams, deep_forward, deep_loss_and_grads, deep_input_grads, deep_gradient_norms,
    input_connectivity
Beyond BPTT: online gradients and memory budgets
    rtrl_loss_and_grads, snap1_loss_and_grads, uoro_loss_and_grads, loss_and_grads_budget,
    checkpoint_cost, checkpoint_schedule, peak_stored, Action
Data shipped with the package
    data_path, load_json, __version__

The rest of the library is imported by its full name: ``bptt.studies`` holds the chapters' studies
(``from bptt.studies import paths``), ``bptt.present`` figures, widgets and exercise checks
(``from bptt.present import plotting, widgets, check``). The core never imports either, and the studies
never import ``bptt.present`` (tests/test_layers.py).
"""
# one line per core module: its public names (the module's __all__, checked by tests/test_layers.py)
from .core.params import ParamArrays, RNNParams
from .core.activations import DERIVATIVE_BOUND, activation_fn, activation_grad, sigmoid
from .core.rnn import forward, log_softmax, logits_grad, loss, softmax, step_losses
from .core.backward import (Prepared, StepCounter, backward_full, backward_naive, backward_per_term, layer_grads,
                            loss_and_grads, loss_and_grads_checkpointed, param_grads, prepare, state_grads,
                            step_back, weighted_loss_and_grads)
from .core.truncation import carry_multipliers, draw_xi, path_weights
from .core.clipping import clip_elementwise, clip_grad_norm
from .core.optim import Adam
from .core.diagnostics import (CopyContributions, copy_contributions, cosine, gradient_norms,
                               jacobian_product_norms, lag_profile, relative_error)
from .core.spectral import (orthogonal, rnn_with_radius, scale_to_spectral_radius, scale_to_top_singular_value,
                            spectral_radius, top_singular_value)
from .core.lstm import (LSTMCache, LSTMParams, lstm_forward, lstm_gradient_norms, lstm_loss, lstm_loss_and_grads,
                        lstm_step, lstm_step_back, n_lstm_params)
from .core.deep import (CellParams, DeepRNNParams, deep_forward, deep_gradient_norms, deep_input_grads,
                        deep_loss_and_grads, input_connectivity)
from .core.online import rtrl_loss_and_grads, snap1_loss_and_grads, uoro_loss_and_grads
from .core.budget import Action, checkpoint_cost, checkpoint_schedule, loss_and_grads_budget, peak_stored
from .data import data_path, load_json

#: the package version (pyproject.toml's ``version``; tests/test_layers.py checks they agree)
__version__ = "0.1.0"

#: every public name: the names imported above (tests/test_layers.py checks each core module's __all__ is here)
__all__ = sorted(name for name in list(globals()) if not name.startswith("_") and name not in ("core", "data")) + [
    "__version__"]
