"""A normalization rule: a pattern for something written one way, and how to say each match."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from cbx_cli.plan.normalize.context import UNSPACED
from cbx_cli.plan.normalize.words import Unsupported, base_language, is_english, uses_decimal_comma

DATE_ORDERS = ("dmy", "mdy", "ymd")
"""How a numeric date such as 03/11/1998 is read: day first, month first, or year first."""


@dataclass(frozen=True)
class Reading:
    """How one text is read: its num2words language and the reader's choices."""

    lang: str
    """The num2words language code ("en", "fr", "pt_BR")."""
    date_order: str | None = None
    """One of `DATE_ORDERS` for a numeric date whose fields could be read either way; None: the language's
    own (`cbx_cli.plan.normalize.languages`)."""

    @property
    def english(self) -> bool:
        return is_english(self.lang)

    @property
    def decimal_comma(self) -> bool:
        return uses_decimal_comma(self.lang)


Say = Callable[[str, re.Match[str], Reading], "str | None"]
"""Builds the words for one match: (the whole text the rule runs on, the match, the reading) → the words, or
None to leave the match as written. Raising `Unsupported` leaves it as written too."""


@dataclass(frozen=True)
class Rule:
    """One kind of thing to say in words ("a clock time", "an amount of money")."""

    name: str
    pattern: re.Pattern[str] | Mapping[bool, re.Pattern[str]]
    """What it matches; or one pattern per way of writing numbers, keyed by "uses a decimal comma"."""
    say: Say
    language: str | None = None
    """The one language this rule is for, as num2words names it without a region ("en" also covers "en_IN");
    None for a rule that runs for every language num2words knows."""
    whole_tokens: bool = True
    """Read a match only when the rest of the words it stands in ("x86-64" around "64") has no figures: what
    no rule reads whole is left as written, never read in parts. False for a rule that rewrites a part on
    purpose and leaves the figures after it to the next rules ("#5" → "number 5", "2x4" → "two by 4")."""

    def runs_for(self, lang: str) -> bool:
        return self.language is None or self.language == base_language(lang)

    def apply(self, text: str, reading: Reading) -> str:
        """``text`` with every match replaced by what `say` makes of it."""
        out, at = [], 0
        for start, end, words in self.edits(text, reading):
            out += [text[at:start], words]
            at = end
        return "".join(out) + text[at:]

    def edits(self, text: str, reading: Reading) -> Iterator[tuple[int, int, str]]:
        """Each replacement `apply` makes, in order: (start, end, words) for ``text[start:end]``. Verification reads
        them to map spoken words back to what they were read from."""
        pattern = self.pattern if isinstance(self.pattern, re.Pattern) else self.pattern[reading.decimal_comma]
        for match in pattern.finditer(text):
            if self.whole_tokens and figures_around(text, match.start(), match.end()):
                continue
            try:
                words = self.say(text, match, reading)
            except (Unsupported, ValueError, OverflowError):  # int() refuses thousands of digits; num2words limits
                continue
            if words is not None and words != match.group(0):
                yield match.start(), match.end(), words


_FIGURES = frozenset("0123456789")
_UNSPACED_RE = re.compile(f"[{UNSPACED}]")


def _bound(ch: str) -> bool:
    """Whether ``ch`` ends a token: a space, or a character of a script written without spaces."""
    return ch.isspace() or _UNSPACED_RE.match(ch) is not None
_TOKEN_REACH = 64
"""How far `figures_around` looks for the ends of a token; a longer one is taken as glued to figures."""


def figures_around(text: str, start: int, end: int) -> bool:
    """Whether the token (the run without spaces) around ``text[start:end]`` has figures outside that span."""
    left = start
    while left > 0 and not _bound(text[left - 1]):
        left -= 1
        if start - left > _TOKEN_REACH:
            return True
    right = end
    while right < len(text) and not _bound(text[right]):
        right += 1
        if right - end > _TOKEN_REACH:
            return True
    return _has_figure(text[left:start]) or _has_figure(text[end:right])


def figures_before(text: str, start: int) -> bool:
    """Whether the token around ``start`` has figures before it: a rule that says only the start of what is written
    there ("#", "~", "2x") must not, or the figures before would be left in a token read in parts."""
    left = start
    while left > 0 and not _bound(text[left - 1]):
        left -= 1
        if start - left > _TOKEN_REACH:
            return True
    return _has_figure(text[left:start])


def token_end(text: str, start: int) -> int:
    """Where the token (the run without spaces) that goes on at ``start`` ends."""
    end = start
    while end < len(text) and not _bound(text[end]) and end - start <= _TOKEN_REACH:
        end += 1
    return end


def _has_figure(part: str) -> bool:
    """A digit of any script or another figure (², ½, Ⅻ) in ``part``."""
    return not _FIGURES.isdisjoint(part) if part.isascii() else any(ch.isnumeric() for ch in part)
