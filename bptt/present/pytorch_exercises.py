"""Checkers for the exercises of the chapter "BPTT in PyTorch" (book/08_pytorch.ipynb)."""
from __future__ import annotations

from typing import Any

from ..studies.charlm import Vocab, load_text, num_batches
from . import checks


@checks.exercise("pytorch-1", hint="without detach() the graph behind the final state of minibatch i holds "
                                   "all 10 i steps so far, and backward(retain_graph=True) walks all of them")
def _check_graph_growth(answer: Any) -> tuple[bool, str]:
    expected = sum(10 * i for i in range(1, 6))       # 10 + 20 + 30 + 40 + 50 tanh steps walked back
    return checks.exact_int(answer, expected, what="number of step-backward passes")


@checks.exercise("pytorch-2", hint="a model that gives every character the same probability 1/K has "
                                   "cross-entropy log K per character")
def _check_uniform_perplexity(answer: Any) -> tuple[bool, str]:
    K = Vocab.from_text(load_text()).size
    return checks.close(answer, float(K), what="perplexity of the uniform model")


@checks.exercise("pytorch-3", hint="cut 1,000,000 characters into 32 streams first; each minibatch of 50 steps "
                                   "also needs the character after its last input as a target")
def _check_num_batches(answer: Any) -> tuple[bool, str]:
    return checks.exact_int(answer, num_batches(1_000_000, 32, 50), what="number of minibatches")
