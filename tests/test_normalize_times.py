"""Clock times in words (cbx_cli.plan.normalize.times): 12 and 24 hours, seconds, a.m./p.m. however written,
time zones, ranges of times."""

import pytest

from cbx_cli.plan.normalize import normalize

CASES = [
    ("6:40", "six forty"),
    ("11:05 pm", "eleven oh five p m"),
    ("11:05 p.m.", "eleven oh five p m."),
    ("11:05 P.M. on the dot", "eleven oh five p m on the dot"),
    ("It ended at 11:05 p.m. Then we slept.", "It ended at eleven oh five p m. Then we slept."),
    ("8:00", "eight o'clock"),
    ("8:00 am", "eight a m"),
    ("at 5 pm", "at five p m"),
    ("at 5pm sharp", "at five p m sharp"),
    ("7:30p.m.", "seven thirty p m."),
    ("7:30PM", "seven thirty p m"),
    ("7:30 a. m. daily", "seven thirty a m daily"),
    ("7.30 pm", "seven thirty p m"),
    ("10 A.M. today", "ten a m today"),
    ("14:00", "fourteen hundred"),
    ("14:30", "fourteen thirty"),
    ("05:10", "five ten"),
    ("12:00 noon", "twelve noon"),
    ("09:45:05", "nine forty-five and five seconds"),
    ("2:15:01 pm", "two fifteen and one second p m"),
    ("9 a.m. EST", "nine a m E S T"),
    ("14:00 UTC", "fourteen hundred U T C"),
    ("10:00 GMT+1", "ten o'clock G M T plus one"),
    ("9am-5pm", "nine a m to five p m"),
    ("9:00–17:00", "nine o'clock to seventeen hundred"),
    ("open 4-5 p.m. daily", "open four to five p m daily"),
    # not times
    ("24:30", "24:30"),
    ("13 pm", "thirteen pm"),
    # no time there is: left as written (and listed), never read as a range or a ratio
    ("25:61", "25:61"),
    ("at 12:61", "at 12:61"),
    ("10:75 am", "10:75 am"),
    ("25:30-26:00 pm", "25:30-26:00 pm"),
    ("13:00-25:00", "13:00-25:00"),
    ("3:45-4:75", "3:45-4:75"),
]


@pytest.mark.parametrize(("written", "spoken"), CASES)
def test_times(written: str, spoken: str):
    assert normalize(written) == spoken
