"""Cardinals and decimals in words (cbx_cli.plan.normalize.numbers), and words with figures in them."""

import pytest

from cbx_cli.plan.normalize import normalize

CASES = [
    ("42", "forty-two"),
    ("123", "one hundred twenty-three"),
    ("1,000", "one thousand"),
    ("1,234,567", "one million two hundred thirty-four thousand five hundred sixty-seven"),
    ("-3", "minus three"),
    ("+5", "plus five"),
    ("~5 people", "about five people"),
    ("I have 3 cats.", "I have three cats."),
    ("1,000,000", "one million"),
    ("(-7)", "(minus seven)"),
    ("COVID-19", "COVID-nineteen"),
    ("a 5-year-old", "a five-year-old"),
    ("pre-2000 cars", "pre-two thousand cars"),
    ("MP3", "MP three"),
    ("4G", "four G"),
    ("B2B", "B two B"),
    ("A380", "A three eight zero"),
    ("007", "zero zero seven"),
    ("2100", "two thousand one hundred"),
    ("#1 hit", "number one hit"),
    ("3x faster", "three times faster"),
    ("a 2x4", "a two by four"),
    ("1920x1080", "one thousand nine hundred twenty by one thousand eighty"),
    ("10 x 20 cm", "ten by twenty centimeters"),
    # decimals
    ("3.14", "three point one four"),
    ("-3.5 degrees", "minus three point five degrees"),
    ("0.05", "zero point zero five"),
    (".5", "point five"),
    ("1,000.5", "one thousand point five"),
    ("version 1.2.3", "version one point two point three"),
    ("It was 2.5.", "It was two point five."),
    ("1.5 billion", "one point five billion"),
    # not understood: left whole, as written
    ("1.2.3.4", "1.2.3.4"),
    ("x86-64", "x86-64"),
    ("A4/B5", "A4/B5"),
    ("3/4/5/6", "3/4/5/6"),
    ("12,34", "12,34"),
    # scientific notation, powers
    ("1e308", "one times ten to the power of three hundred eight"),
    ("6.02e23 atoms", "six point zero two times ten to the power of twenty-three atoms"),
    ("3E-5", "three times ten to the power of minus five"),
    ("-1.5e+10", "minus one point five times ten to the power of ten"),
    ("x²", "x squared"),
    ("E=mc²", "E=mc squared"),
    ("2³ = 8", "two cubed = eight"),
    ("10⁻⁶", "ten to the power of minus six"),
    # digits of other scripts are read as the figures they are
    ("٣ apples", "three apples"),
    ("١٢٣", "one hundred twenty-three"),
    ("१२३", "one hundred twenty-three"),
    ("１２３", "one hundred twenty-three"),
    # what no rule reads whole is left as written, never read in parts
    ("1e5-2e5", "1e5-2e5"),
    ("1e5x", "1e5x"),
    ("H₂O", "H₂O"),
    ("~9;04", "~9;04"),  # a sign is said only with the one thing it stands before
    ("#4,PB", "#4,PB"),
    ("a4~9x91", "a4~9x91"),
    ("No.0'€8", "No.0'€8"),
    ("5-10st", "5-10st"),
    ("~10km", "about ten kilometers"),
    ("~$2bn", "about two billion dollars"),
    ("2x4-inch", "two by four-inch"),
]


@pytest.mark.parametrize(("written", "spoken"), CASES)
def test_numbers(written: str, spoken: str):
    assert normalize(written) == spoken
