"""Word alignment of what a take says against what its chunk should say.

Both sides go through the planner's own normalization (`cbx_cli.plan.normalize`) before they are compared, so a
transcript's "31" meets the script's "thirty-one"; then case, punctuation and hyphens are dropped. The alignment is
a word-level edit distance (substitutions, deletions and insertions cost one each). Words the transcript has after
the last word that lines up with the text (a babbled tail) are not counted as errors: trimming cuts them
(`cbx_cli.verify.trim`), and `Alignment.last_heard` says where they start.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from cbx_cli.parse.tags import BRACKET_TAG_RE
from cbx_cli.plan.normalize import normalize

UNSPACED_LANGUAGES = ("zh", "ja")
"""Languages written without spaces between words: compared character by character."""
_DROP_RE = re.compile(r"[\u2019'`´]")
_SPLIT_RE = re.compile(r"[^\w]+")


def words_of(text: str, language: str | None = None) -> list[str]:
    """The words of ``text`` as spoken, lowercased, without punctuation: what alignment compares."""
    lang = (language or "en").lower()
    spoken = normalize(BRACKET_TAG_RE.sub(" ", text), lang)
    flat = _DROP_RE.sub("", unicodedata.normalize("NFKC", spoken).casefold())
    words = [w for w in _SPLIT_RE.split(flat.replace("_", " ")) if w]
    if lang.split("-")[0] in UNSPACED_LANGUAGES:
        return [c for w in words for c in w]
    return words


@dataclass(frozen=True)
class Alignment:
    words: int
    """Words the text has."""
    errors: int
    """Substituted, missing and inserted words, not counting the transcript's words after its last aligned one."""
    last_heard: int | None
    """Index (into the transcript's words) of the last word aligned to a word of the text; None if none is."""
    heard: int
    """Words the transcript has."""

    @property
    def score(self) -> float:
        """1 - errors / words, at least 0: 1.0 is a take that says exactly its text."""
        if self.words == 0:
            return 1.0 if self.errors == 0 else 0.0
        return max(0.0, 1.0 - self.errors / self.words)

    @property
    def tail_words(self) -> int:
        """Transcript words after the last aligned one."""
        return self.heard - (self.last_heard + 1 if self.last_heard is not None else 0)


def align(expected: list[str], heard: list[str]) -> Alignment:
    """The word-level edit distance between ``expected`` and ``heard``, with trailing extra words set apart."""
    n, m = len(expected), len(heard)
    dist = [[0] * (m + 1) for _ in range(n + 1)]
    for j in range(m + 1):
        dist[0][j] = j
    for i in range(1, n + 1):
        dist[i][0] = i
        for j in range(1, m + 1):
            same = expected[i - 1] == heard[j - 1]
            dist[i][j] = min(dist[i - 1][j - 1] + (0 if same else 1), dist[i - 1][j] + 1, dist[i][j - 1] + 1)
    # Walk back from the end, taking an insertion whenever it is as cheap as anything else, so words heard after
    # the text's last word (a repeated ending, babble) stay outside the alignment rather than inside it.
    j = m
    while j > 0 and n > 0 and dist[n][j] == dist[n][j - 1] + 1:
        j -= 1
    if n == 0:
        j = 0
    return Alignment(words=n, errors=dist[n][j], last_heard=j - 1 if j > 0 else None, heard=m)
