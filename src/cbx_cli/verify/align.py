"""Word alignment of what a take says against what its chunk should say.

The chunk's side is its spoken text as words (`words_of`). The take's side is the recognizer's own output, its words
as it wrote them ("$3", ".50", " 7", ".30am"), joined as written and read once by the planner's rules
(`cbx_cli.plan.normalize.normalize_mapped`), which keeps a map from every spoken word back to the recognizer's words
it came from (`transcript_of`). Spoken words read from the same recognizer words form a `Unit`: a plain word, or a
figure with its readings. A figure can be said, and written down, in more than one way ("7.30" seven thirty or seven
point three zero; "1999" nineteen ninety-nine or one thousand nine hundred ninety-nine; "555" five five five), so a
figure's unit carries its other readings too, and the alignment takes the one closest to the text around it.

The alignment is a word-level edit distance (substitutions, deletions and insertions cost one each; a word spelled
alike, or words written together or apart, match). Words heard
after those that line up with the text (a babbled tail) are not counted as errors; trimming cuts them
(`cbx_cli.verify.trim`), after the recognizer's word that the text's last heard word came from
(`Alignment.last_source`), so a cut never falls inside a figure's words or before a word of the text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache

from cbx_cli.parse.tags import BRACKET_TAG_RE
from cbx_cli.plan.english import NUMBER_HOMOPHONES, NUMBER_WORDS
from cbx_cli.plan.normalize import normalize, normalize_mapped

UNSPACED_LANGUAGES = ("zh", "ja")
"""Languages written without spaces between words: compared character by character."""
ALIKE = 0.75
"""How alike (difflib's ratio) a word heard in place of one of the text's must be to count as that word said and
written another way ("harbor" for "harbour", "Lindquist" for "Lindqvist", "lands" heard as "land"): a match, not an
error. Only words of `ALIKE_LETTERS` or more, never number words ("seventeen" is not "seventy")."""
ALIKE_LETTERS = 4
_DROP_RE = re.compile(r"[\u2019'`´]")
_SPLIT_RE = re.compile(r"[^\w]+")


def _split(spoken: str, language: str) -> list[str]:
    """Spoken text as the words alignment compares: lowercased, without punctuation or apostrophes; in English, a
    word said exactly as a number word is that number word ("to" two, "for" four; `NUMBER_HOMOPHONES`)."""
    flat = _DROP_RE.sub("", unicodedata.normalize("NFKC", spoken).casefold())
    words = [w for w in _SPLIT_RE.split(flat.replace("_", " ")) if w]
    base = language.split("-")[0]
    if base in UNSPACED_LANGUAGES:
        return [c for w in words for c in w]
    return [NUMBER_HOMOPHONES.get(w, w) for w in words] if base == "en" else words


def words_of(text: str, language: str | None = None) -> list[str]:
    """The words of ``text`` as spoken, lowercased, without punctuation: what alignment compares."""
    lang = (language or "en").lower()
    return _split(normalize(BRACKET_TAG_RE.sub(" ", text), lang), lang)


# -- the take's side ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    """Spoken words read from the same recognizer words: one word, or a figure said in words."""

    readings: tuple[tuple[str, ...], ...]
    """The planner's reading in its context first, then the figure's other readings (none for a plain word)."""
    first: int
    last: int
    """The recognizer's words (indices into what it heard) these spoken words came from."""


@dataclass(frozen=True)
class Transcript:
    """What a take says, as units of spoken words mapped back to the recognizer's words."""

    units: tuple[Unit, ...]

    def words(self, choice: Sequence[int] | None = None) -> tuple[list[str], list[int]]:
        """The spoken words, each unit by its ``choice``-th reading (default: the first), and each word's unit."""
        words, owner = [], []
        for u, unit in enumerate(self.units):
            reading = unit.readings[choice[u] if choice else 0]
            words += reading
            owner += [u] * len(reading)
        return words, owner


_FIGURE_RE = re.compile(r"[0-9]")
_CORE_RE = re.compile(r"^(?P<before>\D*?)(?P<core>[0-9](?:[0-9.,:/\-]*[0-9])?)(?P<after>\D*)$")


def _clock(core: str) -> str | None:
    """"7.30", "730", "7:30" as a clock time ("7:30"), if it can be one."""
    m = re.fullmatch(r"([01]?[0-9]|2[0-3])[.:]?([0-5][0-9])", core)
    return f"{m[1]}:{m[2]}" if m else None


def _pairs(core: str) -> str | None:
    """"3.50", "1999", "12,99" said as two numbers ("3 50": three fifty; "19 99": nineteen ninety-nine)."""
    m = re.fullmatch(r"([0-9]{1,2})[.,]?([0-9]{2})", core)
    return f"{m[1]} {m[2]}" if m and not m[2].startswith("0") else None


def _cardinal(core: str) -> str | None:
    """"1999", "1,999" as one number ("1,999": one thousand nine hundred ninety-nine)."""
    plain = core.replace(",", "")
    return f"{int(plain):,}" if plain.isdigit() and len(plain) >= 4 and not plain.startswith("0") else None


def _digits(core: str) -> str | None:
    """"555-010", "5-5-5", "2233" said digit by digit."""
    digits = [c for c in core if c.isdigit()]
    return " ".join(digits) if len(digits) > 1 else None


_READINGS = (_clock, _pairs, _cardinal, _digits)
"""Other ways a figure the recognizer wrote may have been said."""


def _other_readings(written: str, language: str) -> list[tuple[str, ...]]:
    """The figure(s) in ``written`` (the recognizer's words as it wrote them) read in each of `_READINGS`' ways."""
    readings = []
    tokens = written.split()
    for reading in _READINGS:
        changed = False
        out = []
        for token in tokens:
            m = _CORE_RE.match(token)
            new = reading(m["core"]) if m else None
            if new is not None:
                token, changed = f"{m['before']} {new} {m['after']}", True
            out.append(token)
        if changed:
            readings.append(tuple(_split(normalize(" ".join(out), language), language)))
    return readings


def transcript_of(heard: Sequence[str], language: str | None = None) -> Transcript:
    """The spoken words of what the recognizer heard: ``heard`` is its words as it wrote them, each with the space
    before it where it had one (faster-whisper's `Word.word`), so they join back into its text as written."""
    lang = (language or "en").lower()
    text, spans = "", []
    for word in heard:
        stripped = word.lstrip()
        start = len(text) + len(word) - len(stripped)
        text += word
        spans.append((start, len(text)))
    mapped = normalize_mapped(text, lang)
    groups: list[tuple[list[str], list[int]]] = []  # spoken words, and the recognizer's words they came from
    unspaced = lang.split("-")[0] in UNSPACED_LANGUAGES  # each character a word, mapped on its own
    for m in re.finditer(r"\S" if unspaced else r"\S+", mapped.spoken):
        words = _split(m.group(0), lang)
        if not words:
            continue
        origins = mapped.origins[m.start() : m.end()]
        lo, hi = min(o[0] for o in origins), max(o[1] for o in origins)
        sources = [k for k, (a, b) in enumerate(spans) if a < hi and b > lo] or [_nearest(spans, lo)]
        if groups and sources[0] <= groups[-1][1][-1]:  # read from recognizer words the group before was read from
            groups[-1][0].extend(words)
            groups[-1][1].extend(k for k in sources if k > groups[-1][1][-1])
        else:
            groups.append((words, sources))
    units = []
    for words, sources in groups:
        first, last = sources[0], sources[-1]
        readings = [tuple(words)]
        written = "".join(heard[first : last + 1])
        if _FIGURE_RE.search(written):
            readings += [r for r in dict.fromkeys(_other_readings(written, lang)) if r and r != readings[0]]
        units.append(Unit(tuple(readings), first, last))
    return Transcript(tuple(units))


def _nearest(spans: list[tuple[int, int]], at: int) -> int:
    return max([k for k, (a, _) in enumerate(spans) if a <= at] or [0])


# -- the alignment ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Alignment:
    words: int
    """Words the text has."""
    errors: int
    """Substituted, missing and inserted words, not counting the transcript's words after its last aligned one."""
    heard: int
    """Spoken words the transcript has."""
    last_heard: int | None
    """Index (into the transcript's spoken words) of the last word aligned to a word of the text; None if none is."""
    last_source: int | None
    """Index (into the recognizer's words) of the last word the text's heard words came from: a tail cut goes after
    its end. None if no word of the text was heard."""
    first_present: bool = True
    last_present: bool = True
    """Whether the text's first and last words were heard (as themselves, or as a word spelled alike)."""
    missing: int = 0
    """Words of the text heard as nothing at all (not even as another word)."""

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

    @property
    def ends_present(self) -> bool:
        return self.first_present and self.last_present

    @property
    def all_heard(self) -> bool:
        """Whether every word of the text was heard (some perhaps misheard), its first and last as themselves."""
        return self.words > 0 and self.missing == 0 and self.ends_present


@lru_cache(maxsize=65536)
def _differ(said: str, heard: str) -> int:
    """0 when ``heard`` is ``said`` (or spelled alike: `ALIKE`), else 1."""
    if said == heard:
        return 0
    if min(len(said), len(heard)) < ALIKE_LETTERS or said in NUMBER_WORDS or heard in NUMBER_WORDS:
        return 1
    return int(SequenceMatcher(None, said, heard).ratio() < ALIKE)


JOINED = 3
"""At most this many words on one side may be one word on the other ("P O" and "PO", "every day" and "everyday"):
written either way, they are said alike, and match."""


def _joined(words: Sequence[str], end: int, word: str) -> int:
    """How many words of ``words`` ending at ``end`` (exclusive) spell ``word`` when joined (2 to `JOINED`), or 0."""
    for k in range(2, JOINED + 1):
        if end - k >= 0 and "".join(words[end - k : end]) == word:
            return k
    return 0


def _distances(expected: Sequence[str], heard: Sequence[str]) -> list[list[int]]:
    n, m = len(expected), len(heard)
    dist = [[0] * (m + 1) for _ in range(n + 1)]
    dist[0] = list(range(m + 1))
    for i in range(1, n + 1):
        row, above, word = dist[i], dist[i - 1], expected[i - 1]
        row[0] = i
        for j in range(1, m + 1):
            best = min(above[j - 1] + _differ(word, heard[j - 1]), above[j] + 1, row[j - 1] + 1)
            if best and (k := _joined(expected, i, heard[j - 1])):
                best = min(best, dist[i - k][j - 1])
            if best and (k := _joined(heard, j, word)):
                best = min(best, above[j - k])
            row[j] = best
    return dist


def _path(expected: Sequence[str], heard: Sequence[str]) -> tuple[int, list[int | None], list[bool]]:
    """The edit distance of ``expected`` against the heard words up to the end that costs least, so words heard
    after the text are a tail, not errors (on a tie, the later end: a word heard where the text's last word should
    be is taken as that word); for each expected word, the heard word it lines up with (None: not heard), and
    whether it was heard as itself (or spelled alike, or joined with its neighbours)."""
    dist = _distances(expected, heard)
    n, m = len(expected), len(heard)
    last = dist[n]
    end = max(range(m + 1), key=lambda j: (-last[j], j))
    partner: list[int | None] = [None] * n
    same = [False] * n
    i, j = n, end
    while i > 0:
        here = dist[i][j]
        if j > 0 and here == dist[i - 1][j - 1] + (differ := _differ(expected[i - 1], heard[j - 1])):
            partner[i - 1], same[i - 1] = j - 1, not differ
            i, j = i - 1, j - 1
        elif j > 0 and (k := _joined(expected, i, heard[j - 1])) and here == dist[i - k][j - 1]:
            for e in range(i - k, i):
                partner[e], same[e] = j - 1, True
            i, j = i - k, j - 1
        elif j > 0 and (k := _joined(heard, j, expected[i - 1])) and here == dist[i - 1][j - k]:
            partner[i - 1], same[i - 1] = j - 1, True
            i, j = i - 1, j - k
        elif here == dist[i - 1][j] + 1:
            i -= 1
        else:
            j -= 1
    return last[end], partner, same


def align(expected: Sequence[str], transcript: Transcript | Sequence[str]) -> Alignment:
    """``expected`` (`words_of` a chunk's spoken text) against what a take says: a `Transcript`, or plain spoken
    words (each its own recognizer word). Each figure heard is taken in the reading closest to the text around it."""
    if not isinstance(transcript, Transcript):
        transcript = Transcript(tuple(Unit(((w,),), k, k) for k, w in enumerate(transcript)))
    choice = [0] * len(transcript.units)
    heard, owner = transcript.words(choice)
    errors, partner, same = _path(expected, heard)
    if any(len(u.readings) > 1 for u in transcript.units):
        choice = _closest_readings(expected, transcript, owner, partner)
        heard, owner = transcript.words(choice)
        errors, partner, same = _path(expected, heard)
    aligned = [j for j in partner if j is not None]
    last_heard = aligned[-1] if aligned else None
    n = len(expected)

    return Alignment(
        words=n, errors=errors, heard=len(heard), last_heard=last_heard,
        last_source=transcript.units[owner[last_heard]].last if last_heard is not None else None,
        first_present=n == 0 or same[0], last_present=n == 0 or same[-1],
        missing=sum(j is None for j in partner),
    )


def _closest_readings(expected: Sequence[str], transcript: Transcript, owner: list[int],
                      partner: list[int | None]) -> list[int]:
    """For each unit, the reading closest to the text's words between those its neighbours line up with."""
    by_unit: dict[int, list[int]] = {}  # the text's words each unit lines up with
    for i, j in enumerate(partner):
        if j is not None:
            by_unit.setdefault(owner[j], []).append(i)
    choice = []
    for u, unit in enumerate(transcript.units):
        if len(unit.readings) == 1:
            choice.append(0)
            continue
        before = max((i for v, ii in by_unit.items() if v < u for i in ii), default=-1)
        after = min((i for v, ii in by_unit.items() if v > u for i in ii), default=len(expected))
        window = expected[before + 1 : after]
        costs = [_distances(window, reading)[len(window)][len(reading)] for reading in unit.readings]
        choice.append(costs.index(min(costs)))
    return choice
