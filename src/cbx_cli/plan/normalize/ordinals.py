"""English ordinals in words: "1st" → "first", "22nd" → "twenty-second"."""

from __future__ import annotations

import re

from cbx_cli.plan.normalize.rule import Rule
from cbx_cli.plan.normalize.words import MAX_PLAIN_DIGITS, ordinal

ORDINAL_SUFFIX = r"(?:st|nd|rd|th)"
_ORDINAL_RE = re.compile(rf"(?<![\w.,])(?P<n>[0-9]+)(?P<suf>{ORDINAL_SUFFIX})(?!\w)", re.IGNORECASE)


def _ordinal(text: str, match: re.Match[str], lang: str) -> str | None:
    digits = match.group("n")
    if len(digits) > MAX_PLAIN_DIGITS:
        return None
    return ordinal(digits, lang)


ORDINAL = Rule("ordinal", _ORDINAL_RE, _ordinal, language="en")
