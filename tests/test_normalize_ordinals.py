"""Ordinals in words (cbx_cli.plan.normalize.ordinals)."""

import pytest

from cbx_cli.plan.normalize import normalize

CASES = [
    ("1st, 22nd, 3rd", "first, twenty-second, third"),
    ("the 11th hour", "the eleventh hour"),
    ("100th", "one hundredth"),
]


@pytest.mark.parametrize(("written", "spoken"), CASES)
def test_ordinals(written: str, spoken: str):
    assert normalize(written) == spoken
