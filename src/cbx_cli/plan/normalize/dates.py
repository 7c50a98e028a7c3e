"""English dates in words: "14 March 2024", "March 14, 2024", "the 5th of May", "2024-03-14", "Jan. 2024",
"Mon., Jan. 5", and numeric dates "03/11/1998", "3.11.98", "1998/11/03".

A numeric date is read in the order its fields allow (a day above 12 settles it); where both orders are
possible, in the reader's `Reading.date_order` (``--date-order``), else the language's own
(`cbx_cli.plan.normalize.languages.date_order`): day first for English. Day-first dates are read "the third of
November", month-first and year-first ones "November third", as they are written. In the languages of
`languages.DATE_FORMS` a numeric date is written out that language's way ("14 juillet 1789") for the rules
after these to read.
"""

from __future__ import annotations

import re

from cbx_cli.plan.english import MONTHS, WEEKDAYS
from cbx_cli.plan.normalize.context import BEGIN, END, keep_period
from cbx_cli.plan.normalize.languages import DATE_FORMS, FIRST_OF_THE_MONTH, date_order
from cbx_cli.plan.normalize.ordinals import ORDINAL_SUFFIX
from cbx_cli.plan.normalize.rule import Reading, Rule
from cbx_cli.plan.normalize.words import base_language, cardinal, ordinal, year

_MONTH_BY_PREFIX = {m[:3]: m for m in MONTHS} | {"Sept": "September"}
_MONTH_ALT = "|".join([*MONTHS, "Sept", *(m[:3] for m in MONTHS if m != "May")])
_MONTH = rf"(?P<mon>(?:{_MONTH_ALT})\b\.?)"
_YEAR_AFTER = r"(?:,?\s+(?P<y>[0-9]{4})(?![0-9]))?(?![\w:])"
_DAY_MONTH_RE = re.compile(
    rf"{BEGIN}(?P<d>[0-9]{{1,2}}){ORDINAL_SUFFIX}?\s+(?P<of>of\s+)?{_MONTH}{_YEAR_AFTER}"
)
_MONTH_DAY_RE = re.compile(
    rf"(?<![\w.]){_MONTH}\s+(?P<d>[0-9]{{1,2}}){ORDINAL_SUFFIX}?(?![\w:.,]?[0-9])(?!\w){_YEAR_AFTER}"
)
_MONTH_YEAR_RE = re.compile(rf"(?<![\w.]){_MONTH}\s+(?P<y>[0-9]{{4}})(?![\w:]|[.,][0-9])")
_ISO_DATE_RE = re.compile(r"(?<![\w.-])(?P<y>[0-9]{4})-(?P<m>0[1-9]|1[0-2])-(?P<d>0[1-9]|[12][0-9]|3[01])(?![\w-])")
_NUMERIC_DATE_RE = re.compile(
    rf"{BEGIN}(?:(?P<y1>[0-9]{{4}})(?P<s1>[/.\-])(?P<a1>[0-9]{{1,2}})(?P=s1)(?P<b1>[0-9]{{1,2}})"
    rf"|(?P<a>[0-9]{{1,2}})(?P<s>[/.\-])(?P<b>[0-9]{{1,2}})(?P=s)(?P<y>[0-9]{{4}}|(?<=[/.])[0-9]{{2}}))"
    rf"(?!\.[0-9]){END}"
)
"""A date written in figures: year first (1998/11/03, 2001.09.11) or last (03/11/1998, 3.11.98), read here
in English and written out by `languages.DATE_FORMS` in other languages."""

_NUMERIC_MONTH_YEAR_RE = re.compile(rf"{BEGIN}(?P<m>0?[1-9]|1[0-2])/(?P<y>1[0-9]{{3}}|20[0-9]{{2}}){END}")
_WEEKDAY_RE = re.compile(
    rf"\b(?P<day>Mon|Tue|Tues|Wed|Thu|Thur|Thurs|Fri|Sat|Sun)\.?(?=,?\s+(?:[0-9]|(?:{_MONTH_ALT})\b))"
)
_THE_BEFORE_RE = re.compile(r"\bthe\s+$", re.IGNORECASE)
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _month_name(raw: str) -> str:
    name = raw.rstrip(".")
    return name if name in MONTHS else _MONTH_BY_PREFIX[name]


def _year_words(y: str | None, lang: str) -> str:
    if not y:
        return ""
    if len(y) == 2:  # '98: the century is not written, so it is not said
        return ", " + (f"oh {cardinal(y[1], lang)}" if y[0] == "0" else cardinal(y, lang))
    return f", {year(y, lang)}"


def _month_period(text: str, match: re.Match[str]) -> str:
    # "on 3 Jan." at the end of a sentence: the abbreviation's period is also the full stop.
    if match.group("y") is None and match.group("mon").endswith("."):
        return keep_period(text, match, sentence_end_possible=True)
    return ""


def day_first(day: int, month: int, y: str | None, lang: str, the: str = "the ") -> str:
    """"the third of November, nineteen ninety-eight"."""
    return f"{the}{ordinal(str(day), lang)} of {MONTHS[month - 1]}{_year_words(y, lang)}"


def month_first(day: int, month: int, y: str | None, lang: str) -> str:
    """"November third, nineteen ninety-eight"."""
    return f"{MONTHS[month - 1]} {ordinal(str(day), lang)}{_year_words(y, lang)}"


def _valid(day: int, month: int) -> bool:
    return 1 <= month <= 12 and 1 <= day <= _DAYS_IN_MONTH[month - 1]


def _the(text: str, match: re.Match[str]) -> str:
    return "" if _THE_BEFORE_RE.search(text[max(0, match.start() - 10) : match.start()]) else "the "


def _day_month(text: str, match: re.Match[str], reading: Reading) -> str | None:
    day, month = int(match.group("d")), MONTHS.index(_month_name(match.group("mon"))) + 1
    if not _valid(day, month):
        return None
    return day_first(day, month, match.group("y"), reading.lang, _the(text, match)) + _month_period(text, match)


def _month_day(text: str, match: re.Match[str], reading: Reading) -> str | None:
    day, month = int(match.group("d")), MONTHS.index(_month_name(match.group("mon"))) + 1
    if not _valid(day, month):
        return None
    return month_first(day, month, match.group("y"), reading.lang)


def _month_year(text: str, match: re.Match[str], reading: Reading) -> str:
    return f"{_month_name(match.group('mon'))} {year(match.group('y'), reading.lang)}"


def _iso(text: str, match: re.Match[str], reading: Reading) -> str | None:
    day, month = int(match.group("d")), int(match.group("m"))
    return month_first(day, month, match.group("y"), reading.lang) if _valid(day, month) else None


def numeric_fields(match: re.Match[str], order: str) -> tuple[str, int, int, str] | None:
    """(the order read, day, month, year as written) of a numeric date: the order its fields allow, else
    ``order``; None for no possible date."""
    if match.group("y1"):
        day, month = int(match.group("b1")), int(match.group("a1"))
        return ("ymd", day, month, match.group("y1")) if _valid(day, month) else None
    a, b = int(match.group("a")), int(match.group("b"))
    readings = {"dmy": (a, b), "mdy": (b, a)}
    possible = [name for name, (day, month) in readings.items() if _valid(day, month)]
    if not possible:
        return None
    chosen = order if order in possible else possible[0]
    return chosen, *readings[chosen], match.group("y")


def _numeric(text: str, match: re.Match[str], reading: Reading) -> str | None:
    fields = numeric_fields(match, reading.date_order or date_order(reading.lang))
    if fields is None:
        return None
    chosen, day, month, y = fields
    if chosen == "dmy":
        return day_first(day, month, y, reading.lang, _the(text, match))
    return month_first(day, month, y, reading.lang)


def _numeric_month_year(text: str, match: re.Match[str], reading: Reading) -> str:
    return f"{MONTHS[int(match.group('m')) - 1]} {year(match.group('y'), reading.lang)}"


def _weekday(text: str, match: re.Match[str], reading: Reading) -> str:
    day = match.group("day")[:3]
    return next(name for name in WEEKDAYS if name.startswith(day))


ISO_DATE = Rule("ISO date", _ISO_DATE_RE, _iso, language="en")
NUMERIC_DATE = Rule("numeric date (03/11/1998)", _NUMERIC_DATE_RE, _numeric, language="en")
NUMERIC_MONTH_YEAR = Rule("month/year (12/2019)", _NUMERIC_MONTH_YEAR_RE, _numeric_month_year, language="en")
WEEKDAY = Rule("weekday abbreviation before a date (Mon., Jan. 5)", _WEEKDAY_RE, _weekday, language="en")
DAY_MONTH = Rule("day month year", _DAY_MONTH_RE, _day_month, language="en")
MONTH_DAY = Rule("month day, year", _MONTH_DAY_RE, _month_day, language="en")
MONTH_YEAR = Rule("month year (Jan. 2024)", _MONTH_YEAR_RE, _month_year, language="en")


def _date_in_words(text: str, match: re.Match[str], reading: Reading) -> str | None:
    fields = numeric_fields(match, reading.date_order or date_order(reading.lang))
    if fields is None or len(fields[3]) != 4:
        return None
    _, day, month, year_written = fields
    lang = base_language(reading.lang)
    form, months = DATE_FORMS[lang]
    day_written = FIRST_OF_THE_MONTH.get(lang, "1") if day == 1 else str(day)
    return form.format(d=day_written, m=month, y=year_written, month=months[month - 1] if months else "")


DATES_IN_WORDS = tuple(
    Rule(f"numeric date written out ({lang})", _NUMERIC_DATE_RE, _date_in_words, language=lang)
    for lang in DATE_FORMS
)
"""One rule per language of `DATE_FORMS`: "14/07/2024" → "14 juillet 2024", read by the rules after it."""
