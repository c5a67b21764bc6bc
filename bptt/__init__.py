"""bptt: backpropagation through time, derived, implemented and checked.

The single source of truth for the math of the course: a numpy reference RNN, its loss, O(T) BPTT and
the O(T^2) path sum, truncation strategies, clipping, gradient-flow diagnostics, and the helpers the
chapters use to draw figures and kernel-free widgets. Shapes: T steps, B batch, D inputs, H hidden, K classes.
"""
from . import checks, demo, forward_exercises, plotting, widgets
# chapter modules (the torch-based torch_rnn and charlm are imported by their chapter only)
from . import cost, losses, lstm, paths, tasks, truncation_study, vanishing
from .activations import DERIVATIVE_BOUND, activation_fn, activation_grad
from .backward import backward_full, backward_naive, backward_per_term, loss_and_grads, param_grads, step_back
from .checks import Verdict, check
from .data import data_path, load_json
from .clipping import clip_elementwise, clip_grad_norm
from .diagnostics import gradient_norms, jacobian_product_norms, lag_profile
from .params import RNNParams
from .rnn import forward, log_softmax, logits_grad, loss, softmax, step_losses
from .truncation import carry_multipliers, draw_xi, lookback_mask, path_weights

__all__ = [
    "RNNParams", "forward", "check", "Verdict", "checks", "plotting", "widgets", "loss", "loss_and_grads", "clip_grad_norm", "clip_elementwise", "gradient_norms",
    "lag_profile", "jacobian_product_norms", "softmax", "log_softmax", "step_losses", "logits_grad",
    "step_back", "param_grads", "backward_full", "backward_per_term", "backward_naive", "draw_xi",
    "carry_multipliers", "path_weights", "lookback_mask", "activation_fn", "activation_grad",
    "DERIVATIVE_BOUND", "data_path", "load_json",
]
