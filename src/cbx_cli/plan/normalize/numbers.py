"""Numbers in words: cardinals and decimals as each language writes them, version numbers, bare fractions,
number ranges and leftover digit runs.

English and the languages that write 3.14 group thousands with commas; the others (`words.DECIMAL_COMMA`)
write 3,14 and 1.000, so each pattern here comes in two forms, keyed by "uses a decimal comma".
"""

from __future__ import annotations

import re

from cbx_cli.plan.normalize.context import spaced
from cbx_cli.plan.normalize.rule import Rule
from cbx_cli.plan.normalize.words import cardinal, digits, is_english, number

CURRENCY_SYMBOLS = "$£€¥₹"
"""The currency signs money.py reads; a number next to one is an amount, never a year."""
MINUS = r"(?<![\w.,\-−])[-−]"
"""A minus sign (not a hyphen after a word or a number)."""
SIGN = rf"(?P<sign>{MINUS}(?=[0-9]))?"
"""An optional minus sign that belongs to the number after it."""


def _point(decimal_comma: bool) -> str:
    return "," if decimal_comma else r"\."


def number_pattern(decimal_comma: bool) -> str:
    """Pattern source for a number with optional thousands groups (``int``) and decimals (``frac``)."""
    group = r"[.\u00a0\u202f]" if decimal_comma else ","
    integer = rf"(?:[0-9]{{1,3}}(?:{group}[0-9]{{3}})+(?![0-9])|[0-9]+)"
    return rf"(?P<int>{integer})(?:{_point(decimal_comma)}(?P<frac>[0-9]+))?"


_PLAIN_RE = {dc: re.compile(rf"{SIGN}(?<![0-9]){number_pattern(dc)}") for dc in (False, True)}
_BARE_FRACTION_RE = {
    dc: re.compile(rf"(?P<sign>{MINUS})?(?<![^\s(\[{{\-−]){_point(dc)}(?P<frac>[0-9]+)(?![\w])")
    for dc in (False, True)
}
_DOTTED_RE = re.compile(r"(?<![\w.,])[0-9]+(?:\.[0-9]+){2,}(?![\w]|\.[0-9])")
_DASH_RANGE_RE = re.compile(rf"(?<=[0-9])\s?–\s?(?=[-−]?[{CURRENCY_SYMBOLS}]?[0-9])")
_DIGITS_RE = re.compile(r"[0-9]+")


def _plain(text: str, match: re.Match[str], lang: str) -> str:
    words = number(match.group("sign") or "", match.group("int"), match.group("frac"), lang)
    return spaced(text, match, words)


def _bare_fraction(text: str, match: re.Match[str], lang: str) -> str:
    sign, frac = match.group("sign") or "", match.group("frac")
    if is_english(lang):
        words = f"point {digits(frac, lang)}"
        return spaced(text, match, f"minus {words}" if sign else words)
    return spaced(text, match, number(sign, "", frac, lang))


def _dotted(text: str, match: re.Match[str], lang: str) -> str:
    point = "point" if is_english(lang) else "."
    return f" {point} ".join(cardinal(part, lang) for part in match.group(0).split("."))


def _digit_run(text: str, match: re.Match[str], lang: str) -> str:
    return spaced(text, match, cardinal(match.group(0), lang))


def _to(text: str, match: re.Match[str], lang: str) -> str:
    return " to "


DASH_RANGE = Rule("number range with an en dash (10–20)", _DASH_RANGE_RE, _to, language="en")
DOTTED = Rule("dotted number (version 1.2.3)", _DOTTED_RE, _dotted)
BARE_FRACTION = Rule("decimal without a whole part (.5)", _BARE_FRACTION_RE, _bare_fraction)
NUMBER = Rule("number", _PLAIN_RE, _plain)
DIGITS = Rule("any digits left", _DIGITS_RE, _digit_run)
