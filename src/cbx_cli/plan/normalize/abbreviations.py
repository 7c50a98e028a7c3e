"""English abbreviations in words: titles (Dr., Mrs.), St. (Saint or Street), No. 5, e.g., i.e., etc., vs.,
approx. What each is said as comes from the shared table in `cbx_cli.plan.english`."""

from __future__ import annotations

import re

from cbx_cli.plan.english import ABBREVIATIONS, COMMON_WORDS
from cbx_cli.plan.normalize.context import LOOK_BACK, at_sentence_start, capitalise_like, keep_period
from cbx_cli.plan.normalize.rule import Rule

_TITLE_RE = re.compile(r"\b(Dr|Mr|Mrs|Ms)(?:\.|(?=\s+[A-Z]))")
_ST_RE = re.compile(r"\bSt(?:\.|(?=\s+[A-Z]))")
_NUMBER_SIGN_RE = re.compile(r"\b([Nn])o\.\s*(?=[0-9])")
_CAPITAL_AFTER_RE = re.compile(r"\s+[A-Z]")
_WORD_BEFORE_RE = re.compile(r"([^\W\d_][\w'’-]*)[\s,]*$")


def _spoken(written: str) -> str:
    """What the table says ``written`` is read as (as written where it has no spoken form)."""
    return ABBREVIATIONS[written.lower()].spoken or written


def _title(text: str, match: re.Match[str], lang: str) -> str:
    return _spoken(match.group(1) + ".") + keep_period(text, match, sentence_end_possible=False)


def _saint_or_street(text: str, match: re.Match[str], lang: str) -> str:
    """Say "Saint" before a name ("St. Louis") unless a name comes first ("Baker St. Station"), else "Street"."""
    offset = max(0, match.start() - LOOK_BACK)
    before = _WORD_BEFORE_RE.search(text[offset : match.start()].rstrip())
    prev = before.group(1) if before else ""
    prev_is_name = (
        before is not None
        and prev[0].isupper()
        and (not at_sentence_start(text, offset + before.start(1)) or prev.lower() not in COMMON_WORDS)
    )
    follows_name = _CAPITAL_AFTER_RE.match(text, match.end()) is not None
    if follows_name and not prev_is_name:
        return "Saint"
    return _spoken("st.") + keep_period(text, match, ABBREVIATIONS["st."].may_end_sentence)


def _number_sign(text: str, match: re.Match[str], lang: str) -> str:
    word = _spoken("no.")
    if at_sentence_start(text, match.start()):
        word = word[:1].upper() + word[1:]
    return word + " "


def _word(written: str, pattern: str) -> Rule:
    """A rule for an abbreviation said as a word or phrase, capitalised as it is written."""
    entry = ABBREVIATIONS[written]

    def say(text: str, match: re.Match[str], lang: str) -> str:
        return capitalise_like(match.group(1), entry.spoken or "") + keep_period(text, match, entry.may_end_sentence)

    return Rule(written, re.compile(pattern), say, language="en")


TITLE = Rule("title", _TITLE_RE, _title, language="en")
SAINT_OR_STREET = Rule("St.", _ST_RE, _saint_or_street, language="en")
NUMBER_SIGN = Rule("No.", _NUMBER_SIGN_RE, _number_sign, language="en")
FOR_EXAMPLE = _word("e.g.", r"\b([Ee])\.\s?g\.")
THAT_IS = _word("i.e.", r"\b([Ii])\.\s?e\.")
ET_CETERA = _word("etc.", r"\b([Ee])tc\.")
VERSUS = _word("vs.", r"\b([Vv])s\.?(?=\s)")
APPROXIMATELY = _word("approx.", r"\b([Aa])pprox\.")
