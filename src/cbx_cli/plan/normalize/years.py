"""Years in words: "1984" → "nineteen eighty-four", "1990-1995", "2020–21", decades ("the 1980s", "'90s"),
eras ("500 BC" five hundred B C, "AD 1066" A D ten sixty-six).

A four-digit number from 1100 to 2099 is read as a year unless a unit, a percent sign or a minus sign says it
is a quantity.
"""

from __future__ import annotations

import re

from cbx_cli.plan.normalize.context import keep_period
from cbx_cli.plan.normalize.numbers import CURRENCY_SYMBOLS
from cbx_cli.plan.normalize.rule import Reading, Rule
from cbx_cli.plan.normalize.words import cardinal, n2w, plural_words, year

_UNITS = (
    r"%|percent\b|per\s?cent\b|pc\b|[kcm]?m\b|km/h\b|mph\b|[mk]?g\b|kgs?\b|lbs?\b|oz\b|ft\b|in\b|mi\b|miles?\b|"
    r"yards?\b|feet\b|foot\b|inch(?:es)?\b|metres?\b|meters?\b|kilometres?\b|kilometers?\b|grams?\b|kilos?\b|"
    r"kilograms?\b|tons?\b|tonnes?\b|litres?\b|liters?\b|l\b|ml\b|[kMG]?Hz\b|[kMGT]?B\b|[kMG]?W\b|V\b|°|"
    r"degrees?\b|calories?\b|kcal\b|hp\b|rpm\b|px\b|dpi\b"
)
"""Units that, after a four-digit number, make it a quantity rather than a year."""
_YEAR_DIGITS = r"(?:1[1-9][0-9]{2}|20[0-9]{2})"
_YEAR_RE = re.compile(
    rf"(?<![\w.,/:{CURRENCY_SYMBOLS}\-−])(?P<y>{_YEAR_DIGITS})(?![\w%°/]|[.,:\-–][0-9])(?!\s*(?:{_UNITS}))"
)
_YEAR_RANGE_RE = re.compile(
    rf"(?<![\w.,/:\-–])(?P<a>{_YEAR_DIGITS})(?P<sep>[-–/])(?P<b>{_YEAR_DIGITS}|[0-9]{{2}})(?![\w/\-–]|[.,:][0-9])"
)
_DECADE_RE = re.compile(r"(?<![\w.,])['’]?(?P<n>(?:1[0-9]|20)?[0-9]0)['’]?s(?!\w)")
_ERA_AFTER_RE = re.compile(
    r"(?<![\w.,])(?P<y>[0-9]{1,4})\s?(?P<era>BCE|BC|AD|CE|B\.C\.E\.|B\.C\.|A\.D\.|C\.E\.)(?!\w|\.\w)"
)
_ERA_BEFORE_RE = re.compile(r"(?<![\w.])(?P<era>AD|A\.D\.)\s?(?P<y>[0-9]{1,4})(?![\w.,]?[0-9])")


def _is_minus_before(text: str, start: int) -> bool:
    return start > 0 and text[start - 1] in "-−" and (start < 2 or not text[start - 2].isalnum())


def _year(text: str, match: re.Match[str], reading: Reading) -> str | None:
    if _is_minus_before(text, match.start()):
        return None
    return year(match.group("y"), reading.lang)


def _year_range(text: str, match: re.Match[str], reading: Reading) -> str | None:
    first, second = match.group("a"), match.group("b")
    if match.group("sep") == "/" and int(second) % 100 != (int(first) + 1) % 100:
        return None  # 2020/21 is a season; 1998/2003 is not a range
    end = year(second, reading.lang) if len(second) == 4 else cardinal(second, reading.lang)
    return f"{year(first, reading.lang)} to {end}"


def _decade(text: str, match: re.Match[str], reading: Reading) -> str:
    digits = match.group("n")
    words = year(digits, reading.lang) if len(digits) == 4 else n2w(int(digits), reading.lang)
    return plural_words(words)


def _era(text: str, match: re.Match[str], reading: Reading) -> str:
    era = match.group("era")
    letters = " ".join(era.replace(".", ""))
    said = year(match.group("y"), reading.lang)
    words = f"{letters} {said}" if match.start("era") < match.start("y") else f"{said} {letters}"
    return words + (keep_period(text, match, sentence_end_possible=True) if era.endswith(".") else "")


ERA_AFTER = Rule("year with its era (500 BC)", _ERA_AFTER_RE, _era, language="en")
ERA_BEFORE = Rule("year after AD (AD 1066)", _ERA_BEFORE_RE, _era, language="en")
DECADE = Rule("decade (the 1980s)", _DECADE_RE, _decade, language="en")
YEAR_RANGE = Rule("range of years", _YEAR_RANGE_RE, _year_range, language="en")
YEAR = Rule("year", _YEAR_RE, _year)
