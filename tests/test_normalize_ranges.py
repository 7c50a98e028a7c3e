"""Ranges, scores and ratios in words (cbx_cli.plan.normalize.ranges): a dash between figures is "to", never a
minus sign, and the unit is said once."""

import pytest

from cbx_cli.plan.normalize import normalize

CASES = [
    ("5-10", "five to ten"),
    ("pages 5-10.", "pages five to ten."),
    ("5 - 10", "five to ten"),
    ("10–20 people", "ten to twenty people"),
    ("5%-15%", "five to fifteen percent"),
    ("5-15%", "five to fifteen percent"),
    ("$120-$180", "one hundred twenty to one hundred eighty dollars"),
    ("$120-180", "one hundred twenty to one hundred eighty dollars"),
    ("$5-10 million", "five to ten million dollars"),
    ("£5–£10", "five to ten pounds"),
    ("10-20 kg", "ten to twenty kilograms"),
    ("10kg-20kg", "ten to twenty kilograms"),
    ("20-25°C", "twenty to twenty-five degrees Celsius"),
    ("2.5-3.5 m", "two point five to three point five meters"),
    ("100-1500", "one hundred to one thousand five hundred"),
    ("ages 8-12", "ages eight to twelve"),
    ("won 3-2", "won three to two"),
    ("a 5–4 decision", "a five to four decision"),
    ("9am-5pm", "nine a m to five p m"),
    ("10:30–11:15", "ten thirty to eleven fifteen"),
    ("16:9", "sixteen to nine"),
    ("a ratio of 3:1", "a ratio of three to one"),
    ("1:50,000", "one to fifty thousand"),
    ("they won 2:1", "they won two to one"),
    ("at 2:30", "at two thirty"),
    # not ranges: a sum, a chain of figures, a code
    ("5 - 3 = 2", "five - three = two"),
    ("3-4-5", "3-4-5"),
    ("x86-64", "x86-64"),
]


@pytest.mark.parametrize(("written", "spoken"), CASES)
def test_ranges(written: str, spoken: str):
    assert normalize(written) == spoken
