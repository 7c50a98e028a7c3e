"""Clock times in words: "6:40" → "six forty", "11:05 pm" → "eleven oh five p m", "14:00" → "fourteen hundred"."""

from __future__ import annotations

import re

from cbx_cli.plan.normalize.context import keep_period
from cbx_cli.plan.normalize.rule import Rule
from cbx_cli.plan.normalize.words import is_english, n2w

_AMPM = r"(?:\s?(?P<ap>[aApP])\.?\s?[mM]\.?(?!\w))"
_CLOCK_RE = re.compile(rf"(?<![\w:.,])(?P<h>[01]?[0-9]|2[0-4]):(?P<m>[0-5][0-9])(?![\w:]|\.[0-9]){_AMPM}?")
_HOUR_AMPM_RE = re.compile(rf"(?<![\w:.,])(?P<h>1[0-2]|0?[1-9])(?![0-9:]){_AMPM}")


def _ampm(text: str, match: re.Match[str]) -> str:
    if not match.group("ap"):
        return ""
    letters = " " + match.group("ap").lower() + " m"
    return letters + keep_period(text, match, sentence_end_possible=True)


def _clock(text: str, match: re.Match[str], lang: str) -> str | None:
    hour, minute = int(match.group("h")), int(match.group("m"))
    if hour == 24 and minute:
        return None
    hour_words = n2w(hour, lang)
    suffix = _ampm(text, match)
    if not is_english(lang):
        return hour_words if minute == 0 else f"{hour_words} {n2w(minute, lang)}"
    if minute == 0:
        if suffix:
            return hour_words + suffix
        return f"{hour_words} o'clock" if hour <= 12 else f"{hour_words} hundred"
    minute_words = f"oh {n2w(minute, lang)}" if minute < 10 else n2w(minute, lang)
    return f"{hour_words} {minute_words}{suffix}"


def _hour_ampm(text: str, match: re.Match[str], lang: str) -> str:
    return n2w(int(match.group("h")), lang) + _ampm(text, match)


CLOCK = Rule("clock time", _CLOCK_RE, _clock)
HOUR_AM_PM = Rule("hour a.m./p.m.", _HOUR_AMPM_RE, _hour_ampm, language="en")
