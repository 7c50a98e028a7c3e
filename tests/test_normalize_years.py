"""Years, year ranges, decades and eras in words (cbx_cli.plan.normalize.years)."""

import pytest

from cbx_cli.plan.normalize import normalize

CASES = [
    ("in 1984", "in nineteen eighty-four"),
    ("2005", "two thousand five"),
    ("2000", "two thousand"),
    ("1905", "nineteen oh five"),
    ("1900", "nineteen hundred"),
    ("2010", "twenty ten"),
    ("1776", "seventeen seventy-six"),
    ("In 2024, we", "In twenty twenty-four, we"),
    ("1100 people", "eleven hundred people"),
    ("the 1980s and '90s", "the nineteen eighties and nineties"),
    ("the 1980's", "the nineteen eighties"),
    ("the mid-1960s", "the mid-nineteen sixties"),
    ("the 1800s", "the eighteen hundreds"),
    ("the 2000s", "the two thousands"),
    ("1990-1995", "nineteen ninety to nineteen ninety-five"),
    ("2020–21", "twenty twenty to twenty-one"),
    ("the 2020/21 season", "the twenty twenty to twenty-one season"),
    ("1998/2003", "1998/2003"),
    ("500 BC", "five hundred B C"),
    ("44 B.C. was", "forty-four B C was"),
    ("AD 1066", "A D ten sixty-six"),
    ("1492 CE", "fourteen ninety-two C E"),
    # Not years: outside 1100-2099, followed by a unit or percent, or negative.
    ("1099", "one thousand ninety-nine"),
    ("2100", "two thousand one hundred"),
    ("1500 km", "one thousand five hundred kilometers"),
    ("1500 miles", "one thousand five hundred miles"),
    ("1984%", "one thousand nine hundred eighty-four percent"),
    ("-1984", "minus one thousand nine hundred eighty-four"),
    ("$1999", "one thousand nine hundred ninety-nine dollars"),
]


@pytest.mark.parametrize(("written", "spoken"), CASES)
def test_years(written: str, spoken: str):
    assert normalize(written) == spoken
