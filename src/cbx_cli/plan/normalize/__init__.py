"""Text normalization: what the engine reads, as opposed to what the script says.

The manifest keeps the text as written; :func:`normalize` produces the text to speak:

1. Tags (``[laugh]``, ``[pause 1.5s]``) are hidden, so no rule touches them (`protect`).
2. The user's `Lexicon` respellings are applied.
3. The rules in `RULES` run in order, each over the whole text. English gets all of them: abbreviations
   (Dr., St., e.g., No. 5 …), dates, times, money, percent, ordinals, years, decimals and cardinals in
   words. Another language that num2words supports gets the rules not tied to English (numbers, money,
   percent, years, times); a language it does not support keeps its text as written (apart from the lexicon).

Each module holds one kind of rule with its patterns; `words` says numbers through num2words, `context` reads
around a match, `rule` applies one. A new kind is a new module with its `Rule`s, a place in `RULES`, and a
test file with its table of cases.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import NamedTuple

from cbx_cli.parse.tags import BRACKET_TAG_RE
from cbx_cli.plan.lexicon import Lexicon
from cbx_cli.plan.normalize import (
    abbreviations,
    dates,
    fractions,
    languages,
    measures,
    money,
    numbers,
    ordinals,
    phones,
    ranges,
    roman,
    signs,
    times,
    years,
)
from cbx_cli.plan.normalize.context import UNSPACED
from cbx_cli.plan.normalize.protect import protect_tags
from cbx_cli.plan.normalize.rule import DATE_ORDERS, Reading, Rule
from cbx_cli.plan.normalize.words import resolve_language

__all__ = ["DATE_ORDERS", "RULES", "Mapped", "Normalized", "Reading", "Rule", "normalize", "normalize_mapped",
           "normalize_text", "resolve_language"]

RULES: tuple[Rule, ...] = (
    # Words first: "No. 5" must lose its period before numbers are read, "Chapter IX" its numeral.
    abbreviations.NAMED,
    abbreviations.FIGURE,
    abbreviations.WORDS,
    abbreviations.INITIALS,
    roman.HEADING,
    roman.REGNAL,
    roman.CENTURY,
    roman.LEADING,
    # Then whatever contains numbers, the most specific shapes before the plain ones that would eat them:
    # figures with a slash or a dash that are one thing (24/7, a telephone number, a date) before ranges.
    signs.ABOUT,
    numbers.SCIENTIFIC,
    fractions.IDIOM,
    years.YEAR_RANGE,
    phones.TELEPHONE,
    phones.CODE,
    *dates.DATES_IN_WORDS,
    *languages.DATE_ORDINALS,
    dates.ISO_DATE,
    dates.NUMERIC_DATE,
    dates.NUMERIC_MONTH_YEAR,
    dates.WEEKDAY,
    dates.DAY_MONTH,
    dates.MONTH_DAY,
    dates.MONTH_YEAR,
    ranges.RATIO,
    times.TIME_RANGE,
    times.CLOCK,
    times.DOTTED_CLOCK,
    times.HOUR_AM_PM,
    ranges.RANGE,
    money.RATE,
    money.CURRENCY_BEFORE,
    money.CURRENCY_AFTER,
    money.CODE_BEFORE,
    money.CODE_AFTER,
    money.CENTS,
    money.PERCENT,
    signs.BY,
    fractions.FRACTION,
    measures.FEET_INCHES,
    measures.MEASURE,
    numbers.POWER,
    numbers.TIMES,
    ordinals.ORDINAL,
    years.ERA_AFTER,
    years.ERA_BEFORE,
    years.DECADE,
    years.YEAR,
    signs.NUMBER_SIGN,
    numbers.DOTTED,
    numbers.BARE_FRACTION,
    numbers.NUMBER,
    numbers.MIXED,
)
"""Every rule, in the order they run."""


class Normalized(NamedTuple):
    """What the engine reads, and what in it is still as written because no rule understood it."""

    spoken: str
    left_as_written: tuple[str, ...]
    """Tokens with figures in them that are read as written ("1.2.3.4", "x86-64", "H₂O"); every figure for a
    language num2words does not say. A figure is a digit of any script or another number character."""


_TOKEN_RE = re.compile(f"[^\\s{UNSPACED}]+")
_FIGURES = frozenset("0123456789")
_EDGES = "\"'“”‘’«»()[]{}.,;:!?…"
_DIGIT_RE = re.compile(r"\d")
"""Any decimal digit: 0-9, and those of other scripts (٣, ३, ３), which the rules read once they are 0-9."""


def _has_figures(token: str) -> bool:
    """Whether ``token`` holds a figure: a digit of any script, or another number character (², ₂, ½, Ⅻ)."""
    if token.isascii():
        return not _FIGURES.isdisjoint(token)
    return any(unicodedata.category(ch) in ("Nd", "No") or "\u2160" <= ch <= "\u2188" for ch in token)


def _ascii_digits(text: str) -> str:
    """``text`` with every decimal digit of another script as its 0-9 figure, so the rules read it."""
    if text.isascii():
        return text
    return _DIGIT_RE.sub(lambda m: str(unicodedata.digit(m.group())), text)


def _digits_put_back(text: str) -> Callable[[str], str] | None:
    """For ``text`` about to go through `_ascii_digits`: the function that writes back, as they were, the tokens of
    other scripts' digits that no rule read (left as written means as written); None when there are none."""
    waiting: dict[str, list[str]] = {}
    for token in _TOKEN_RE.findall(text):
        if not token.isascii() and (plain := _ascii_digits(token)) != token:
            waiting.setdefault(plain, []).append(token)
    if not waiting:
        return None

    def put_back(match: re.Match[str]) -> str:
        queue = waiting.get(match.group(0))
        return queue.pop(0) if queue else match.group(0)

    return lambda result: _TOKEN_RE.sub(put_back, result)


def normalize_text(
    text: str, language: str = "en", lexicon: Lexicon | None = None, date_order: str | None = None
) -> Normalized:
    """The text to speak for ``text`` (see `normalize`), and the tokens with figures left as written in it."""
    protected = protect_tags(text)
    if protected is None:
        return Normalized(text, ())
    hidden, restore = protected
    if lexicon:
        hidden = lexicon.apply(hidden)
    lang = resolve_language(language)
    if lang is not None:
        reading = Reading(lang, date_order)
        put_back = _digits_put_back(hidden)
        hidden = _ascii_digits(hidden)
        for rule in RULES:
            if rule.runs_for(lang):
                hidden = rule.apply(hidden, reading)
        hidden = put_back(hidden) if put_back else hidden
    left = tuple(token.strip(_EDGES) for token in _TOKEN_RE.findall(hidden) if _has_figures(token))
    return Normalized(restore(hidden), left)


def normalize(
    text: str, language: str = "en", lexicon: Lexicon | None = None, date_order: str | None = None
) -> str:
    """The text to speak for ``text``: lexicon respellings applied, then numbers and abbreviations in words.

    ``language`` is a code such as ``"en"``, ``"fr"`` or ``"pt-BR"``. English gets the full treatment; other
    languages that ``num2words`` supports get numbers, currency, years and percent; others only the lexicon.
    ``date_order`` ("dmy", "mdy", "ymd") reads a numeric date whose day and month could be swapped; None reads
    it as the language writes dates. Tags such as ``[laugh]`` are left as they are, and so is all punctuation
    that ends a sentence. Never raises on odd text: what cannot be said in words is left as written, whole.
    """
    return normalize_text(text, language, lexicon, date_order).spoken


class Mapped(NamedTuple):
    """Text read by the rules, with where each of its characters came from."""

    spoken: str
    origins: tuple[tuple[int, int], ...]
    """For each character of `spoken`, the span (start, end) of the input it was read from: a character a rule
    left alone has its own; every character of a rule's words has the whole span that rule read."""


def normalize_mapped(text: str, language: str = "en", date_order: str | None = None) -> Mapped:
    """``text`` read by the same rules as `normalize` (no lexicon), keeping a map back to ``text``: for what a
    recognizer heard, whose words are compared with a chunk's spoken text and timed by the words they came from.
    Bracketed tags become spaces."""
    text = BRACKET_TAG_RE.sub(lambda m: " " * len(m.group(0)), text)
    origins = [(i, i + 1) for i in range(len(text))]
    lang = resolve_language(language)
    if lang is None:
        return Mapped(text, tuple(origins))
    reading = Reading(lang, date_order)
    put_back = _digits_put_back(text)  # digits of other scripts: one character each way, so the map holds
    text = _ascii_digits(text)
    for rule in RULES:
        if not rule.runs_for(lang):
            continue
        out, mapped, at = [], [], 0
        for start, end, words in rule.edits(text, reading):
            read = origins[start:end] or origins[max(0, start - 1) : start + 1]
            span = (min(o[0] for o in read), max(o[1] for o in read)) if read else (0, 0)
            out += [text[at:start], words]
            mapped += origins[at:start] + [span] * len(words)
            at = end
        if out:
            text, origins = "".join(out) + text[at:], mapped + origins[at:]
    return Mapped(put_back(text) if put_back else text, tuple(origins))
