"""Measures in words: "40kg" forty kilograms, "1 lb" one pound, "-5°C" minus five degrees Celsius, "60 mph",
"20 m²" twenty square meters, "5 mg/kg" five milligrams per kilogram, "a 5-kg bag" a five-kilogram bag,
"5 ft 11 in" and 5'11" five feet eleven inches.

The units and how one and many of each are said are the table `cbx_cli.plan.english.UNITS`.
"""

from __future__ import annotations

import re

from cbx_cli.plan.english import NOT_ALONE_UNITS, RATE_WORDS, SPACED_ONLY_UNITS, UNITS
from cbx_cli.plan.normalize.context import BEGIN, END, keep_period, spaced
from cbx_cli.plan.normalize.numbers import SIGN, is_one, number_pattern, said_number
from cbx_cli.plan.normalize.rule import Reading, Rule
from cbx_cli.plan.normalize.words import cardinal, number


def _alternation(names) -> str:
    return "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))


_DEGREES = r"[°º]\s?[CF](?![a-zA-Z])|[°º]"
UNIT = rf"(?:{_DEGREES}|(?:{_alternation(u for u in UNITS if not u.startswith('°'))})(?![a-zA-Z]))"
"""Pattern source for a unit symbol (the longest that fits: "km/h" before "km")."""
_PER = rf"(?:{UNIT}|(?:{_alternation(RATE_WORDS)})(?![a-zA-Z]))"
_SQUARE = r"(?P<sq>sq\.?\s?|square\s|cu\.?\s?|cubic\s)"
_MEASURE_RE = {
    dc: re.compile(
        rf"{BEGIN}{SIGN}{number_pattern(dc)}(?P<gap>\s|-)?{_SQUARE}?(?P<unit>{UNIT})(?P<pow>[²³]|(?<=[a-z])[23])?"
        rf"(?:/(?P<per>{_PER}))?(?P<dot>\.(?![\w]))?(?![\w/°]){END}"
    )
    for dc in (False, True)
}
_FEET_INCHES_RE = re.compile(
    rf"{BEGIN}(?P<ft>[0-9]+)\s?(?:ft\.?|feet|foot|['′’])\s?(?P<in>[0-9]+(?:\.[0-9]+)?)\s?(?:in\b\.?|inch(?:es)?\b|[\"″”])?"
    r"(?![\w'’.]?[0-9])"
)


def unit_key(written: str) -> str:
    """The `UNITS` key of a unit as written ("º C" → "°C")."""
    compact = written.replace(" ", "").replace("º", "°")
    return compact if compact in UNITS else written


def unit_words(written: str, many: bool, power: str = "", square: str = "") -> str:
    """How a unit is said: "kilogram" or "kilograms"; "square meters" for m² or "sq m"; "cubic feet"."""
    unit = UNITS[unit_key(written)]
    words = unit.many if many else unit.one
    kind = (square or "").strip(". ").lower()
    if power in ("2", "²") or kind in ("sq", "square"):
        words = f"square {words}"
    elif power in ("3", "³") or kind in ("cu", "cubic"):
        words = f"cubic {words}"
    return words


def per_words(written: str) -> str:
    """The one of a unit or a thing something is counted per: "hour", "kilogram"."""
    return UNITS[written].one if written in UNITS else written


def _fits(match: re.Match[str]) -> bool:
    """Whether the unit may be read in the way it is written next to the number."""
    unit, gap = match.group("unit"), match.group("gap") or ""
    if unit in SPACED_ONLY_UNITS and gap != " ":
        return False
    return not (unit in NOT_ALONE_UNITS and gap == " " and not match.group("dot"))  # "3 in." is inches


def _measure(text: str, match: re.Match[str], reading: Reading) -> str | None:
    if not _fits(match):
        return None
    amount = said_number(match, reading)
    adjective = match.group("gap") == "-"
    unit = unit_words(match.group("unit"), not (adjective or is_one(match)), match.group("pow") or "",
                      match.group("sq") or "")
    if match.group("per"):
        unit = f"{unit} per {per_words(match.group('per'))}"
    words = f"{amount}-{unit.replace(' ', '-')}" if adjective else f"{amount} {unit}"
    if match.group("dot"):
        words += keep_period(text, match, sentence_end_possible=True)
    return spaced(text, match, words)


def _feet_inches(text: str, match: re.Match[str], reading: Reading) -> str:
    feet, inches = match.group("ft"), match.group("in")
    feet_words = f"{cardinal(feet, reading.lang)} {'foot' if feet == '1' else 'feet'}"
    whole, _, frac = inches.partition(".")
    inch_words = number("", whole, frac or None, reading.lang)
    return f"{feet_words} {inch_words} {'inch' if inches == '1' else 'inches'}"


FEET_INCHES = Rule("feet and inches (5 ft 11 in)", _FEET_INCHES_RE, _feet_inches, language="en")
MEASURE = Rule("measure (40 kg, 60 mph, -5°C)", _MEASURE_RE, _measure, language="en")
