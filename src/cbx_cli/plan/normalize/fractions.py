"""Fractions in words: "3/4" three quarters, "2 1/2" two and a half, "½ cup" half a cup, "1/3 mi" a third of a
mile, "2 1/2 lbs" two and a half pounds; and figures with a slash said as a name (24/7, 9/11)."""

from __future__ import annotations

import re

from cbx_cli.plan.english import NUMBER_IDIOMS, RATE_WORDS, UNITS
from cbx_cli.plan.normalize.context import BEGIN, END, spaced
from cbx_cli.plan.normalize.measures import UNIT, unit_words
from cbx_cli.plan.normalize.numbers import MINUS
from cbx_cli.plan.normalize.rule import Reading, Rule
from cbx_cli.plan.normalize.words import cardinal, n2w

VULGAR = {"½": (1, 2), "⅓": (1, 3), "⅔": (2, 3), "¼": (1, 4), "¾": (3, 4), "⅕": (1, 5), "⅖": (2, 5), "⅗": (3, 5),
          "⅘": (4, 5), "⅙": (1, 6), "⅚": (5, 6), "⅛": (1, 8), "⅜": (3, 8), "⅝": (5, 8), "⅞": (7, 8)}
"""The fraction characters of Unicode, as (numerator, denominator)."""

_NOUNS = {*(u.one for u in UNITS.values()), *RATE_WORDS, "cup", "pint", "glass", "slice", "loaf", "dozen", "share"}
"""Things a fraction alone is of ("3/4 mile" three quarters of a mile)."""
_NOUNS_ALT = "|".join(sorted(_NOUNS, key=len, reverse=True))
_FRACTION = rf"(?:(?P<num>[0-9]+)/(?P<den>[0-9]+)|(?P<vulgar>[{''.join(VULGAR)}]))"
_FRACTION_RE = re.compile(
    rf"{BEGIN}(?P<sign>{MINUS})?(?:(?P<whole>[0-9]+)(?:[\s-](?=[0-9])|(?=[{''.join(VULGAR)}])))?{_FRACTION}"
    rf"(?![\w/]|[-–−.:,][0-9])(?:(?P<pct>\s?%)|(?P<gap>\s?)(?P<unit>{UNIT})(?![\w/])"
    rf"|\s(?=(?P<noun>{_NOUNS_ALT})(?![\w-])))?"
)
_IDIOMS = "|".join(re.escape(k) for k in sorted(NUMBER_IDIOMS, key=len, reverse=True))
_IDIOM_RE = re.compile(rf"{BEGIN}(?:{_IDIOMS}){END}")
_SPECIAL = {2: ("half", "halves"), 4: ("quarter", "quarters")}
_MAX_ORDINAL_DENOMINATOR = 100
"""Up to this a denominator is said as an ordinal (five sixteenths); above it, "over" (three over four
hundred fifty-six), as a reader says an unusual one."""


def denominator_words(numerator: int, denominator: int, lang: str) -> str | None:
    """"half", "thirds", "sixteenths"; None for a denominator said with "over"."""
    if denominator in _SPECIAL:
        one, many = _SPECIAL[denominator]
        return one if numerator == 1 else many
    if denominator < 3 or (denominator > _MAX_ORDINAL_DENOMINATOR and denominator not in (1000, 1000000)):
        return None
    words = n2w(denominator, lang, to="ordinal").removeprefix("one ")  # "three hundredths"
    return words if numerator == 1 else words + "s"


def fraction_words(numerator: int, denominator: int, lang: str, mixed: bool = False) -> str:
    """"three quarters", "one half", or after a whole number "a half" (two and a half)."""
    name = denominator_words(numerator, denominator, lang)
    if name is None:
        return f"{n2w(numerator, lang)} over {n2w(denominator, lang)}"
    if numerator == 1:
        return f"{'a' if mixed else 'one'} {name}"
    return f"{n2w(numerator, lang)} {name}"


def _article(word: str) -> str:
    return "an" if word[:1] in "aeio" or word.startswith("hour") else "a"


def _part_of(numerator: int, denominator: int, thing: str, lang: str) -> str:
    """The words before one ``thing`` a fraction is of: "half a" (pound), "a third of a" (mile), "three
    quarters of an" (inch)."""
    if (numerator, denominator) == (1, 2):
        return f"half {_article(thing)}"
    return f"{fraction_words(numerator, denominator, lang, mixed=True)} of {_article(thing)}"


def _parts(match: re.Match[str]) -> tuple[int, int]:
    if match.group("vulgar"):
        return VULGAR[match.group("vulgar")]
    return int(match.group("num")), int(match.group("den"))


def _fraction(text: str, match: re.Match[str], reading: Reading) -> str | None:
    numerator, denominator = _parts(match)
    whole, unit = match.group("whole"), match.group("unit")
    if denominator == 0 or numerator >= 1000 or (whole and numerator >= denominator):
        return None  # 1998/2003 is two years, not a fraction
    lang = reading.lang
    noun = match.group("noun")
    if noun and not whole and numerator < denominator:  # the noun stays in the text, after these words
        return spaced(text, match, _part_of(numerator, denominator, noun, lang))
    if unit and not whole and numerator < denominator:
        one = unit_words(unit, many=False)
        words = f"{_part_of(numerator, denominator, one, lang)} {one}"
    else:
        words = fraction_words(numerator, denominator, lang, mixed=bool(whole))
        if whole:
            words = f"{cardinal(whole, lang)} and {words}"
        if unit:
            words = f"{words} {unit_words(unit, many=True)}"
        elif match.group("pct"):
            words = f"{words} percent"
    if match.group("sign"):
        words = f"minus {words}"
    return spaced(text, match, words)


def _idiom(text: str, match: re.Match[str], reading: Reading) -> str:
    return NUMBER_IDIOMS[match.group(0)]


IDIOM = Rule("figures said as a name (24/7, 9/11)", _IDIOM_RE, _idiom, language="en")
FRACTION = Rule("fraction or mixed number (3/4, 2 1/2, ½)", _FRACTION_RE, _fraction, language="en")
