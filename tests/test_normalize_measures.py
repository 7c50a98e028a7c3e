"""Measures in words (cbx_cli.plan.normalize.measures): SI and imperial units, temperature, speed, area, rates,
plural agreement, and units in adjectives."""

import pytest

from cbx_cli.plan.normalize import normalize

CASES = [
    ("40kg", "forty kilograms"),
    ("1 kg", "one kilogram"),
    ("1.0 kg", "one point zero kilograms"),
    ("0.5 kg", "zero point five kilograms"),
    ("a 5-kg bag", "a five-kilogram bag"),
    ("5 ft 11 in", "five feet eleven inches"),
    ("5ft 11in", "five feet eleven inches"),
    ("He is 6'2\" tall", "He is six feet two inches tall"),
    ("1 ft", "one foot"),
    ("a 10-ft pole", "a ten-foot pole"),
    ("60 mph", "sixty miles per hour"),
    ("1 mph", "one mile per hour"),
    ("100 km/h", "one hundred kilometers per hour"),
    ("-5°C", "minus five degrees Celsius"),
    ("-1 °C", "minus one degree Celsius"),
    ("+5°C", "plus five degrees Celsius"),
    ("98.6°F", "ninety-eight point six degrees Fahrenheit"),
    ("a 90° turn", "a ninety degrees turn"),
    ("20 m²", "twenty square meters"),
    ("1,200 sq ft", "one thousand two hundred square feet"),
    ("3 m3 of sand", "three cubic meters of sand"),
    ("5 mg/kg", "five milligrams per kilogram"),
    ("250 ml", "two hundred fifty milliliters"),
    ("2 L", "two liters"),
    ("12 oz.", "twelve ounces."),
    ("12 oz. of flour", "twelve ounces of flour"),
    ("3 lbs", "three pounds"),
    ("16 GB", "sixteen gigabytes"),
    ("3.5 GHz", "three point five gigahertz"),
    ("100 W", "one hundred watts"),
    ("30 min", "thirty minutes"),
    ("10 s", "ten seconds"),
    ("24h", "twenty-four hours"),
    ("500 mAh", "five hundred milliamp hours"),
    ("7,000 rpm", "seven thousand revolutions per minute"),
    ("15 km away", "fifteen kilometers away"),
    ("10km", "ten kilometers"),
    # not units: a preposition, a decade, an ordinal, a word
    ("5 in the box", "five in the box"),
    ("a board 3 in. thick", "a board three inches thick"),
    ("the 10s", "the tens"),
    ("1st", "first"),
    ("5 miles", "five miles"),
]


@pytest.mark.parametrize(("written", "spoken"), CASES)
def test_measures(written: str, spoken: str):
    assert normalize(written) == spoken
