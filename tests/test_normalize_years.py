"""Years, year ranges and decades in words (cbx_cli.plan.normalize.years)."""

import pytest

from cbx_cli.plan.normalize import normalize

CASES = [
    ("in 1984", "in nineteen eighty-four"),
    ("2005", "two thousand and five"),
    ("In 2024, we", "In twenty twenty-four, we"),
    ("1100 people", "eleven hundred people"),
    ("the 1980s and '90s", "the nineteen eighties and nineties"),
    ("1990-1995", "nineteen ninety to nineteen ninety-five"),
    ("2020–21", "twenty twenty to twenty-one"),
    # Not years: outside 1100-2099, followed by a unit or percent, or negative.
    ("1099", "one thousand and ninety-nine"),
    ("2100", "two thousand one hundred"),
    ("1500 km", "one thousand five hundred km"),
    ("1984%", "one thousand nine hundred and eighty-four percent"),
    ("-1984", "minus one thousand nine hundred and eighty-four"),
]


@pytest.mark.parametrize(("written", "spoken"), CASES)
def test_years(written: str, spoken: str):
    assert normalize(written) == spoken
