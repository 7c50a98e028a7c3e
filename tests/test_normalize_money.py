"""Money and percentages in words (cbx_cli.plan.normalize.money)."""

import pytest

from cbx_cli.plan.normalize import normalize
from cbx_cli.plan.normalize.numbers import CURRENCY_SYMBOLS

CASES = [
    ("$5", "five dollars"),
    ("$1", "one dollar"),
    ("$3.50", "three dollars and fifty cents"),
    ("$1.01", "one dollar and one cent"),
    ("$0.50", "fifty cents"),
    ("$0.01", "one cent"),
    ("$1,000.50", "one thousand dollars and fifty cents"),
    ("$120", "one hundred twenty dollars"),
    ("-$5", "minus five dollars"),
    ("£20", "twenty pounds"),
    ("£20.5", "twenty pounds and fifty pence"),
    ("£0.99", "ninety-nine pence"),
    ("€1.5 million", "one point five million euros"),
    ("$5 million", "five million dollars"),
    ("$3.5 million", "three point five million dollars"),
    ("€2bn", "two billion euros"),
    ("$10B", "ten billion dollars"),
    ("US$1.5 bn", "one point five billion US dollars"),
    ("£3k", "three thousand pounds"),
    ("5€", "five euros"),
    ("¥500", "five hundred yen"),
    ("₹250", "two hundred fifty rupees"),
    ("Rs. 500", "five hundred rupees"),
    ("USD 20", "twenty US dollars"),
    ("20 CHF", "twenty Swiss francs"),
    ("C$15", "fifteen Canadian dollars"),
    ("50¢", "fifty cents"),
    ("$15/hr", "fifteen dollars an hour"),
    ("$3/lb", "three dollars a pound"),
    ("$2.50/gal", "two dollars and fifty cents a gallon"),
    ("€90/night", "ninety euros a night"),
    ("$5/ea", "five dollars each"),
    ("It cost $5.", "It cost five dollars."),
    # percent
    ("50%", "fifty percent"),
    ("A 30% rise", "A thirty percent rise"),
    ("-2.5 %", "minus two point five percent"),
    ("0.5%", "zero point five percent"),
]


@pytest.mark.parametrize(("written", "spoken"), CASES)
def test_money_and_percent(written: str, spoken: str):
    assert normalize(written) == spoken


@pytest.mark.parametrize("symbol", CURRENCY_SYMBOLS)
def test_every_currency_symbol_is_said(symbol: str):
    said = normalize(f"It cost {symbol}5.")
    assert symbol not in said and "five" in said
