"""English dates in words: "14 March 2024", "March 14, 2024", "the 5th of May", "2024-03-14"."""

from __future__ import annotations

import re

from cbx_cli.plan.english import MONTHS
from cbx_cli.plan.normalize.context import keep_period
from cbx_cli.plan.normalize.ordinals import ORDINAL_SUFFIX
from cbx_cli.plan.normalize.rule import Rule
from cbx_cli.plan.normalize.words import ordinal, year

_MONTH_BY_PREFIX = {m[:3]: m for m in MONTHS} | {"Sept": "September"}
_MONTH_ALT = "|".join([*MONTHS, "Sept", *(m[:3] for m in MONTHS if m != "May")])
_MONTH = rf"(?P<mon>(?:{_MONTH_ALT})\b\.?)"
_DAY_MONTH_RE = re.compile(
    rf"(?<![\w.,])(?P<d>[0-9]{{1,2}}){ORDINAL_SUFFIX}?\s+(?P<of>of\s+)?{_MONTH}"
    rf"(?:,?\s+(?P<y>[0-9]{{4}})(?![0-9]))?(?![\w:])"
)
_MONTH_DAY_RE = re.compile(
    rf"(?<![\w.]){_MONTH}\s+(?P<d>[0-9]{{1,2}}){ORDINAL_SUFFIX}?(?![\w:.,]?[0-9])(?!\w)"
    rf"(?:,?\s+(?P<y>[0-9]{{4}})(?![0-9]))?(?![\w:])"
)
_ISO_DATE_RE = re.compile(r"(?<![\w.-])(?P<y>[0-9]{4})-(?P<m>0[1-9]|1[0-2])-(?P<d>0[1-9]|[12][0-9]|3[01])(?![\w-])")
_THE_BEFORE_RE = re.compile(r"\bthe\s+$", re.IGNORECASE)


def _month_name(raw: str) -> str:
    name = raw.rstrip(".")
    return name if name in MONTHS else _MONTH_BY_PREFIX[name]


def _date_year(match: re.Match[str], lang: str) -> str:
    y = match.group("y")
    return f", {year(y, lang)}" if y else ""


def _month_period(text: str, match: re.Match[str]) -> str:
    # "on 3 Jan." at the end of a sentence: the abbreviation's period is also the full stop.
    if match.group("y") is None and match.group("mon").endswith("."):
        return keep_period(text, match, sentence_end_possible=True)
    return ""


def _day_month(text: str, match: re.Match[str], lang: str) -> str | None:
    day = int(match.group("d"))
    if not 1 <= day <= 31:
        return None
    the = "" if _THE_BEFORE_RE.search(text[max(0, match.start() - 10) : match.start()]) else "the "
    month = _month_name(match.group("mon"))
    return f"{the}{ordinal(str(day), lang)} of {month}{_date_year(match, lang)}{_month_period(text, match)}"


def _month_day(text: str, match: re.Match[str], lang: str) -> str | None:
    day = int(match.group("d"))
    if not 1 <= day <= 31:
        return None
    month = _month_name(match.group("mon"))
    return f"{month} {ordinal(str(day), lang)}{_date_year(match, lang)}"


def _iso(text: str, match: re.Match[str], lang: str) -> str:
    month = MONTHS[int(match.group("m")) - 1]
    return f"{month} {ordinal(str(int(match.group('d'))), lang)}{_date_year(match, lang)}"


ISO_DATE = Rule("ISO date", _ISO_DATE_RE, _iso, language="en")
DAY_MONTH = Rule("day month year", _DAY_MONTH_RE, _day_month, language="en")
MONTH_DAY = Rule("month day, year", _MONTH_DAY_RE, _month_day, language="en")
