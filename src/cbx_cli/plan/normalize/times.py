"""Clock times in words: "6:40" six forty, "11:05 pm" eleven oh five p m, "7:30p.m." seven thirty p m,
"14:00" fourteen hundred, "09:45:05" nine forty-five and five seconds, "9 a.m. EST" nine a m E S T,
"9am-5pm" nine a m to five p m.

a.m. and p.m. are said letter by letter however they are written (am, a.m., AM, A. M., glued or spaced).
"""

from __future__ import annotations

import re

from cbx_cli.plan.english import TIME_ZONES
from cbx_cli.plan.normalize.context import BEGIN, END, keep_period
from cbx_cli.plan.normalize.rule import Reading, Rule
from cbx_cli.plan.normalize.words import n2w

_AMPM = r"(?:\s?(?P<ap>[aApP])\.?\s?[mM](?P<dot>\.)?(?![\w]))"
_ZONE = rf"(?:\s(?P<zone>{'|'.join(sorted(TIME_ZONES, key=len, reverse=True))})(?![\w])(?:(?P<off>[+−-][0-9]{{1,2}}))?)"
_CLOCK = r"(?P<h>[01]?[0-9]|2[0-4]):(?P<m>[0-5][0-9])(?::(?P<s>[0-5][0-9]))?"
_CLOCK_RE = re.compile(rf"{BEGIN}{_CLOCK}(?:{_AMPM}|(?![\w:]|[.,][0-9])){_ZONE}?{END}")
_DOTTED_CLOCK_RE = re.compile(rf"{BEGIN}(?P<h>1[0-2]|0?[1-9])\.(?P<m>[0-5][0-9]){_AMPM}{_ZONE}?{END}")
_HOUR_AMPM_RE = re.compile(rf"{BEGIN}(?P<h>1[0-2]|0?[1-9])(?![0-9:]){_AMPM}{_ZONE}?{END}")
_TIME = r"(?:[0-2]?[0-9]:[0-5][0-9](?:\s?[aApP]\.?\s?[mM]\.?)?|(?:1[0-2]|0?[1-9])\s?[aApP]\.?\s?[mM]\.?)"
_HOUR_BEFORE_AMPM = r"(?:1[0-2]|0?[1-9])(?=\s?[-–—]\s?(?:1[0-2]|0?[1-9])(?::[0-5][0-9])?\s?[aApP]\.?\s?[mM])"
"""The bare first hour of "4-5 p.m.", which the a.m./p.m. after the second one makes a time too."""
_TIME_RANGE_RE = re.compile(rf"{BEGIN}(?P<a>{_TIME}|{_HOUR_BEFORE_AMPM})\s?[-–—]\s?(?P<b>{_TIME}){END}")


_NOON_RE = re.compile(r"\s+(?:noon|midnight)\b", re.IGNORECASE)


def _suffix(text: str, match: re.Match[str]) -> str:
    """" p m", " p m E S T" and the full stop a final "p.m." also stands for."""
    words = ""
    if match.group("ap"):
        words = " " + match.group("ap").lower() + " m"
    zone = match.group("zone")
    if zone:
        words += " " + " ".join(zone)
        if match.group("off"):
            sign = "plus" if match.group("off")[0] == "+" else "minus"
            words += f" {sign} {n2w(int(match.group('off')[1:]), 'en')}"
    elif match.group("ap") and match.group("dot"):
        words += keep_period(text, match, sentence_end_possible=True)
    return words


def _minutes(minute: int, lang: str) -> str:
    return f"oh {n2w(minute, lang)}" if minute < 10 else n2w(minute, lang)


def _clock(text: str, match: re.Match[str], reading: Reading) -> str | None:
    hour, minute = int(match.group("h")), int(match.group("m"))
    second = int(match.group("s")) if match.groupdict().get("s") else 0
    if (hour == 24 and (minute or second)) or (match.group("ap") and not 1 <= hour <= 12):
        return None
    lang = reading.lang
    if not reading.english:
        values = [hour, minute, second] if second else [hour, minute] if minute else [hour]
        rest = match.group(0)[match.end("s" if second else "m") - match.start() :]  # a zone, said as written
        return " ".join(n2w(value, lang) for value in values) + rest
    suffix = _suffix(text, match)
    if not minute and not second and _NOON_RE.match(text, match.end()):
        return n2w(hour, lang) + suffix  # "12:00 noon" twelve noon
    if minute:
        words = f"{n2w(hour, lang)} {_minutes(minute, lang)}"
    elif match.group("ap") and not second:
        words = n2w(hour, lang)
    else:
        words = f"{n2w(hour, lang)} o'clock" if 1 <= hour <= 12 else f"{n2w(hour, lang)} hundred"
    if second:
        words += f" and {n2w(second, lang)} {'second' if second == 1 else 'seconds'}"
    return words + suffix


def _hour_ampm(text: str, match: re.Match[str], reading: Reading) -> str:
    return n2w(int(match.group("h")), reading.lang) + _suffix(text, match)


_SIDE_RE = re.compile(r"(?P<h>[0-9]{1,2})(?::(?P<m>[0-9]{2}))?\s?(?P<ap>[aApP])?")


def _is_time(side: str) -> bool:
    """Whether one side of a range is a time there is: hours to 24 (1-12 with a.m./p.m.), minutes to 59."""
    m = _SIDE_RE.match(side)
    hour, minute = int(m.group("h")), int(m.group("m") or 0)
    if m.group("ap"):
        return 1 <= hour <= 12 and minute <= 59
    return minute <= 59 and (hour < 24 or (hour == 24 and minute == 0))


def _time_range(text: str, match: re.Match[str], reading: Reading) -> str | None:
    """"9am-5pm" nine a m to five p m; a side that is no time (25:30) leaves the whole as written."""
    a, b = match.group("a"), match.group("b")
    if not (_is_time(a) and _is_time(b)):
        return None
    return f"{a} to {b}"


TIME_RANGE = Rule("range of times (9am-5pm)", _TIME_RANGE_RE, _time_range, language="en")
CLOCK = Rule("clock time", _CLOCK_RE, _clock)
DOTTED_CLOCK = Rule("clock time with a point (7.30 pm)", _DOTTED_CLOCK_RE, _clock, language="en")
HOUR_AM_PM = Rule("hour a.m./p.m.", _HOUR_AMPM_RE, _hour_ampm, language="en")
