"""Name hints for ``cbx plan``: capitalised words a TTS model may mispronounce, to put in a ``--lexicon``: names and
borrowed words, not the ordinary words and well-known names a script capitalises (`cbx_cli.plan.words`)."""

from __future__ import annotations

import re

from cbx_cli.parse.tags import BRACKET_TAG_RE
from cbx_cli.plan.english import COMMON_WORDS
from cbx_cli.plan.lexicon import Lexicon
from cbx_cli.plan.normalize.context import at_sentence_start
from cbx_cli.plan.normalize.roman import roman_value
from cbx_cli.plan.words import ordinary

_WORD_RE = re.compile(r"(?<![\w'’-])[^\W\d_][\w'’-]*")


def unknown_words(text: str, lexicon: Lexicon | None = None) -> list[str]:
    """Capitalised words that are likely names a TTS may mispronounce, for a ``cbx plan`` hint.

    A word is reported when it starts with a capital letter, is more than one letter long, is not at the
    start of a sentence (after ``.``, ``!``, ``?``, ``:``, a line break or a tag; a title such as ``Dr.`` does
    not start one), is not in `COMMON_WORDS`, is not an ordinary English word or a well-known name (`ordinary`),
    is not written in lower case elsewhere in the text, and is not (part of) a lexicon entry. A trailing ``'s`` is
    dropped. Each word is reported once, in order of first appearance. Tags are ignored.
    """
    hidden = BRACKET_TAG_RE.sub(lambda m: "\ue000", text)  # a placeholder, as the normalizer hides tags
    known = lexicon.known_words() if lexicon else set()
    known |= {m.group(0) for m in _WORD_RE.finditer(hidden) if m.group(0).islower()}  # the script's own words
    found: list[str] = []
    seen: set[str] = set()
    for match in _WORD_RE.finditer(hidden):
        word = re.sub(r"['’]s$", "", match.group(0)).rstrip("'’-")
        if len(word) < 2 or not word[0].isupper():
            continue
        folded = word.casefold()
        if folded in seen or folded in COMMON_WORDS or folded in known or match.group(0).casefold() in known:
            continue
        if ordinary(word):
            continue
        if at_sentence_start(hidden, match.start()) or roman_value(word) is not None:
            continue  # a Roman numeral is read as a number, not a name
        seen.add(folded)
        found.append(word)
    return found
