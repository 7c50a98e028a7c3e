"""Telephone numbers and codes, digit by digit: "(555) 010-2233" five five five, zero one zero, two two three
three; "+44 20 7946 0958"; "1-800-555-0199"; "PIN 4417" PIN four four one seven.

Each group of digits is said digit by digit, with a comma between groups where a reader pauses.
"""

from __future__ import annotations

import re

from cbx_cli.plan.normalize.context import BEGIN, END
from cbx_cli.plan.normalize.rule import Reading, Rule
from cbx_cli.plan.normalize.words import digits

_GROUP_SEP = r"(?:[ .\-]|\u00a0)"
_PHONE_RE = re.compile(
    BEGIN
    + r"(?:"
    + r"\+[0-9]{1,3}(?:" + _GROUP_SEP + r"?\(0\))?(?:" + _GROUP_SEP + r"?\(?[0-9]{1,5}\)?){2,5}"  # +44 20 7946 0958
    + r"|(?:1[ .\-])?\([0-9]{3}\)\s?[0-9]{3}[ .\-][0-9]{4}"  # (555) 010-2233
    + r"|(?:1[.\-])?[0-9]{3}([.\-])[0-9]{3}\1[0-9]{4}"  # 555-010-2233, 1-800-555-0199
    + r"|[0-9]{3}-[0-9]{4}"  # 555-0123
    + r")"
    + END
)
_CODE_RE = re.compile(
    r"\b(?P<key>PIN|[Pp]in(?: code)?|[Cc]ode|[Zz]ip(?: code)?|ZIP(?: code)?|[Pp]ostcode|[Ee]xtension|ext\.?"
    r"|[Aa]ccount(?: number)?|[Ss]erial(?: number)?|ID|[Ee]nding in|[Tt]el\.?|[Pp]hone|[Cc]all|[Dd]ial)"
    r"(?P<sep>:?\s+(?:(?:is|was|number|#)\s+)?)" + BEGIN + r"(?P<code>[0-9]{3,})" + END
)


def _looks_like_range(written: str) -> bool:
    """555-0123 is a telephone number; 300-1200 (both round) is more likely a range."""
    left, _, right = written.partition("-")
    return written.count("-") == 1 and left.endswith("0") and right.endswith("00")


def _phone(text: str, match: re.Match[str], reading: Reading) -> str | None:
    written = match.group(0)
    if re.fullmatch(r"[0-9]{3}-[0-9]{4}", written) and _looks_like_range(written):
        return None
    groups = re.findall(r"[0-9]+", written)
    said = ", ".join(digits(group, reading.lang) for group in groups)
    return f"plus {said}" if written.startswith("+") else said


def _code(text: str, match: re.Match[str], reading: Reading) -> str:
    return f"{match.group('key')}{match.group('sep')}{digits(match.group('code'), reading.lang)}"


TELEPHONE = Rule("telephone number", _PHONE_RE, _phone, language="en")
CODE = Rule("code said digit by digit (PIN 4417)", _CODE_RE, _code, language="en")
