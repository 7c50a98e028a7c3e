"""What differs between languages in reading numbers and dates, beyond num2words' words.

num2words says numbers in most of the multilingual model's languages; Greek, Hindi, Malay, Swahili and
Chinese it does not, so their figures are left as written (the model reads them itself) and `cbx plan` says
so. How each language writes a date out (`DATE_FORMS`), and days written as ordinals with a dot (14. Juli) read
as ordinals in each language's form, are here.
"""

from __future__ import annotations

import re

from cbx_cli.plan.normalize.context import BEGIN
from cbx_cli.plan.normalize.rule import Reading, Rule
from cbx_cli.plan.normalize.words import base_language, n2w

YEAR_FIRST = frozenset({"ja", "ko", "zh", "hu", "lt"})
"""Languages that write dates year first (2024/03/14)."""


def date_order(lang: str) -> str:
    """How a numeric date whose day and month could be swapped is read when the reader did not say
    (``--date-order``): year first where the language writes it so, else day first, as English outside the
    United States and nearly every other language write it."""
    return "ymd" if base_language(lang) in YEAR_FIRST else "dmy"


MONTHS_AFTER_AN_ORDINAL_DOT: dict[str, tuple[str, ...]] = {
    "de": ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
           "November", "Dezember"),
    "da": ("januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september", "oktober",
           "november", "december"),
    "no": ("januar", "februar", "mars", "april", "mai", "juni", "juli", "august", "september", "oktober",
           "november", "desember"),
    "fi": ("tammikuuta", "helmikuuta", "maaliskuuta", "huhtikuuta", "toukokuuta", "kesäkuuta", "heinäkuuta",
           "elokuuta", "syyskuuta", "lokakuuta", "marraskuuta", "joulukuuta"),
}  # fmt: skip
"""Languages that write the day of a date as an ordinal with a dot (14. Juli, 14. heinäkuuta), with their month
names as they stand after it."""
_GERMAN_DATIVE_RE = re.compile(r"\b(?:am|vom|zum|bis zum|seit dem|ab dem)\s+$", re.IGNORECASE)
"""German "am 14. Juli" is "am vierzehnten Juli": after these the ordinal takes -n."""


def _dot_ordinal(text: str, match: re.Match[str], reading: Reading) -> str:
    words = n2w(int(match.group("d")), reading.lang, to="ordinal")
    before = text[max(0, match.start() - 12) : match.start()]
    if base_language(reading.lang) == "de" and _GERMAN_DATIVE_RE.search(before):
        words += "n"
    return words


def _dot_ordinal_rule(lang: str, months: tuple[str, ...]) -> Rule:
    pattern = re.compile(rf"{BEGIN}(?P<d>[12]?[0-9]|3[01])\.(?=\s+(?:{'|'.join(months)})\b)")
    return Rule(f"day of a date as an ordinal ({lang})", pattern, _dot_ordinal, language=lang)


DATE_ORDINALS = tuple(_dot_ordinal_rule(lang, months) for lang, months in MONTHS_AFTER_AN_ORDINAL_DOT.items())
"""One rule per language of `MONTHS_AFTER_AN_ORDINAL_DOT`: "am 14. Juli" am vierzehnten Juli, "14. juli"
fjortende juli."""


DATE_FORMS: dict[str, tuple[str, tuple[str, ...]]] = {
    # language: (how a date is written out, with {d} {month} {m} {y}; month names)
    "fr": ("{d} {month} {y}", ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
                               "septembre", "octobre", "novembre", "décembre")),
    "es": ("{d} de {month} de {y}", ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
                                     "septiembre", "octubre", "noviembre", "diciembre")),
    "pt": ("{d} de {month} de {y}", ("janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho",
                                     "agosto", "setembro", "outubro", "novembro", "dezembro")),
    "it": ("{d} {month} {y}", ("gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto",
                               "settembre", "ottobre", "novembre", "dicembre")),
    "nl": ("{d} {month} {y}", ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
                               "september", "oktober", "november", "december")),
    "sv": ("{d} {month} {y}", ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti",
                               "september", "oktober", "november", "december")),
    "tr": ("{d} {month} {y}", ("Ocak", "Şubat", "Mart", "Nisan", "Mayıs", "Haziran", "Temmuz", "Ağustos", "Eylül",
                               "Ekim", "Kasım", "Aralık")),
    **{lang: ("{d}. {month} {y}", months) for lang, months in MONTHS_AFTER_AN_ORDINAL_DOT.items()},
    "ja": ("{y}年{m}月{d}日", ()),
    "ko": ("{y}년 {m}월 {d}일", ()),
}  # fmt: skip
"""Numeric dates (14/07/2024) are written out this way, and the figures in them then read as the language reads
them. Languages that inflect the day or the year for case (ru, pl, ar, he) keep a numeric date as written."""
FIRST_OF_THE_MONTH = {"fr": "premier", "it": "primo"}
"""Languages that say the first day of a month as an ordinal and the others as cardinals."""
