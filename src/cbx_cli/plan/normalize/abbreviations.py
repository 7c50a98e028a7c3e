"""English abbreviations in words, read in context: titles before a name (Dr. Smith, Prof. Lee, Mt. Everest),
places and firms after one (Baker St., Elm Dr., Acme Co.), and both for St. (Saint or Street), Dr. (Doctor or
Drive), Co. (County or Company); "No. 5", "p. 12", "c. 1850" before a figure; e.g., i.e., etc., vs. anywhere;
and initials (U.S.A.) letter by letter. What each is said as comes from the shared table in
`cbx_cli.plan.english`.
"""

from __future__ import annotations

import re

from cbx_cli.plan.english import ABBREVIATIONS, COMMON_WORDS, Abbreviation
from cbx_cli.plan.normalize.context import END, LOOK_BACK, at_sentence_start, capitalise_like, keep_period
from cbx_cli.plan.normalize.rule import Reading, Rule, figures_before
from cbx_cli.plan.normalize.signs import sign_tail

_NO_PERIOD_BEFORE_A_NAME = frozenset("dr mr mrs ms st prof capt lt sgt col rev fr mt ft".split())
"""Titles also written without a period (British style: "Mr Smith", "St Ives"), before a capitalised name."""
_TITLE_FIRST = frozenset({"dr."})
"""Said as the title even between two names ("Dr. Smith" is far more common than "Elm Dr. Smith lived on")."""


def _stems(entries) -> str:
    return "|".join(sorted({a.written[:-1].capitalize() for a in entries}, key=len, reverse=True))


_NAMED = [a for a in ABBREVIATIONS.values() if a.before == "name" or a.after_name]
_NAMED_RE = re.compile(
    rf"\b(?P<w>{_stems(_NAMED)})(?:(?P<dot>\.)|(?=\s+[A-Z]))(?!\w)"
)
_FIGURE = [a for a in ABBREVIATIONS.values() if a.before == "figure"]
_FIGURE_STEMS = "|".join(sorted({re.escape(a.written[:-1]) for a in _FIGURE}, key=len, reverse=True))
_FIGURE_RE = re.compile(  # only as a word of its own: "0:p.0" is not "page"
    rf"(?<![^\s(\[\"'\u201c\u2018])(?P<w>{_FIGURE_STEMS})\.(?:\s+(?=[0-9])|(?=[0-9]+{END}))", re.IGNORECASE
)
_WORDS = [a for a in ABBREVIATIONS.values() if a.before == "" and a.spoken]
_WORDS_RE = re.compile(
    r"\b(?:"
    + "|".join(r"\.\s?".join(re.escape(part) for part in a.written.rstrip(".").split(".")) + r"\." for a in _WORDS)
    + r"|vs(?=\s))",
    re.IGNORECASE,
)
_INITIALS_RE = re.compile(r"(?<![\w.])(?:[A-Z]\.){2,}(?![\w])")
_CAPITAL_AFTER_RE = re.compile(r"\s+[A-Z]")
_WORD_BEFORE_RE = re.compile(r"([^\W\d_][\w'’-]*)[\s,]*$")


def _after_a_name(text: str, start: int) -> bool:
    """Whether a capitalised name stands just before ``start`` ("Baker St."), not a capitalised common word
    that starts a sentence ("Meet Dr. Lee")."""
    offset = max(0, start - LOOK_BACK)
    before = _WORD_BEFORE_RE.search(text[offset:start].rstrip())
    if before is None or not before.group(1)[0].isupper():
        return False
    word = before.group(1)
    return not at_sentence_start(text, offset + before.start(1)) or word.lower() not in COMMON_WORDS


def _named_reading(text: str, match: re.Match[str], entry: Abbreviation) -> str | None:
    after_name = _after_a_name(text, match.start())
    before_name = _CAPITAL_AFTER_RE.match(text, match.end()) is not None
    if entry.after_name and entry.spoken:  # St., Dr., Co.: which one the names around it say
        title_first = entry.written in _TITLE_FIRST
        if after_name and not (before_name and title_first):
            return entry.after_name
        return entry.spoken if before_name or title_first else entry.after_name
    if entry.after_name:
        return entry.after_name if after_name or match.group("dot") else None
    return entry.spoken if before_name or match.group("dot") else None


def _named(text: str, match: re.Match[str], reading: Reading) -> str | None:
    stem = match.group("w")
    if not match.group("dot") and stem.lower() not in _NO_PERIOD_BEFORE_A_NAME and not ABBREVIATIONS[
        stem.lower() + "."
    ].after_name:
        return None
    entry = ABBREVIATIONS[stem.lower() + "."]
    said = _named_reading(text, match, entry)
    if said is None:
        return None
    return said + keep_period(text, match, entry.may_end_sentence and said == entry.after_name)


def _figure(text: str, match: re.Match[str], reading: Reading) -> str | None:
    if figures_before(text, match.start()) or (not match.group(0)[-1].isspace() and not sign_tail(text, match.end())):
        return None  # "No.0'€8": the figure glued to it is not one thing, so neither is read
    word = ABBREVIATIONS[match.group("w").lower() + "."].spoken or match.group("w")
    if at_sentence_start(text, match.start()):
        word = word[:1].upper() + word[1:]
    return word + " "


def _word(text: str, match: re.Match[str], reading: Reading) -> str:
    key = re.sub(r"\s", "", match.group(0)).lower()
    entry = ABBREVIATIONS[key if key.endswith(".") else key + "."]
    return capitalise_like(match.group(0), entry.spoken or "") + keep_period(text, match, entry.may_end_sentence)


def _initials(text: str, match: re.Match[str], reading: Reading) -> str:
    letters = " ".join(match.group(0).replace(".", ""))
    return letters + keep_period(text, match, sentence_end_possible=True)


NAMED = Rule("abbreviation by a name (Dr. Smith, Baker St.)", _NAMED_RE, _named, language="en")
FIGURE = Rule("abbreviation before a figure (No. 5, p. 12)", _FIGURE_RE, _figure, language="en", whole_tokens=False)
WORDS = Rule("abbreviation said as words (e.g., etc.)", _WORDS_RE, _word, language="en")
INITIALS = Rule("initials (U.S.A.)", _INITIALS_RE, _initials, language="en")
