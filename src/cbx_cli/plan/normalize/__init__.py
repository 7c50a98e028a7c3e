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

from typing import TYPE_CHECKING

from cbx_cli.plan.normalize import abbreviations, dates, money, numbers, ordinals, times, years
from cbx_cli.plan.normalize.protect import protect_tags
from cbx_cli.plan.normalize.rule import Rule
from cbx_cli.plan.normalize.words import resolve_language, uses_decimal_comma

if TYPE_CHECKING:
    from cbx_cli.plan.lexicon import Lexicon

__all__ = ["RULES", "Rule", "normalize", "resolve_language"]

RULES: tuple[Rule, ...] = (
    # Abbreviations first: "No. 5" must lose its period before numbers are read.
    abbreviations.TITLE,
    abbreviations.SAINT_OR_STREET,
    abbreviations.NUMBER_SIGN,
    abbreviations.FOR_EXAMPLE,
    abbreviations.THAT_IS,
    abbreviations.ET_CETERA,
    abbreviations.VERSUS,
    abbreviations.APPROXIMATELY,
    # Then whatever contains numbers, the most specific shapes before the plain ones that would eat them.
    dates.ISO_DATE,
    dates.DAY_MONTH,
    dates.MONTH_DAY,
    times.CLOCK,
    times.HOUR_AM_PM,
    money.CURRENCY_BEFORE,
    money.CURRENCY_AFTER,
    money.PERCENT,
    ordinals.ORDINAL,
    years.DECADE,
    years.YEAR_RANGE,
    numbers.DASH_RANGE,
    years.YEAR,
    numbers.DOTTED,
    numbers.BARE_FRACTION,
    numbers.NUMBER,
    numbers.DIGITS,
)
"""Every rule, in the order they run."""


def normalize(text: str, language: str = "en", lexicon: Lexicon | None = None) -> str:
    """The text to speak for ``text``: lexicon respellings applied, then numbers and abbreviations in words.

    ``language`` is a code such as ``"en"``, ``"fr"`` or ``"pt-BR"``. English gets the full treatment; other
    languages that ``num2words`` supports get numbers, currency, years and percent; others only the lexicon.
    Tags such as ``[laugh]`` are left as they are, and so is all punctuation that ends a sentence.
    Never raises on odd text: what cannot be said in words is left as written.
    """
    protected = protect_tags(text)
    if protected is None:
        return text
    hidden, restore = protected
    if lexicon:
        hidden = lexicon.apply(hidden)
    lang = resolve_language(language)
    if lang is not None:
        hidden = _apply_rules(hidden, lang)
    return restore(hidden)


def _apply_rules(text: str, lang: str) -> str:
    decimal_comma = uses_decimal_comma(lang)
    for rule in RULES:
        if rule.runs_for(lang):
            text = rule.apply(text, lang, decimal_comma)
    return text
