"""English words the planner shares: one abbreviation table, month and weekday names, common words.

The sentence splitter (`cbx_cli.plan.sentences`), the normalizer (`cbx_cli.plan.normalize`) and the name hints
(`cbx_cli.plan.hints`) all read these, so an abbreviation is added in one place. Plain data, no text libraries.
"""

from __future__ import annotations

from typing import NamedTuple


class Abbreviation(NamedTuple):
    """A word written with a period that does not (or not always) end its sentence."""

    written: str
    """Lowercase, periods included: ``"dr."``, ``"e.g."``."""
    spoken: str | None
    """What the normalizer says instead, as it writes it mid-sentence; None where it is read as written."""
    may_end_sentence: bool
    """Whether its period may also be the full stop. The sentence splitter cuts after such a word only before
    one that starts a sentence, and the normalizer keeps the period there; the others (titles, "e.g.") always
    run on into the next word."""
    not_a_sentence_end: bool
    """Whether the look-back that asks "does this word start a sentence?" (``No.`` → "Number", the name
    hints) reads a period after it as part of the word. It knows fewer abbreviations than the splitter."""


ABBREVIATIONS: dict[str, Abbreviation] = {
    a.written: a
    for a in (
        #            written    spoken            may end a sentence, not a sentence end for the look-back
        Abbreviation("dr.",     "Doctor",         False, True),
        Abbreviation("mr.",     "Mister",         False, True),
        Abbreviation("mrs.",    "Missus",         False, True),
        Abbreviation("ms.",     "Miz",            False, True),
        Abbreviation("mx.",     None,             False, False),
        Abbreviation("prof.",   None,             False, False),
        Abbreviation("e.g.",    "for example",    False, True),
        Abbreviation("i.e.",    "that is",        False, True),
        Abbreviation("cf.",     None,             False, False),
        Abbreviation("viz.",    None,             False, False),
        Abbreviation("vs.",     "versus",         False, True),
        Abbreviation("st.",     "Street",         True,  True),  # "Saint" before a name: see normalize/abbreviations.py
        Abbreviation("etc.",    "et cetera",      True,  False),
        Abbreviation("jr.",     None,             True,  False),
        Abbreviation("sr.",     None,             True,  False),
        Abbreviation("inc.",    None,             True,  False),
        Abbreviation("ltd.",    None,             True,  False),
        Abbreviation("co.",     None,             True,  False),
        Abbreviation("approx.", "approximately",  True,  True),
        Abbreviation("no.",     "number",         True,  True),
        Abbreviation("fig.",    None,             True,  False),
        Abbreviation("vol.",    None,             True,  False),
    )
}
"""Every abbreviation the splitter, the normalizer or the look-back knows, by its written form."""

MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

COMMON_WORDS: frozenset[str] = frozenset(
    """
    a about above after again against all also always am an and another any are around as at away back be
    because been before being below between both but by can could day days did do does doing done down during
    each either even ever every few first for from further get go good great had has have having he her here
    hers herself him himself his how however i if in into is it its itself just know last least left less let
    like little long made make many may maybe me might more most much must my myself never new next no nor not
    now of off often oh ok okay old on once one only or other our ours ourselves out over own perhaps please
    quite rather really right said same say see she should since so some still such than thank thanks that the
    their theirs them themselves then there these they this those though through thus to today together tomorrow
    too under until up upon us very was we well were what when where whether which while who whom whose why will
    with within without would yes yesterday yet you your yours yourself yourselves
    i'm i'll i'd i've it's that's there's here's what's let's don't can't won't isn't aren't wasn't didn't
    mr mrs ms dr mister missus miz doctor saint street sir madam lord lady king queen prince princess
    chapter part book section act scene prologue epilogue introduction contents appendix note notes
    god english french german spanish italian american british european
    north south east west northern southern eastern western
    """.split()
) | {name.lower() for name in MONTHS + WEEKDAYS}
"""Common English words (lowercase) that are names of nothing: not hinted even when capitalised mid-sentence,
and not read as a street's name before "St."."""
