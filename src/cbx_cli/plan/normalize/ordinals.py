"""English ordinals in words: "1st" first, "22nd" twenty-second, "2,000th" two thousandth, "3RD", "4ᵗʰ",
"the 3rd-largest" the third-largest."""

from __future__ import annotations

import re

from cbx_cli.plan.normalize.context import BEGIN, END
from cbx_cli.plan.normalize.rule import Reading, Rule
from cbx_cli.plan.normalize.words import MAX_PLAIN_DIGITS, ordinal

ORDINAL_SUFFIX = r"(?:st|nd|rd|th|ˢᵗ|ⁿᵈ|ʳᵈ|ᵗʰ)"
_ORDINAL_RE = re.compile(
    rf"{BEGIN}(?P<n>[0-9]{{1,3}}(?:,[0-9]{{3}})+|[0-9]+)(?P<suf>{ORDINAL_SUFFIX})(?![\w/]){END}", re.IGNORECASE
)


def _ordinal(text: str, match: re.Match[str], reading: Reading) -> str | None:
    digits = match.group("n").replace(",", "")
    if len(digits) > MAX_PLAIN_DIGITS:
        return None
    return ordinal(digits, reading.lang)


ORDINAL = Rule("ordinal", _ORDINAL_RE, _ordinal, language="en")
