"""What stands around a match: sentence starts and ends, and letters a number is glued to.

Rules read the whole text around their match (never more than `LOOK_BACK` characters behind it) to choose a
capital, keep a full stop, or put a space between words and a letter.
"""

from __future__ import annotations

import re

from cbx_cli.plan.english import ABBREVIATIONS

PLACEHOLDER = "[\ue000-\uf8ff]"
"""Tags are hidden behind private-use characters while rules run; a placeholder ends a sentence as text would."""

_CLOSERS = "\"'”’»)\\]"
_OPENERS = "\"'“‘«(\\["
_OPENER_CHARS = _OPENERS.replace("\\", "")

_TEXT_END_RE = re.compile(rf"[{_CLOSERS}]*\s*\Z")
_SENTENCE_AFTER_RE = re.compile(rf"\s+[{_OPENERS}]*(?:[A-Z]|{PLACEHOLDER})")
UNSPACED = "\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\U00020000-\U0002fa1f"
"""Characters of scripts that glue words to figures without a space (2024年3月14日, 3월): each one bounds a
token as a space does, so the figures between them are read."""
_SPACE_OR_BRACKET = "\\s(\\[{\"'“‘«\ue000-\uf8ff" + UNSPACED
NUMBER_SIGNS = "\u00b2\u00b3\u00b9\u00bc-\u00be\u2070-\u209f\u2150-\u218b\u2460-\u24ff\u2776-\u2793"
"""Figures that are not digits (², ₂, ½, Ⅻ, ①): word characters to a regular expression, never letters here."""
BEGIN = rf"(?<![^{_SPACE_OR_BRACKET}~≈<>±+=\-–—])(?<![\W\d_{NUMBER_SIGNS}][-–—])"
"""Where a number may start: after a space, an opening bracket or quote, a sign such as "~", or a hyphen after a
word (COVID-19); never glued to another figure, a letter, a slash or a point. With `END`, a rule reads a figure
only when it reads the whole of what is written there: "x86-64", "3/4/5/6", "1.2.3.4" and "0:%:0" are never
read in parts (a hyphen between figures is not a minus sign, a slash not a word)."""
_STOP = rf"[\s)\]}}\"'”’»\ue000-\uf8ff{UNSPACED}]"
_LETTER = rf"(?![{NUMBER_SIGNS}])[^\W\d_]"
_PHRASE_END = rf"(?:$|{_STOP}|[.,;:!?…]+(?:$|{_STOP}))"
END = rf"(?={_PHRASE_END}|[-–—]{_LETTER}+(?:[-–—]{_LETTER}+)*{_PHRASE_END})"
"""Where a number (or an amount with its sign or unit) may end: before a space, a closing bracket or quote,
punctuation that ends a phrase, or hyphenated words that end the token (a 5-year-old), never a hyphen before
anything else ("1-xNo.2"), which is not one thing."""
LOOK_BACK = 120
"""How many characters before a match the rules look at (never the whole text: that would be quadratic)."""

_NOT_A_SENTENCE_END = frozenset(a.written for a in ABBREVIATIONS.values() if a.not_a_sentence_end)


def ends_text(text: str, end: int) -> bool:
    """True when only closing quotes or brackets and spaces follow ``end``."""
    return _TEXT_END_RE.match(text, end) is not None


def starts_sentence_after(text: str, end: int) -> bool:
    """True when the text after ``end`` is the start of a new sentence (a capital letter or a tag)."""
    return _SENTENCE_AFTER_RE.match(text, end) is not None


def keep_period(text: str, match: re.Match[str], sentence_end_possible: bool) -> str:
    """The '.' to write after an expanded abbreviation whose own period may also end the sentence."""
    if not match.group(0).endswith("."):
        return ""
    end = match.end()
    if ends_text(text, end) or (sentence_end_possible and starts_sentence_after(text, end)):
        return "."
    return ""


def at_sentence_start(text: str, start: int) -> bool:
    """True when nothing but openers stands between ``start`` and the end of a previous sentence."""
    before = text[max(0, start - LOOK_BACK) : start].rstrip()
    before = before.rstrip(_OPENER_CHARS).rstrip()
    if not before:
        return True
    if before[-1] in "\n":
        return True
    if before[-1] in "!?…:" or re.search(PLACEHOLDER + "$", before):
        return True
    if before[-1] == ".":
        token = before.rsplit(None, 1)[-1].lstrip(_OPENER_CHARS).lower()
        return token not in _NOT_A_SENTENCE_END
    return False


def capitalise_like(source: str, words: str) -> str:
    """``words`` with a capital first letter when ``source`` has one."""
    return words[:1].upper() + words[1:] if source[:1].isupper() else words


def spaced(text: str, match: re.Match[str], words: str) -> str:
    """Put a space between the words and a letter the number was glued to ('10km' -> 'ten km'), not in a
    script written without spaces (2024年 -> 二千二十四年)."""
    start, end = match.span()
    if start > 0 and text[start - 1].isalpha() and not _UNSPACED_RE.match(text[start - 1]):
        words = " " + words
    if end < len(text) and text[end].isalpha() and not _UNSPACED_RE.match(text[end]):
        words = words + " "
    return words


_UNSPACED_RE = re.compile(f"[{UNSPACED}]")
