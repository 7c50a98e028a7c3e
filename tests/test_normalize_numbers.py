"""Cardinals and decimals in words (cbx_cli.plan.normalize.numbers)."""

import pytest

from cbx_cli.plan.normalize import normalize

CASES = [
    ("42", "forty-two"),
    ("1,000", "one thousand"),
    ("-3", "minus three"),
    ("I have 3 cats.", "I have three cats."),
    ("1,000,000", "one million"),
    ("(-7)", "(minus seven)"),
    ("COVID-19", "COVID-nineteen"),
    ("10km", "ten km"),
    ("MP3", "MP three"),
    ("007", "zero zero seven"),
    ("call 5551234567", "call five five five one two three four five six seven"),
    ("2100", "two thousand one hundred"),
    ("pages 10–20", "pages ten to twenty"),
    # decimals
    ("3.14", "three point one four"),
    ("-3.5 degrees", "minus three point five degrees"),
    ("0.05", "zero point zero five"),
    (".5", "point five"),
    ("1,000.5", "one thousand point five"),
    ("version 1.2.3", "version one point two point three"),
    ("It was 2.5.", "It was two point five."),
]


@pytest.mark.parametrize(("written", "spoken"), CASES)
def test_numbers(written: str, spoken: str):
    assert normalize(written) == spoken
