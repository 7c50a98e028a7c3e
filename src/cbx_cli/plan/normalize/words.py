"""Number words in a language, from num2words, and the choices of how a number is read.

num2words covers cardinals, ordinals, years and currencies in some fifty languages behind one call, which is
what per-language normalization needs; the rule modules only find numbers and choose how each is read.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from num2words import CONVERTER_CLASSES, num2words

DECIMAL_COMMA = frozenset(
    "fr de es it pt nl pl ru uk be cs sk sl sr sv da no fi is tr ro hu lt lv ca id az kz tg eo".split()
)
"""Languages that write 3,14 for three point one four (and 1.000 for a thousand)."""

YEAR_AS_CARDINAL = frozenset({"ja"})
"""Languages whose num2words ``to='year'`` does something else (Japanese answers with an era name)."""

MAX_PLAIN_DIGITS = 9
"""An unseparated run of more digits than this (a phone number, an ID) is read digit by digit."""


class Unsupported(Exception):
    """num2words cannot say this number in this language: the rule leaves the match as written."""


def resolve_language(language: str) -> str | None:
    """The ``num2words`` language code for ``language`` (``"en"``, ``"en-GB"``, ``"pt_BR"`` …), or None."""
    parts = re.split(r"[-_]", language.strip())
    base = parts[0].lower()
    if len(parts) > 1:
        regional = f"{base}_{parts[1].upper()}"
        if regional in CONVERTER_CLASSES:
            return regional
    return base if base in CONVERTER_CLASSES else None


def is_english(lang: str) -> bool:
    return lang == "en" or lang.startswith("en_")


def base_language(lang: str) -> str:
    """``"pt"`` for ``"pt_BR"``."""
    return lang.split("_")[0]


def uses_decimal_comma(lang: str) -> bool:
    return base_language(lang) in DECIMAL_COMMA and not is_english(lang)


def n2w(value: int | Decimal, lang: str, **kwargs: object) -> str:
    """num2words, with its commas dropped; raises `Unsupported` for anything it cannot say."""
    try:
        words = num2words(value, lang=lang, **kwargs)
    except Exception as exc:  # noqa: BLE001 - num2words raises many kinds; any of them means "cannot say it"
        raise Unsupported(str(exc)) from None
    if not isinstance(words, str) or not words.strip():
        raise Unsupported(repr(value))
    # num2words writes "one thousand, nine hundred"; a comma would become a pause (and a chunk boundary).
    words = " ".join(words.replace(",", " ").split())
    if is_english(lang) and kwargs.get("to", "cardinal") in ("cardinal", "ordinal"):
        # "one hundred twenty-three", as American narration (and most reading guides) say it: the British
        # "and" inside a number also reads as a joint between two numbers ("five and a half").
        words = words.replace(" and ", " ")
    return words


def digits(run: str, lang: str) -> str:
    """Each digit of ``run`` as a word: "zero zero seven"."""
    return " ".join(n2w(int(d), lang) for d in run)


def cardinal(run: str, lang: str) -> str:
    """Words for a run of ASCII digits (no sign, no separators); a leading zero or a long run is read digit by
    digit."""
    if (len(run) > 1 and run[0] == "0") or len(run) > MAX_PLAIN_DIGITS:
        return digits(run, lang)
    return n2w(int(run), lang)


def grouped(int_part: str, lang: str) -> str:
    """Words for an integer that may carry thousands separators."""
    plain = re.sub(r"[^0-9]", "", int_part)
    if plain != int_part:  # separated: a real quantity, however long
        return n2w(int(plain), lang)
    return cardinal(plain, lang)


def number(sign: str, int_part: str, frac: str | None, lang: str) -> str:
    """Words for an optionally signed, optionally decimal number."""
    if frac is None:
        words = grouped(int_part, lang) if int_part else n2w(0, lang)
    elif is_english(lang):
        whole = grouped(int_part, lang) if int_part else "zero"
        words = f"{whole} point {digits(frac, lang)}"
    else:
        plain = re.sub(r"[^0-9]", "", int_part) or "0"
        try:
            value = Decimal(f"{plain}.{frac}")
        except InvalidOperation as exc:  # pragma: no cover - the pattern only lets digits through
            raise Unsupported(str(exc)) from None
        words = n2w(value, lang)
    if sign == "+":
        if not is_english(lang):
            raise Unsupported("a plus sign")  # left as written
        words = f"plus {words}"
    elif sign:
        minus = "minus" if is_english(lang) else _minus_word(lang)
        words = f"{minus} {words}"
    return words


def _minus_word(lang: str) -> str:
    converter = CONVERTER_CLASSES.get(lang)
    word = getattr(converter, "negword", "") or ""
    return word.strip() or "-"


def year(run: str, lang: str) -> str:
    """A year as a year is read ("nineteen eighty-four"), or as a number where num2words cannot."""
    if is_english(lang):
        return english_year(int(run))
    if base_language(lang) in YEAR_AS_CARDINAL:
        return cardinal(run, lang)
    try:
        return n2w(int(run), lang, to="year")
    except Unsupported:
        return cardinal(run, lang)


def english_year(value: int) -> str:
    """1984 "nineteen eighty-four", 1905 "nineteen oh five", 1900 "nineteen hundred", 2005 "two thousand five",
    2010 "twenty ten"; a year before 1000 or from 10000 on as a number."""
    high, low = divmod(value, 100)
    if value < 1000 or value >= 10000 or (high % 10 == 0 and low < 10):
        return n2w(value, "en")
    if low == 0:
        return f"{n2w(high, 'en')} hundred"
    low_words = f"oh {n2w(low, 'en')}" if low < 10 else n2w(low, "en")
    return f"{n2w(high, 'en')} {low_words}"


def ordinal(run: str, lang: str) -> str:
    return n2w(int(run), lang, to="ordinal")


def plural_words(words: str) -> str:
    """'nineteen eighty' -> 'nineteen eighties' (for decades)."""
    head, _, last = words.rpartition(" ")
    last = last[:-1] + "ies" if last.endswith("y") else last + "s"
    return f"{head} {last}" if head else last
