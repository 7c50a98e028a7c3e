"""Dates in words (cbx_cli.plan.normalize.dates)."""

import pytest

from cbx_cli.plan.normalize import normalize

CASES = [
    ("14 March 2024", "the fourteenth of March, twenty twenty-four"),
    ("March 14, 2024", "March fourteenth, twenty twenty-four"),
    ("On 1 May 1999 we met.", "On the first of May, nineteen ninety-nine we met."),
    ("the 5th of May 2020", "the fifth of May, twenty twenty"),
    ("March 3rd, 1999.", "March third, nineteen ninety-nine."),
    ("14 Jan. 2024", "the fourteenth of January, twenty twenty-four"),
    ("on 3 Mar. Then", "on the third of March. Then"),
    ("2024-03-14", "March fourteenth, twenty twenty-four"),
    ("May 5", "May fifth"),
    ("I may 5", "I may five"),
]


@pytest.mark.parametrize(("written", "spoken"), CASES)
def test_dates(written: str, spoken: str):
    assert normalize(written) == spoken
