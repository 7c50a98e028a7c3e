"""Telephone numbers and codes, digit by digit (cbx_cli.plan.normalize.phones)."""

import pytest

from cbx_cli.plan.normalize import normalize

CASES = [
    ("(555) 010-2233", "five five five, zero one zero, two two three three"),
    ("555-010-2233", "five five five, zero one zero, two two three three"),
    ("555.010.2233", "five five five, zero one zero, two two three three"),
    ("1-800-555-0199", "one, eight zero zero, five five five, zero one nine nine"),
    ("call 555-0123", "call five five five, zero one two three"),
    ("+1 (555) 010-2233", "plus one, five five five, zero one zero, two two three three"),
    ("+44 20 7946 0958", "plus four four, two zero, seven nine four six, zero nine five eight"),
    ("+44 (0)20 7946 0958", "plus four four, zero, two zero, seven nine four six, zero nine five eight"),
    ("+33 1 23 45 67 89", "plus three three, one, two three, four five, six seven, eight nine"),
    ("Call (212) 555-0100 now.", "Call two one two, five five five, zero one zero zero now."),
    ("PIN 4417", "PIN four four one seven"),
    ("the code is 0042", "the code is zero zero four two"),
    ("zip code 90210", "zip code nine zero two one zero"),
    ("ZIP 10001", "ZIP one zero zero zero one"),
    ("dial ext. 204", "dial extension two zero four"),
    ("Extension 3301", "Extension three three zero one"),
    ("card ending in 4242", "card ending in four two four two"),
    ("account number 12345678", "account number one two three four five six seven eight"),
    ("ID: 90817", "ID: nine zero eight one seven"),
    ("call 5551234567", "call five five five one two three four five six seven"),
    ("agent 007", "agent zero zero seven"),
    ("call 911", "call nine one one"),
    # not telephone numbers: a range of round numbers
    ("300-1200 words", "three hundred to one thousand two hundred words"),
]


@pytest.mark.parametrize(("written", "spoken"), CASES)
def test_phones(written: str, spoken: str):
    assert normalize(written) == spoken
