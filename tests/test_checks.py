"""Exercise checkers: right answers pass, wrong ones say what is off, placeholders are not errors."""
from __future__ import annotations

import numpy as np
import pytest

import bptt
from bptt.present import check, checks


def test_every_registered_exercise_rejects_a_placeholder():
    assert checks.exercises(), "no exercises registered"
    for name in checks.exercises():
        verdict = check(name, None)
        assert not verdict and "no answer yet" in repr(verdict)


def test_forward_exercises_accept_the_right_answers():
    # hand-computed: h_t = 2 h_{t-1} + e_t, so o_5 = h_5 = 16 e_1 + 8 e_2 + 4 e_3 + 2 e_4 + e_5
    assert check("forward-1", 16 * np.eye(6)[0] + 8 * np.eye(6)[1] + 4 * np.eye(6)[2] + 2 * np.eye(6)[3] + np.eye(6)[4])
    assert check("forward-2", 10 * 32 + 32 * 32 + 5 * 32 + 32 + 5)
    assert check("forward-3", 35)


def test_wrong_answers_say_what_is_off():
    v = check("forward-1", np.zeros(5))
    assert not v and "shape" in v.message
    assert not check("forward-2", 1541.0004)                   # an exact count
    v = check("forward-2", 7)
    assert not v and v.message.startswith("the number of parameters is not right yet. Hint:")
    with pytest.raises(AssertionError):
        v.require()
    with pytest.raises(ValueError, match="unknown exercise"):
        check("no-such-exercise", 1)


def test_close_compares_params():
    p = bptt.RNNParams.random(2, 3, 4, seed=1)
    assert checks.close(p, p)[0]
    ok, msg = checks.close(p.map(lambda a: a + 1e-3), p, rtol=1e-6)
    assert not ok and "U" in msg


def test_forbidding_blocks_every_reference_and_restores() -> None:
    from bptt.studies import paths
    scalar_paths = paths.scalar_paths            # a reference taken before the block
    rnn, xs, y = paths.example_scalar_rnn()
    with checks.forbidding(paths.scalar_paths):
        with pytest.raises(PermissionError):
            scalar_paths(rnn, xs, y, "w")
        with pytest.raises(PermissionError):
            paths.scalar_paths(rnn, xs, y, "w")
    assert len(scalar_paths(rnn, xs, y, "w")) == 2  # restored after the block
    with pytest.raises(ValueError), checks.forbidding(paths.scalar_grads):
        raise ValueError("an error inside the block")
    assert paths.scalar_grads(rnn, xs, y)["w"] != 0  # restored after an error too


def test_placeholder_gives_an_answer_box_with_the_checkers_tolerance():
    v = check("forward-2", None)
    assert v.placeholder and v.box is not None
    assert v.box["shape"] == [] and v.box["rule"] == "exact" and v.box["what"] == "number of parameters"
    assert isinstance(v.box["expected"], int)                # an exact count stays an integer
    assert check("forward-2", v.box["expected"])  # the box's expected value is the right answer
    html = v._repr_html_()
    assert 'class="bptt-answer"' in html and "data-box=" in html and "Not yet" in html  # plain verdict, hidden by the book's CSS
    assert check("forward-2", 1541)._repr_html_() is None  # a right answer: the plain verdict only
    assert "bptt-answer-live" in check("forward-2", 7)._repr_html_()  # a stub's verdict: a box too
    v = check("loss-1", None)
    assert v.box["shape"] == [3] and v.box["rule"] == "close" and "e.g. [1, 2, 3]" in v.box["label"]
    assert not check("loss-1", ...).ok


def test_exercises_that_need_python_get_no_box():
    for name in checks.exercises():
        box = check(name, None).box
        if box is None:
            continue
        expected = box["expected"]
        ok, _ = checks._REGISTRY[name][0](checks._python_value(expected, box))
        assert ok, name
    assert check("chain-3", None).box is None  # a function to write


@pytest.mark.parametrize("name", ["loss-2", "trunc-3", "vanishing-2", "vanishing-3", "lstm-2", "pytorch-2",
                                  "vanishing-1", "forward-1", "loss-1", "trunc-2", "lstm-1", "loss-4", "deep-3"])
def test_typed_answers_pass_at_3_significant_digits_and_fail_3_percent_off(name):
    """What a reader copies from a printed value is right; an answer 3 % off is not, and the verdict says
    neither how far off it is nor the answer."""
    expected = np.asarray(check(name, None).box["expected"], dtype=float)
    sig3 = np.vectorize(lambda v: float(f"{v:.3g}"))(expected)
    assert check(name, sig3 if sig3.ndim else float(sig3)), name
    off = np.where(expected != 0, expected * 1.03, 0.03)
    v = check(name, off if off.ndim else float(off))
    assert not v and "not right yet" in v.message and "off by" not in v.message and "tolerance" not in v.message
    shown = {s for s in (f"{x:.3g}" for x in np.ravel(expected)) if len(s.lstrip("-")) > 1}
    assert not any(s in v.message.split("Hint:")[0] for s in shown), v.message


@pytest.mark.parametrize("name, answer", [("lstm-3", 5669.004), ("lstm-3", 5669.0), ("pytorch-3", 624.0),
                                          ("forward-2", 1541.0), ("deep-1", True)])
def test_counts_are_exact_integers(name, answer):
    assert not check(name, answer)


def test_short_answers_in_any_reasonable_form():
    assert check("cost-2", (20100, 200)) and check("cost-2", [19900, 199])
    assert check("cost-2", np.array([20100, 200])) and not check("cost-2", (20100, 199))
    assert check("trunc-1", [7, 5, 6]) and not check("trunc-1", [5, 6, 7, 7])
    assert check("loss-3", [False] * 5 + [True]) and not check("loss-3", [0, 0, 0, 0, 0, 1])
    assert check("chain-2", list(range(1, 11))) and not check("chain-2", np.arange(1.0, 11.0))
    assert check("deep-2", 21) and check("deep-2", lambda N, t, k: __import__("math").comb(t - k + N - 1, N - 1) if k <= t else 0)


def test_hints_carry_no_internal_labels():
    """Hints are read in the book: no equation labels like eq-deep-count (the book numbers equations)."""
    for name in checks.exercises():
        hint = checks._REGISTRY[name][1]
        assert "eq-" not in hint, f"{name}: {hint}"


def test_every_close_box_accepts_3_significant_digits():
    """No typed answer is checked tighter than a reader can copy it (a checker with its own rtol would be)."""
    for name in checks.exercises():
        box = check(name, None).box
        if box is None or box["rule"] != "close":
            continue
        assert box["rtol"] == checks.ANSWER_RTOL and box["atol"] <= 1e-9 * np.max(np.abs(box["expected"])), name
