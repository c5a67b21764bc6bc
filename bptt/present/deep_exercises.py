"""Checkers for the exercises of the chapter "Deep and bidirectional RNNs" (book/09_deep.ipynb)."""
from __future__ import annotations

from typing import Any

from ..core.deep import deep_input_grads as input_gradient
from ..studies.deep_study import budget_hidden, count_shortest_paths, exercise_problem
from . import checks


@checks.exercise("deep-1", hint="count the parameters of both models with the chapter's parameter count (or "
                                "n_params) and search over H")
def _check_budget(answer: Any) -> tuple[bool, str]:
    expected = budget_hidden(8, 4, 2, 64)
    return checks.exact_int(answer, expected, what="largest H", right=f"H = {expected}")


#: the cases of exercise deep-2: N = 1..5 layers, steps t and k in 1..8
PATH_LAYERS, PATH_STEPS = range(1, 6), range(1, 9)


def _paths_cases() -> list[tuple[tuple[int, int, int], int, str]]:
    """Every (N, t, k) of the exercise, with its number of shortest paths."""
    return [((N, t, k), count_shortest_paths(N, t, k), f"n_paths({N}, {t}, {k})")
            for N in PATH_LAYERS for t in PATH_STEPS for k in PATH_STEPS]


def _same_count(got: Any, expected: int, what: str) -> tuple[bool, str]:
    return checks.exact_int(got, expected, what=what, right="")


#: the one case exercise deep-2 also asks for as a number: shortest paths from x_2 to o_7 through 3 layers
PATH_EXAMPLE = (3, 7, 2)


@checks.exercise("deep-2", hint="a shortest path takes its t - k time steps in any of the N layers, in order")
def _check_paths(answer: Any) -> tuple[bool, str]:
    if callable(answer):
        return checks.check_function(answer, "n_paths(N, t, k)", _paths_cases(), compare=_same_count,
                                     returns="an integer",
                                     done=f"right on all {len(PATH_LAYERS) * len(PATH_STEPS) ** 2} cases")
    return checks.exact_int(answer, count_shortest_paths(*PATH_EXAMPLE), what="number of shortest paths",
                            right=f"{count_shortest_paths(*PATH_EXAMPLE)} shortest paths; now write n_paths for "
                                  "every N, t, k")


@checks.exercise("deep-3", hint="run the recursion down to layer 1 and add dA @ U of both bottom cells")
def _check_input_gradient(answer: Any) -> tuple[bool, str]:
    return checks.close(answer, input_gradient(*exercise_problem()), what="dL/dxs")
