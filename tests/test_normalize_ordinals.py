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
    ("the 123456789012345678901234567890th", "the one hundred twenty-three octillion four hundred fifty-six "
     "septillion seven hundred eighty-nine sextillion twelve quintillion three hundred forty-five quadrillion six "
     "hundred seventy-eight trillion nine hundred one billion two hundred thirty-four million five hundred sixty-seven "
     "thousand eight hundred ninetieth"),  # a rank, however long, is never read digit by digit
    # not ordinals, and never read in parts ("one st"): left as written, and listed
    ("x1st", "x1st"),
    ("1st-99th", "1st-99th"),
    ("007th", "007th"),
    ("1" * 70 + "th", "1" * 70 + "th"),
]


@pytest.mark.parametrize(("written", "spoken"), CASES)
def test_ordinals(written: str, spoken: str):
    assert normalize(written) == spoken
