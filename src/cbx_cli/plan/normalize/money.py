"""Money and percentages in words: "$3.50" three dollars and fifty cents, "$0.50" fifty cents, "€2bn", "5€",
"$3.5 million" three point five million dollars, "$15/hr" fifteen dollars an hour, "USD 20", "20 CHF", "50¢",
"50%"."""

from __future__ import annotations

import re
from decimal import Decimal

from num2words import CONVERTER_CLASSES

from cbx_cli.plan.english import RATE_WORDS, UNITS
from cbx_cli.plan.normalize.context import BEGIN, END, spaced
from cbx_cli.plan.normalize.numbers import CURRENCY_SYMBOLS, MINUS, SIGN, number_pattern
from cbx_cli.plan.normalize.rule import Reading, Rule
from cbx_cli.plan.normalize.words import Unsupported, base_language, grouped, is_english, n2w, number

_CURRENCY = {  # one entry for each of CURRENCY_SYMBOLS
    # symbol: (ISO code, English singular, plural, sub-unit singular, sub-unit plural)
    "$": ("USD", "dollar", "dollars", "cent", "cents"),
    "£": ("GBP", "pound", "pounds", "penny", "pence"),
    "€": ("EUR", "euro", "euros", "cent", "cents"),
    "¥": ("JPY", "yen", "yen", "", ""),
    "₹": ("INR", "rupee", "rupees", "paisa", "paise"),
}

_CODES = {
    # code or sign: (English singular, plural, sub-unit singular, sub-unit plural)
    "USD": ("US dollar", "US dollars", "cent", "cents"), "US$": ("US dollar", "US dollars", "cent", "cents"),
    "EUR": ("euro", "euros", "cent", "cents"), "GBP": ("pound", "pounds", "penny", "pence"),
    "JPY": ("yen", "yen", "", ""), "CNY": ("yuan", "yuan", "", ""), "RMB": ("yuan", "yuan", "", ""),
    "INR": ("rupee", "rupees", "paisa", "paise"), "Rs": ("rupee", "rupees", "paisa", "paise"),
    "CHF": ("Swiss franc", "Swiss francs", "centime", "centimes"),
    "CAD": ("Canadian dollar", "Canadian dollars", "cent", "cents"),
    "C$": ("Canadian dollar", "Canadian dollars", "cent", "cents"),
    "AUD": ("Australian dollar", "Australian dollars", "cent", "cents"),
    "A$": ("Australian dollar", "Australian dollars", "cent", "cents"),
    "NZD": ("New Zealand dollar", "New Zealand dollars", "cent", "cents"),
    "NZ$": ("New Zealand dollar", "New Zealand dollars", "cent", "cents"),
    "HKD": ("Hong Kong dollar", "Hong Kong dollars", "cent", "cents"),
    "HK$": ("Hong Kong dollar", "Hong Kong dollars", "cent", "cents"),
    "SEK": ("Swedish krona", "Swedish kronor", "", ""), "NOK": ("Norwegian krone", "Norwegian kroner", "", ""),
    "DKK": ("Danish krone", "Danish kroner", "", ""), "RUB": ("ruble", "rubles", "", ""),
    "₽": ("ruble", "rubles", "", ""), "₩": ("won", "won", "", ""), "KRW": ("won", "won", "", ""),
    "₺": ("lira", "lira", "", ""), "₪": ("shekel", "shekels", "", ""), "₦": ("naira", "naira", "", ""),
    "₱": ("peso", "pesos", "", ""), "MXN": ("Mexican peso", "Mexican pesos", "", ""),
    "R$": ("real", "reais", "", ""), "BRL": ("real", "reais", "", ""), "ZAR": ("rand", "rand", "", ""),
    "PLN": ("zloty", "zlotys", "", ""),
}  # fmt: skip
"""Currency codes and signs other than `_CURRENCY`'s, said in English (before or after the amount)."""
_CODE_ALT = "|".join(re.escape(code) for code in sorted(_CODES, key=len, reverse=True))

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

_MAGNITUDE = (
    r"(?:\s?(?P<mag>thousand|million|billion|trillion)\b|(?P<abbr>[kKmM]|[mMbBtT]n|[bB])\b"
    r"|\s(?P<spaced>[mb]n|tn|m)\b)?"
)
_CURRENCY_BEFORE_RE = {
    dc: re.compile(
        rf"{BEGIN}(?P<sign>{MINUS}(?=[{CURRENCY_SYMBOLS}]))?(?P<sym>[{CURRENCY_SYMBOLS}])\s?{number_pattern(dc)}"
        rf"{_MAGNITUDE}{END}"
    )
    for dc in (False, True)
}
_CURRENCY_AFTER_RE = {
    dc: re.compile(rf"{BEGIN}{SIGN}{number_pattern(dc)}\s?(?P<sym>[{_SYMBOLS_AFTER}]){END}")
    for dc in (False, True)
}
_CODE_BEFORE_RE = re.compile(
    rf"{BEGIN}(?P<code>{_CODE_ALT})\.?\s?{SIGN}{number_pattern(False)}{_MAGNITUDE}{END}"
)
_CODE_AFTER_RE = re.compile(rf"{BEGIN}{SIGN}{number_pattern(False)}{_MAGNITUDE}\s?(?P<code>{_CODE_ALT})(?![\w$]){END}")
_RATE_RE = re.compile(
    rf"{BEGIN}(?P<sym>[{CURRENCY_SYMBOLS}])\s?{number_pattern(False)}{_MAGNITUDE}\s?/\s?"
    rf"(?P<per>{'|'.join(sorted({*RATE_WORDS, *UNITS, 'hr', 'ea'} - {'°'}, key=len, reverse=True))})(?![\w/])"
)
_CENTS_RE = re.compile(rf"{BEGIN}(?P<int>[0-9]{{1,2}})\s?¢{END}")
_PERCENT_RE = {dc: re.compile(rf"{BEGIN}{SIGN}{number_pattern(dc)}\s?%{END}") for dc in (False, True)}


def _magnitude(match: re.Match[str]) -> str | None:
    groups = match.groupdict()
    written = groups.get("mag") or groups.get("abbr") or groups.get("spaced")
    return _MAGNITUDES[written.lower()] if written else None


def _amount(match: re.Match[str], lang: str, names: tuple[str, str, str, str], code: str | None) -> str | None:
    """The words for the amount a money pattern matched, in currency ``names`` (English) or ``code``."""
    sign, int_part, frac = match.groupdict().get("sign") or "", match.group("int"), match.group("frac")
    magnitude = _magnitude(match)
    if magnitude:
        return f"{number(sign, int_part, frac, lang)} {magnitude} {names[1]}" if is_english(lang) else None
    if is_english(lang):
        return _english_money(sign, int_part, frac, lang, names)
    return _foreign_money(sign, int_part, frac, lang, code) if code else None


def _currency(text: str, match: re.Match[str], reading: Reading) -> str | None:
    code, *names = _CURRENCY[match.group("sym")]
    words = _amount(match, reading.lang, tuple(names), code)
    return None if words is None else spaced(text, match, words)


def _code(text: str, match: re.Match[str], reading: Reading) -> str | None:
    words = _amount(match, reading.lang, _CODES[match.group("code")], None)
    return None if words is None else spaced(text, match, words)


def _rate(text: str, match: re.Match[str], reading: Reading) -> str | None:
    """"$15/hr" fifteen dollars an hour, "$5/ea" five dollars each, "$3/lb" three dollars a pound."""
    code, *names = _CURRENCY[match.group("sym")]
    words = _amount(match, reading.lang, tuple(names), code)
    per = match.group("per")
    if per == "ea":
        return f"{words} each"
    thing = UNITS[per].one if per in UNITS else "hour" if per == "hr" else per
    article = "an" if thing[0] in "aeio" or thing.startswith("hour") else "a"
    return f"{words} {article} {thing}"


def _cents(text: str, match: re.Match[str], reading: Reading) -> str:
    amount = match.group("int")
    return spaced(text, match, f"{n2w(int(amount), reading.lang)} {'cent' if amount == '1' else 'cents'}")


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


def _percent(text: str, match: re.Match[str], reading: Reading) -> str:
    lang = reading.lang
    word = _PERCENT_WORD.get("en" if is_english(lang) else base_language(lang))
    amount = number(match.group("sign") or "", match.group("int"), match.group("frac"), lang)
    return spaced(text, match, f"{amount} {word}" if word else f"{amount} %")


RATE = Rule("money per unit ($15/hr)", _RATE_RE, _rate, language="en")
CURRENCY_BEFORE = Rule("currency symbol before the amount ($5)", _CURRENCY_BEFORE_RE, _currency)
CURRENCY_AFTER = Rule("currency symbol after the amount (5€)", _CURRENCY_AFTER_RE, _currency)
CODE_BEFORE = Rule("currency code before the amount (USD 20)", _CODE_BEFORE_RE, _code, language="en")
CODE_AFTER = Rule("currency code after the amount (20 CHF)", _CODE_AFTER_RE, _code, language="en")
CENTS = Rule("cents sign (50¢)", _CENTS_RE, _cents, language="en")
PERCENT = Rule("percent", _PERCENT_RE, _percent)
