"""Roman numerals in words, only where the words around them say they are numbers: "Chapter IX" Chapter Nine,
"World War II", "Louis XIV" Louis the Fourteenth, "Henry the VIII", "the XIXth century" the nineteenth century,
"Apollo XI" Apollo Eleven, a heading "IV. The Storm".

Never the pronoun "I" ("Then I left") nor a word that happens to be one (MIX, CD, DC, CIVIL is not valid).
"""

from __future__ import annotations

import re

from cbx_cli.plan.english import HEADING_WORDS, REGNAL_NAMES, REGNAL_TITLES
from cbx_cli.plan.normalize.rule import Reading, Rule
from cbx_cli.plan.normalize.words import n2w

_VALUES = {"M": 1000, "CM": 900, "D": 500, "CD": 400, "C": 100, "XC": 90, "L": 50, "XL": 40, "X": 10, "IX": 9,
           "V": 5, "IV": 4, "I": 1}
_CANONICAL_RE = re.compile(r"M{0,3}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})")
_NUMERAL = r"(?P<r>[MDCLXVI]+)(?![\w'’-])"
_I_AS_NUMERAL = r"(?=\s*(?:[,;:!?)]|\.(?!\w)|$|\s(?:of|and|was|had|died|became|ruled|reigned|is)\b))"
"""After a name, a lone "I" is a numeral only before a pause or words such as "of" (Charles I of England)."""

_HEADING_RE = re.compile(rf"\b(?P<word>[A-Za-z]+)(?P<dot>\.?)\s+{_NUMERAL}")
_REGNAL_RE = re.compile(rf"\b(?P<name>[A-Z][a-z]+)\s+(?P<the>the\s+)?{_NUMERAL}")
_CENTURY_RE = re.compile(r"\b(?P<r>[MDCLXVI]+)(?:st|nd|rd|th)?(?=\s+(?:century|centuries)\b)")
_LEADING_RE = re.compile(r"^(?P<open>\s*)(?P<r>[IVX]+)(?:(?P<end>[.:])(?=\s+[A-Z][a-z])|(?P<alone>\.?)(?=\s*$))")


def roman_value(numeral: str) -> int | None:
    """The value of a numeral written in the standard way (XIV, not XIIII); None for anything else."""
    if not numeral or not _CANONICAL_RE.fullmatch(numeral):
        return None
    value, rest = 0, numeral
    for symbol, amount in _VALUES.items():
        while rest.startswith(symbol):
            value += amount
            rest = rest[len(symbol) :]
    return value


def _capitalised(words: str) -> str:
    """"Fourteenth", "Twenty-Three": a numeral in a name or a heading is said as part of it."""
    return " ".join("-".join(part.capitalize() for part in word.split("-")) for word in words.split())


def _heading(text: str, match: re.Match[str], reading: Reading) -> str | None:
    word, numeral = match.group("word"), match.group("r")
    value = roman_value(numeral)
    if value is None or word.lower() not in HEADING_WORDS or (numeral == "I" and not word[0].isupper()):
        return None
    said = n2w(value, reading.lang)
    said = _capitalised(said) if word[0].isupper() else said
    return f"{word}{match.group('dot')} {said}"


def _regnal_name(text: str, match: re.Match[str]) -> bool:
    name = match.group("name")
    before = text[max(0, match.start() - 30) : match.start()].split()
    return name.lower() in REGNAL_NAMES or (bool(before) and before[-1].lower().rstrip(".") in REGNAL_TITLES)


def _regnal(text: str, match: re.Match[str], reading: Reading) -> str | None:
    """"Louis XIV" Louis the Fourteenth; another name before II or more, Apollo XI, is said as a number."""
    numeral, value = match.group("r"), roman_value(match.group("r"))
    if value is None or match.group("name").lower() in HEADING_WORDS:
        return None
    name = match.group("name")
    if _regnal_name(text, match):
        if numeral == "I" and not re.match(_I_AS_NUMERAL, text[match.end() :]):
            return None
        return f"{name} the {_capitalised(n2w(value, reading.lang, to='ordinal'))}"
    if match.group("the") or len(numeral) < 2 or set(numeral) - set("IVX"):
        return None
    return f"{name} {_capitalised(n2w(value, reading.lang))}"


def _century(text: str, match: re.Match[str], reading: Reading) -> str | None:
    value = roman_value(match.group("r"))
    return None if value is None or value > 30 else n2w(value, reading.lang, to="ordinal")


def _leading(text: str, match: re.Match[str], reading: Reading) -> str | None:
    """A heading or an outline item that starts with a numeral: "IV. The Storm", "XII"; not "I. M. Pei"."""
    numeral = match.group("r")
    value = roman_value(numeral)
    if value is None or (numeral == "I" and not match.group("end")):
        return None
    end = match.group("end") or match.group("alone") or ""
    return f"{match.group('open')}{_capitalised(n2w(value, reading.lang))}{end}"


HEADING = Rule("Roman numeral after Chapter, Part, World War ...", _HEADING_RE, _heading, language="en")
REGNAL = Rule("Roman numeral after a name (Louis XIV, Apollo XI)", _REGNAL_RE, _regnal, language="en")
CENTURY = Rule("Roman numeral century (XIX century)", _CENTURY_RE, _century, language="en")
LEADING = Rule("Roman numeral that starts a heading (IV. The Storm)", _LEADING_RE, _leading, language="en")
