"""Signs said with a number: "~5" about five, "#5" number five, "2x4" two by four.

Each rule says its sign (and for "2x4" the number before it) and leaves the rest to the rules after it, so it
says it only when the rest of the token is one thing those rules read whole (`sign_tail`): "~9;04", "#4,PB" or
"0x01'9b" is left as written, never read as a sign and stray figures.
"""

from __future__ import annotations

import re

from cbx_cli.plan.normalize.context import BEGIN, END
from cbx_cli.plan.normalize.measures import UNIT
from cbx_cli.plan.normalize.numbers import CURRENCY_SYMBOLS, number_pattern, said_number
from cbx_cli.plan.normalize.rule import Reading, Rule, figures_before, token_end

_MONEY = rf"[{CURRENCY_SYMBOLS}][0-9]+(?:[.,][0-9]+)*(?:[kKmMbB]|[mMbBtT]n)?"
_NUMBER = r"[0-9]+(?:[.,][0-9]+)*"
_CLOSE = r"[.,;:!?…)\]}\"'”’»]*"
_WORDS = r"(?:[-–—][A-Za-z]+)*"
_BROAD_TAIL_RE = re.compile(
    rf"(?:{_MONEY}(?:[-–]{_MONEY})?|{_NUMBER}(?:[eE][-+−]?[0-9]{1,4}|[x×]{_NUMBER}(?:{UNIT})?"
    rf"|(?:/[0-9]+)?(?:[-–]{_NUMBER})?(?:%|{UNIT}|x)?)){_WORDS}{_CLOSE}"
)
_NUMBER_TAIL_RE = re.compile(rf"{_NUMBER}{_CLOSE}")
"""What may follow a sign that the rules after it read whole: for the early ones an amount, number, range or
measure (5, $3.50, $2bn, 1e5, 3/4, 5-10, 40%, 10km, 2x4, a 5-kg bag); for "#", which runs after those, a plain
number."""
_BY_RE = {
    dc: re.compile(rf"{BEGIN}{number_pattern(dc, 'a')}(?P<gap>\s?)[x×](?P=gap)(?={number_pattern(dc, 'b')}{END})")
    for dc in (False, True)
}
_ABOUT_RE = re.compile(r"(?<!\S)[~≈](?=[0-9$£€¥₹])")
_HASH_RE = re.compile(r"(?<![^\s(\[{\"'“‘])#(?=[0-9]+(?![\w/]|[-–.:,][0-9]))")


def sign_tail(text: str, end: int, plain: bool = False) -> bool:
    """Whether the token around ``end`` has no figures before it and, from ``end`` on, is one thing the rules after
    read whole (``plain``: a number, for a rule that runs after the amount and measure rules)."""
    pattern = _NUMBER_TAIL_RE if plain else _BROAD_TAIL_RE
    return not figures_before(text, end) and pattern.fullmatch(text, end, token_end(text, end)) is not None


def _hash(text: str, match: re.Match[str], reading: Reading) -> str | None:
    return "number " if sign_tail(text, match.end(), plain=True) else None


def _about(text: str, match: re.Match[str], reading: Reading) -> str | None:
    return "about " if sign_tail(text, match.end()) else None


def _by(text: str, match: re.Match[str], reading: Reading) -> str | None:
    if not sign_tail(text, match.start()):  # the first number is read here, the second by the rules after
        return None
    return f"{said_number(match, reading, 'a')} by "


NUMBER_SIGN = Rule("number sign (#5)", _HASH_RE, _hash, language="en", whole_tokens=False)
ABOUT = Rule("about (~5)", _ABOUT_RE, _about, language="en", whole_tokens=False)
BY = Rule("dimensions (2x4, 10 x 20 cm)", _BY_RE, _by, language="en", whole_tokens=False)
