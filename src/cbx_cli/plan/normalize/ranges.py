"""Ranges and scores with a dash: "5-10" five to ten, "5%-15%" five to fifteen percent, "$120-$180" one hundred
twenty to one hundred eighty dollars, "10-20 kg", "won 3-2" three to two.

A hyphen between two figures is never a minus sign. The rule says the first number and "to", and leaves the
second with its currency sign or unit for the rules after it (money, measures), so the unit is said once, after
the second number, as a narrator says it. Year ranges (1990-95), dates and telephone numbers are read before.
"""

from __future__ import annotations

import re

from cbx_cli.plan.normalize.context import BEGIN, END
from cbx_cli.plan.normalize.measures import UNIT
from cbx_cli.plan.normalize.numbers import CURRENCY_SYMBOLS, SIGN, number_pattern, said_number
from cbx_cli.plan.normalize.rule import Reading, Rule

_SUFFIX = rf"%|\s?{UNIT}(?![\w/])"


def _range_pattern(dc: bool) -> re.Pattern[str]:
    side = "(?P<cur{n}>[" + CURRENCY_SYMBOLS + r"])?" + "{number}(?P<suf{n}>" + _SUFFIX + ")?"
    left = side.format(n="a", number=number_pattern(dc, "a"))
    right = side.format(n="b", number=number_pattern(dc, "b"))
    dash = r"(?:-|\s?[–—]\s?|\s-\s)"
    return re.compile(rf"{BEGIN}{SIGN.replace('sign', 'signa')}{left}{dash}{right}{END}(?!\s?=)")


_RANGE_RE = {dc: _range_pattern(dc) for dc in (False, True)}


def _compact(suffix: str | None) -> str:
    return (suffix or "").strip()


def _range(text: str, match: re.Match[str], reading: Reading) -> str | None:
    cur_a, cur_b = match.group("cura"), match.group("curb")
    suf_a, suf_b = _compact(match.group("sufa")), _compact(match.group("sufb"))
    if (cur_a and cur_b and cur_a != cur_b) or (suf_a and suf_b and suf_a != suf_b):
        return None
    if (cur_a or cur_b) and (suf_a or suf_b):  # "£0%": an amount with a unit is no one thing, left as written
        return None
    if {suf_a, suf_b} & {"st", "nd", "rd", "th"}:  # "5-10st": stone, or an ordinal? Left as written
        return None
    first = said_number(match, reading, "a")
    currency, suffix = cur_b or cur_a or "", match.group("sufb") or match.group("sufa") or ""
    if not currency and not suffix:
        return f"{first} to {said_number(match, reading, 'b')}"
    second = match.group(0)[match.start("curb" if cur_b else "intb") - match.start() :]
    if not cur_b:
        second = currency + second
    if not suf_b:
        second += suffix
    return f"{first} to {second}"


RANGE = Rule("range or score (5-10, $120-$180, 3-2)", _RANGE_RE, _range, language="en")


_RATIO_RE = {
    dc: re.compile(rf"{BEGIN}{number_pattern(dc, 'a')}:{number_pattern(dc, 'b')}(?![\w/:]|[-–−.,][0-9])")
    for dc in (False, True)
}
_RATIO_WORDS_RE = re.compile(
    r"\b(?:ratios?|odds|scale|aspect|scores?|scored|won|wins?|lost|loss|beat|defeated|margin|lead|led)\b[^.!?:]{0,20}$",
    re.IGNORECASE,
)
_CLOCK_SHAPED_RE = re.compile(r"[0-9]{1,2}:[0-9]{2}")
"""Written as a clock time is (2:30, and 25:61, which is no time): a ratio only after words that say so."""


def _ratio(text: str, match: re.Match[str], reading: Reading) -> str | None:
    """"16:9" sixteen to nine, "1:50,000"; what is written as a clock time (2:30, or the impossible 25:61) only
    after words such as "ratio" or "won": a time is read by the clock rules, and no time is left as written."""
    if _CLOCK_SHAPED_RE.fullmatch(match.group(0)):
        before = text[max(0, match.start() - 40) : match.start()]
        if not _RATIO_WORDS_RE.search(before):
            return None
    return f"{said_number(match, reading, 'a')} to {said_number(match, reading, 'b')}"


RATIO = Rule("ratio or score with a colon (16:9, won 2:1)", _RATIO_RE, _ratio, language="en")
