"""Money and percentages in words: "$3.50" → "three dollars and fifty cents", "€2bn", "5€", "50%"."""

from __future__ import annotations

import re
from decimal import Decimal

from num2words import CONVERTER_CLASSES

from cbx_cli.plan.normalize.context import spaced
from cbx_cli.plan.normalize.numbers import CURRENCY_SYMBOLS, MINUS, SIGN, number_pattern
from cbx_cli.plan.normalize.rule import Rule
from cbx_cli.plan.normalize.words import Unsupported, base_language, grouped, is_english, n2w, number

_CURRENCY = {  # one entry for each of CURRENCY_SYMBOLS
    # symbol: (ISO code, English singular, plural, sub-unit singular, sub-unit plural)
    "$": ("USD", "dollar", "dollars", "cent", "cents"),
    "£": ("GBP", "pound", "pounds", "penny", "pence"),
    "€": ("EUR", "euro", "euros", "cent", "cents"),
    "¥": ("JPY", "yen", "yen", "", ""),
    "₹": ("INR", "rupee", "rupees", "paisa", "paise"),
}

_SYMBOLS_AFTER = CURRENCY_SYMBOLS.replace("$", "")
"""Signs also written after the amount (5€); "5$" is not how dollars are written."""

_MAGNITUDES = {
    "thousand": "thousand",
    "million": "million",
    "billion": "billion",
    "trillion": "trillion",
    "k": "thousand",
    "m": "million",
    "mn": "million",
    "b": "billion",
    "bn": "billion",
    "tn": "trillion",
}

_PERCENT_WORD = {
    "en": "percent",
    "fr": "pour cent",
    "de": "Prozent",
    "es": "por ciento",
    "it": "per cento",
    "pt": "por cento",
    "nl": "procent",
    "pl": "procent",
    "sv": "procent",
    "da": "procent",
    "no": "prosent",
    "cs": "procent",
    "sk": "percent",
    "ca": "per cent",
    "id": "persen",
}
"""The word for "percent" where num2words has none; other languages keep the % sign."""

_CURRENCY_BEFORE_RE = {
    dc: re.compile(
        rf"(?P<sign>{MINUS}(?=[{CURRENCY_SYMBOLS}]))?(?P<sym>[{CURRENCY_SYMBOLS}])\s?{number_pattern(dc)}"
        r"(?:\s?(?P<mag>thousand|million|billion|trillion)\b|(?P<abbr>[kKmM]|[mM]n|[bB]n?|[tT]n)\b)?"
    )
    for dc in (False, True)
}
_CURRENCY_AFTER_RE = {
    dc: re.compile(rf"{SIGN}(?<![\w.,]){number_pattern(dc)}\s?(?P<sym>[{_SYMBOLS_AFTER}])") for dc in (False, True)
}
_PERCENT_RE = {dc: re.compile(rf"{SIGN}(?<![\w.,]){number_pattern(dc)}\s?%") for dc in (False, True)}


def _currency(text: str, match: re.Match[str], lang: str) -> str | None:
    english = is_english(lang)
    code, one, many, sub_one, sub_many = _CURRENCY[match.group("sym")]
    sign, int_part, frac = match.group("sign") or "", match.group("int"), match.group("frac")
    groups = match.groupdict()
    magnitude = groups.get("mag") or groups.get("abbr")
    if magnitude:
        if not english:
            return None
        amount = number(sign, int_part, frac, lang)
        words = f"{amount} {_MAGNITUDES[magnitude.lower()]} {many}"
    elif english:
        words = _english_money(sign, int_part, frac, lang, (one, many, sub_one, sub_many))
    else:
        words = _foreign_money(sign, int_part, frac, lang, code)
    return spaced(text, match, words)


def _english_money(sign: str, int_part: str, frac: str | None, lang: str, names: tuple[str, ...]) -> str:
    one, many, sub_one, sub_many = names
    whole = int(re.sub(r"[^0-9]", "", int_part))
    if frac is not None and (len(frac) > 2 or not sub_one):
        words = f"{number('', int_part, frac, lang)} {many}"
    else:
        cents = int(frac.ljust(2, "0")) if frac else 0
        parts = []
        if whole or not cents:
            parts.append(f"{grouped(int_part, lang)} {one if whole == 1 else many}")
        if cents:
            parts.append(f"{n2w(cents, lang)} {sub_one if cents == 1 else sub_many}")
        words = " and ".join(parts)
    return f"minus {words}" if sign else words


def _foreign_money(sign: str, int_part: str, frac: str | None, lang: str, code: str) -> str:
    plain = re.sub(r"[^0-9]", "", int_part) or "0"
    if frac and int(frac):
        value = Decimal(f"{'-' if sign else ''}{plain}.{frac}")
        return n2w(value, lang, to="currency", currency=code)
    converter = CONVERTER_CLASSES[lang]
    try:
        name = converter.pluralize(int(plain), converter.CURRENCY_FORMS[code][0])
    except Exception as exc:  # noqa: BLE001 - a language without this currency or this plural rule
        raise Unsupported(str(exc)) from None
    return f"{number(sign, int_part, None, lang)} {name}"


def _percent(text: str, match: re.Match[str], lang: str) -> str:
    word = _PERCENT_WORD.get("en" if is_english(lang) else base_language(lang))
    amount = number(match.group("sign") or "", match.group("int"), match.group("frac"), lang)
    return spaced(text, match, f"{amount} {word}" if word else f"{amount} %")


CURRENCY_BEFORE = Rule("currency symbol before the amount ($5)", _CURRENCY_BEFORE_RE, _currency)
CURRENCY_AFTER = Rule("currency symbol after the amount (5€)", _CURRENCY_AFTER_RE, _currency)
PERCENT = Rule("percent", _PERCENT_RE, _percent)
