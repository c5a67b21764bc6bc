"""Numbers in the prose (bptt.present.prose): what a cell glues is what both renderers show, without quotes."""
from __future__ import annotations

import pytest
from IPython.lib.pretty import pretty

from bptt.present import prose


def test_glued_text_shows_without_quotes():
    prose.glue("test-ratio", "0.125", display=False)
    shown = prose.glued("test-ratio")
    assert shown == "0.125" and repr(shown) == "0.125" and pretty(shown) == "0.125"


def test_glued_numbers_take_a_format_spec():
    prose.glue("test-rate", 2 / 3)
    assert prose.glued("test-rate", ".2f") == "0.67"
    assert prose.glued("test-rate") == str(2 / 3)


def test_unknown_keys_and_bad_keys_say_what_is_wrong():
    with pytest.raises(KeyError, match="nothing glued under 'test-missing'"):
        prose.glued("test-missing")
    with pytest.raises(ValueError, match="non-empty str"):
        prose.glue("", 1)
