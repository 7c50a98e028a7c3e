"""What differs between languages in reading numbers and dates, beyond num2words' words.

num2words says numbers in most of the multilingual model's languages; Greek, Hindi, Malay, Swahili and
Chinese it does not, so their figures are left as written (the model reads them itself) and `cbx plan` says
so.
"""

from __future__ import annotations

from cbx_cli.plan.normalize.words import base_language

YEAR_FIRST = frozenset({"ja", "ko", "zh", "hu", "lt"})
"""Languages that write dates year first (2024/03/14)."""


def date_order(lang: str) -> str:
    """How a numeric date whose day and month could be swapped is read when the reader did not say
    (``--date-order``): year first where the language writes it so, else day first, as English outside the
    United States and nearly every other language write it."""
    return "ymd" if base_language(lang) in YEAR_FIRST else "dmy"
