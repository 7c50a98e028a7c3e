"""Ordinals in words (cbx_cli.plan.normalize.ordinals), in every way they are written."""

import pytest

from cbx_cli.plan.normalize import normalize

CASES = [
    ("1st", "first"),
    ("2nd", "second"),
    ("3rd", "third"),
    ("4th", "fourth"),
    ("11th", "eleventh"),
    ("12th", "twelfth"),
    ("13th", "thirteenth"),
    ("21st", "twenty-first"),
    ("22nd", "twenty-second"),
    ("101st", "one hundred first"),
    ("100th", "one hundredth"),
    ("2,000th", "two thousandth"),
    ("1,000,000th", "one millionth"),
    ("1ST", "first"),
    ("3RD place", "third place"),
    ("4ᵗʰ", "fourth"),
    ("1st, 22nd, 3rd", "first, twenty-second, third"),
    ("the 11th hour", "the eleventh hour"),
    ("the 3rd-largest city", "the third-largest city"),
    ("the 19th century", "the nineteenth century"),
    ("He came 2nd.", "He came second."),
    # not ordinals: letters after a figure glued to others
    ("x1st", "x one st"),
]


@pytest.mark.parametrize(("written", "spoken"), CASES)
def test_ordinals(written: str, spoken: str):
    assert normalize(written) == spoken
