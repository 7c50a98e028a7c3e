"""Clock times in words (cbx_cli.plan.normalize.times)."""

import pytest

from cbx_cli.plan.normalize import normalize

CASES = [
    ("6:40", "six forty"),
    ("11:05 pm", "eleven oh five p m"),
    ("11:05 p.m.", "eleven oh five p m."),
    ("11:05 P.M. on the dot", "eleven oh five p m on the dot"),
    ("It ended at 11:05 p.m. Then we slept.", "It ended at eleven oh five p m. Then we slept."),
    ("8:00", "eight o'clock"),
    ("8:00 am", "eight a m"),
    ("at 5 pm", "at five p m"),
    ("14:00", "fourteen hundred"),
    ("14:30", "fourteen thirty"),
]


@pytest.mark.parametrize(("written", "spoken"), CASES)
def test_times(written: str, spoken: str):
    assert normalize(written) == spoken
