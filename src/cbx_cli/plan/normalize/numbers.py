"""Numbers in words: cardinals and decimals as each language writes them, version numbers, bare fractions,
multipliers (3x), scientific notation (6.02e23), powers (x², 10⁻⁶), and words with figures
in them (MP3, COVID-19).

English and the languages that write 3.14 group thousands with commas; the others (`words.DECIMAL_COMMA`)
write 3,14 and 1.000, so each pattern here comes in two forms, keyed by "uses a decimal comma". Every pattern
is bounded by `context.BEGIN` and `context.END`: a figure glued to others by a hyphen, slash, point or colon
that no rule reads whole ("x86-64", "1.2.3.4") is left as written, never read in parts.
"""

from __future__ import annotations

import re

from cbx_cli.plan.normalize.context import BEGIN, END, spaced
from cbx_cli.plan.normalize.rule import Reading, Rule
from cbx_cli.plan.normalize.words import cardinal, digits, n2w, number

CURRENCY_SYMBOLS = "$£€¥₹"
"""The currency signs money.py reads; a number next to one is an amount, never a year."""
MINUS = r"(?<![\w.,\-−])[-−]"
"""A minus sign (not a hyphen after a word or a number)."""
SIGN = rf"(?P<sign>(?:{MINUS}|(?<![\w.,+])\+)(?=[0-9]))?"
"""An optional minus or plus sign that belongs to the number after it (-5, +5°C)."""


def _point(decimal_comma: bool) -> str:
    return "," if decimal_comma else r"\."


def number_pattern(decimal_comma: bool, name: str = "") -> str:
    """Pattern source for a number with optional thousands groups (``int``) and decimals (``frac``); ``name``
    suffixes the group names, for patterns with two numbers."""
    group = r"[.\u00a0\u202f]" if decimal_comma else ","
    integer = rf"(?:[0-9]{{1,3}}(?:{group}[0-9]{{3}})+(?![0-9])|[0-9]+)"
    return rf"(?P<int{name}>{integer})(?:{_point(decimal_comma)}(?P<frac{name}>[0-9]+))?"


def said_number(match: re.Match[str], reading: Reading, name: str = "") -> str:
    """Words for the number a `number_pattern` (with ``name``) matched, with the match's sign if it has one."""
    sign = match.groupdict().get(f"sign{name}") or ""
    return number(sign, match.group(f"int{name}"), match.group(f"frac{name}"), reading.lang)


def is_one(match: re.Match[str], name: str = "") -> bool:
    """Whether the number matched is exactly 1 (or -1): what takes a singular noun ("1 kg", but "1.0 kg")."""
    return match.group(f"int{name}") == "1" and match.group(f"frac{name}") is None


_PLAIN_RE = {dc: re.compile(rf"{BEGIN}{SIGN}{number_pattern(dc)}{END}") for dc in (False, True)}
_BARE_FRACTION_RE = {
    dc: re.compile(rf"(?P<sign>{MINUS})?(?<![^\s(\[{{\-−]){_point(dc)}(?P<frac>[0-9]+){END}") for dc in (False, True)
}
_DOTTED_RE = re.compile(rf"{BEGIN}[0-9]+\.[0-9]+\.[0-9]+{END}")
_TIMES_RE = {dc: re.compile(rf"{BEGIN}{number_pattern(dc)}[x×](?![\w/])") for dc in (False, True)}
_MIXED_RE = re.compile(rf"{BEGIN}(?<![\w-])(?=[\w-]*[0-9])(?=[\w-]*[^\W\d_])[^\W_]+(?:-[^\W_]+)*{END}")
_RUN_RE = re.compile(r"[0-9]+|[^\W0-9_]+|-")
_ASCII_DIGITS = "0123456789"
_SCIENTIFIC_RE = {
    dc: re.compile(rf"{BEGIN}{SIGN}{number_pattern(dc)}[eE](?P<esign>[-+−]?)(?P<exp>[0-9]{{1,4}}){END}")
    for dc in (False, True)
}
SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
_POWER_RE = re.compile(rf"(?<![^\s(\[=])(?P<base>[0-9]+(?:\.[0-9]+)?|[A-Za-z]{{1,3}})(?P<minus>⁻)?"
                       rf"(?P<exp>[{SUPERSCRIPTS}]+)(?![{SUPERSCRIPTS}\w.,][0-9]?)")
"""A number or a short name (x, mc) with a superscript exponent, standing alone (after a space, an opening bracket or
"="), so the base is read whole too."""
_NOT_IN_PARTS_RE = re.compile(r"[0-9]+(?:[eE][-+]?[0-9]|(?:st|nd|rd|th)(?![a-z]))", re.IGNORECASE)
"""What a word with figures holds that is one thing, never read run by run: an exponent ("1e5", said "one e five")
or an ordinal ("1st-99th", said "one st")."""


def _plain(text: str, match: re.Match[str], reading: Reading) -> str:
    return spaced(text, match, said_number(match, reading))


def _bare_fraction(text: str, match: re.Match[str], reading: Reading) -> str:
    sign, frac = match.group("sign") or "", match.group("frac")
    if reading.english:
        words = f"point {digits(frac, reading.lang)}"
        return spaced(text, match, f"minus {words}" if sign else words)
    return spaced(text, match, number(sign, "", frac, reading.lang))


def _dotted(text: str, match: re.Match[str], reading: Reading) -> str:
    return " point ".join(cardinal(part, reading.lang) for part in match.group(0).split("."))


def _times(text: str, match: re.Match[str], reading: Reading) -> str:
    return f"{said_number(match, reading)} times"


def _scientific(text: str, match: re.Match[str], reading: Reading) -> str:
    """"6.02e23" six point zero two times ten to the power of twenty-three; "1e-9" ... of minus nine."""
    power = n2w(int(match.group("exp")), reading.lang)
    if match.group("esign") in ("-", "−"):
        power = f"minus {power}"
    return spaced(text, match, f"{said_number(match, reading)} times ten to the power of {power}")


def _power(text: str, match: re.Match[str], reading: Reading) -> str:
    """A superscript exponent after a figure or letter: "x²" x squared, "3³" three cubed, "10⁻⁶" ten to the power
    of minus six (the base is read by the rules after this one)."""
    exp = match.group("exp").translate(str.maketrans(SUPERSCRIPTS, _ASCII_DIGITS))
    base = match.group("base")
    if not match.group("minus") and exp in ("2", "3"):
        return f"{base} squared" if exp == "2" else f"{base} cubed"
    words = cardinal(exp, reading.lang)
    return f"{base} to the power of {'minus ' if match.group('minus') else ''}{words}"


def _mixed(text: str, match: re.Match[str], reading: Reading) -> str | None:
    """A word with figures in it, each run said on its own: "MP3" MP three, "B2B" B two B, "A380" A three eight
    zero (a long run is a code). None, left as written, where the runs make one thing that is not understood: a
    hyphen joining two figures ("x86-64"), an exponent ("1e5-2e5"), an ordinal ("1st-99th"), or other figures than
    0-9 (superscripts, subscripts: "H₂O")."""
    token = match.group(0)
    if _NOT_IN_PARTS_RE.search(token):
        return None
    runs = _RUN_RE.findall(token)
    if any(ch.isnumeric() for run in runs if run[0] not in _ASCII_DIGITS for ch in run):
        return None
    for before, joint, after in zip(runs, runs[1:], runs[2:], strict=False):
        if joint == "-" and before[0] in _ASCII_DIGITS and after[0] in _ASCII_DIGITS:
            return None
    said: list[str] = []
    for run in runs:
        if run[0] in _ASCII_DIGITS:
            words = cardinal(run, reading.lang) if len(run) <= 2 else digits(run, reading.lang)
            said.append(words)
        elif run == "-":
            said.append("-")
        else:
            said.append(run)
    return " ".join(said).replace(" - ", "-")


TIMES = Rule("multiplier (3x)", _TIMES_RE, _times, language="en")
DOTTED = Rule("dotted number (version 1.2.3)", _DOTTED_RE, _dotted, language="en")
BARE_FRACTION = Rule("decimal without a whole part (.5)", _BARE_FRACTION_RE, _bare_fraction)
NUMBER = Rule("number", _PLAIN_RE, _plain)
SCIENTIFIC = Rule("scientific notation (1e308, 6.02e23)", _SCIENTIFIC_RE, _scientific, language="en")
POWER = Rule("power (x², 10⁻⁶)", _POWER_RE, _power, language="en")
MIXED = Rule("word with figures (MP3, 4G)", _MIXED_RE, _mixed)
"""The last rule: what is left with figures in it after this is left as written and listed by `cbx plan`."""

