"""Roman numerals in words (cbx_cli.plan.normalize.roman): headings, regnal names, centuries; never the
pronoun "I" or an ordinary word."""

import pytest

from cbx_cli.plan.normalize import normalize

CASES = [
    ("Chapter IX", "Chapter Nine"),
    ("chapter iv", "chapter iv"),
    ("Part II: The Return", "Part Two: The Return"),
    ("Book XII", "Book Twelve"),
    ("Act III, Scene ii", "Act Three, Scene ii"),
    ("Volume XXIII", "Volume Twenty-Three"),
    ("World War II", "World War Two"),
    ("World War I ended", "World War One ended"),
    ("Super Bowl LVII", "Super Bowl Fifty-Seven"),
    ("Louis XIV", "Louis the Fourteenth"),
    ("Henry VIII had six wives.", "Henry the Eighth had six wives."),
    ("Queen Elizabeth II", "Queen Elizabeth the Second"),
    ("Pope John Paul II", "Pope John Paul the Second"),
    ("Charles I of England", "Charles the First of England"),
    ("King Zog I.", "King Zog the First."),
    ("Henry the VIII", "Henry the Eighth"),
    ("the XIXth century", "the nineteenth century"),
    ("in the XV century", "in the fifteenth century"),
    ("Apollo XI landed", "Apollo Eleven landed"),
    ("Rocky II", "Rocky Two"),
    ("IV. The Storm", "Four. The Storm"),
    ("XII", "Twelve"),
    # never these
    ("Then I left.", "Then I left."),
    ("Henry I think so", "Henry I think so"),
    ("I. M. Pei", "I. M. Pei"),
    ("MIX the flour", "MIX the flour"),
    ("Washington DC", "Washington DC"),
    ("Malcolm X", "Malcolm X"),
    ("a CD player", "a CD player"),
    ("CIVIL WAR", "CIVIL WAR"),
]


@pytest.mark.parametrize(("written", "spoken"), CASES)
def test_roman(written: str, spoken: str):
    assert normalize(written) == spoken
