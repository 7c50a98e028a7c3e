"""English ordinals in words: "1st" first, "22nd" twenty-second, "2,000th" two thousandth, "3RD", "4ᵗʰ",
"the 3rd-largest" the third-largest."""

from __future__ import annotations

import re

from cbx_cli.plan.normalize.context import BEGIN, END
from cbx_cli.plan.normalize.rule import Reading, Rule
from cbx_cli.plan.normalize.words import ordinal

MAX_ORDINAL_DIGITS = 60
"""The longest ordinal read (num2words has number words up to about 10^60); a longer one is left as written."""
ORDINAL_SUFFIX = r"(?:st|nd|rd|th|ˢᵗ|ⁿᵈ|ʳᵈ|ᵗʰ)"
_ORDINAL_RE = re.compile(
    rf"{BEGIN}(?P<n>[0-9]{{1,3}}(?:,[0-9]{{3}})+|[0-9]+)(?P<suf>{ORDINAL_SUFFIX})(?![\w/]){END}", re.IGNORECASE
)


def _ordinal(text: str, match: re.Match[str], reading: Reading) -> str | None:
    """"22nd" twenty-second, however long: an ordinal is a rank, never a code read digit by digit. One num2words
    cannot say (past its largest number word) is left as written."""
    digits = match.group("n").replace(",", "")
    if len(digits) > MAX_ORDINAL_DIGITS or (len(digits) > 1 and digits[0] == "0"):
        return None
    return ordinal(digits, reading.lang)


ORDINAL = Rule("ordinal", _ORDINAL_RE, _ordinal, language="en")
