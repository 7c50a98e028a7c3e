"""Dates in words (cbx_cli.plan.normalize.dates), numeric dates in each --date-order."""

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
    ("Sept. 11, 2001", "September eleventh, two thousand one"),
    ("Dec 25", "December twenty-fifth"),
    ("2024-03-14", "March fourteenth, twenty twenty-four"),
    ("May 5", "May fifth"),
    ("I may 5", "I may five"),
    ("Jan. 2024", "January twenty twenty-four"),
    ("in Aug 1969", "in August nineteen sixty-nine"),
    ("Mon., Jan. 5", "Monday, January fifth"),
    ("Fri 13 June", "Friday the thirteenth of June"),
    ("03/11/1998", "the third of November, nineteen ninety-eight"),
    ("25/12/2020", "the twenty-fifth of December, twenty twenty"),
    ("12/25/2020", "December twenty-fifth, twenty twenty"),
    ("on 3.11.98", "on the third of November, ninety-eight"),
    ("31-01-2005", "the thirty-first of January, two thousand five"),
    ("1998/11/03", "November third, nineteen ninety-eight"),
    ("2001.09.11", "September eleventh, two thousand one"),
    ("1/1/05", "the first of January, oh five"),
    ("in 12/2019", "in December twenty nineteen"),
    # not dates: an impossible day or month, a version
    ("45/13/2020", "45/13/2020"),
    ("2024-13-45", "2024-13-45"),
]

DATE_ORDERS = [
    ("03/11/1998", "dmy", "the third of November, nineteen ninety-eight"),
    ("03/11/1998", "mdy", "March eleventh, nineteen ninety-eight"),
    ("03/11/1998", "ymd", "the third of November, nineteen ninety-eight"),
    ("25/12/2020", "mdy", "the twenty-fifth of December, twenty twenty"),
    ("12/25/2020", "dmy", "December twenty-fifth, twenty twenty"),
]


@pytest.mark.parametrize(("written", "spoken"), CASES)
def test_dates(written: str, spoken: str):
    assert normalize(written) == spoken


@pytest.mark.parametrize(("written", "order", "spoken"), DATE_ORDERS)
def test_date_order_reads_only_what_can_be_swapped(written: str, order: str, spoken: str):
    assert normalize(written, date_order=order) == spoken
