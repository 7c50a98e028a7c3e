"""Fractions and mixed numbers in words (cbx_cli.plan.normalize.fractions)."""

import pytest

from cbx_cli.plan.normalize import normalize

CASES = [
    ("1/2", "one half"),
    ("3/4", "three quarters"),
    ("1/4", "one quarter"),
    ("2/3", "two thirds"),
    ("1/3", "one third"),
    ("5/8", "five eighths"),
    ("7/16", "seven sixteenths"),
    ("1/10", "one tenth"),
    ("3/100", "three hundredths"),
    ("3/456", "three over four hundred fifty-six"),
    ("-1/2", "minus one half"),
    ("2 1/2", "two and a half"),
    ("3 3/4", "three and three quarters"),
    ("1 1/3", "one and a third"),
    ("2-1/2 inches", "two and a half inches"),
    ("2 1/2 lbs", "two and a half pounds"),
    ("1/2 lb", "half a pound"),
    ("1/2 hour", "half an hour"),
    ("3/4 mile", "three quarters of a mile"),
    ("1/3 cup", "a third of a cup"),
    ("½", "one half"),
    ("2½ cups", "two and a half cups"),
    ("¾ in", "three quarters of an inch"),
    ("a 3 1/2% rate", "a three and a half percent rate"),
    ("24/7", "twenty-four seven"),
    ("9/11", "nine eleven"),
    ("a 50/50 chance", "a fifty-fifty chance"),
    # not fractions
    ("3/4/5/6", "3/4/5/6"),
    ("1/0", "1/0"),
]


@pytest.mark.parametrize(("written", "spoken"), CASES)
def test_fractions(written: str, spoken: str):
    assert normalize(written) == spoken
