"""A normalization rule: a pattern for something written one way, and how to say each match."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cbx_cli.plan.normalize.words import Unsupported, base_language

Say = Callable[[str, re.Match[str], str], "str | None"]
"""Builds the words for one match: (the whole text the rule runs on, the match, the num2words language) → the
words, or None to leave the match as written. Raising `Unsupported` leaves it as written too."""


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

    def runs_for(self, lang: str) -> bool:
        return self.language is None or self.language == base_language(lang)

    def apply(self, text: str, lang: str, decimal_comma: bool = False) -> str:
        """``text`` with every match replaced by what `say` makes of it."""
        pattern = self.pattern if isinstance(self.pattern, re.Pattern) else self.pattern[decimal_comma]

        def replace(match: re.Match[str]) -> str:
            try:
                words = self.say(text, match, lang)
            except Unsupported:
                return match.group(0)
            return match.group(0) if words is None else words

        return pattern.sub(replace, text)
