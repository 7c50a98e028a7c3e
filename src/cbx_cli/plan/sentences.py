"""Split paragraph text into sentences, each language by its own rules, and pack them into chunks of bounded
length.

pysbd finds the sentence ends where it knows the language (it is rule-based, with no model to load,
deterministic, and handles quotes, ellipses and numbers well); for the multilingual model's other languages a
regex does, with each language's abbreviations (`ABBREVIATIONS_BY_LANGUAGE`). Cuts are kept only at a space or,
in Chinese and Japanese, which put no space between sentences, right after 。！？; never inside a tag, and not
after an abbreviation. Where pysbd's segments do not line up with the text, the regex finds the ends instead.

A chunk is a slice of the paragraph's collapsed text: chunks in order, with the single space or nothing that
stood between them, are the paragraph exactly. Their length is counted as `spoken_length`, in which a Chinese
character or a Japanese or Korean syllable weighs what a few letters do, as it takes as long to say.

Work is linear in the paragraph's length, however long it is (a book pasted as one paragraph): lengths come from
prefix sums (`_Text`), tags are found once and looked up by bisection, and pysbd, whose abbreviation rules rescan
its whole input once per abbreviation, reads a long paragraph in overlapping windows of `PYSBD_WINDOW` characters
(`_windowed_cuts`), keeping only the cuts it finds with at least `PYSBD_CONTEXT` characters after them.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from functools import lru_cache
from itertools import accumulate

import pysbd
from pysbd.languages import LANGUAGE_CODES

from cbx_cli.parse.script import collapse
from cbx_cli.parse.tags import PARALINGUISTIC_TAG_RE, strip_tags
from cbx_cli.plan.english import ABBREVIATIONS

# Titles always belong to the following name; e.g./i.e. style markers always continue the sentence.
_ALWAYS_JOIN = frozenset(a.written for a in ABBREVIATIONS.values() if not a.may_end_sentence)
# These end a sentence only when the next word starts like a new sentence (not lowercase or a digit).
_JOIN_IF_CONTINUED = frozenset(a.written for a in ABBREVIATIONS.values() if a.may_end_sentence)

ABBREVIATIONS_BY_LANGUAGE: dict[str, frozenset[str]] = {
    lang: frozenset(words.split())
    for lang, words in {
        "fi": "esim. ym. jne. mm. ns. n. ks. vrt. tms. yms. t. s. tri prof. klo",
        "he": "וכו' גב' מר' ד\"ר פרופ'",
        "ko": "",
        "ms": "dr. en. pn. cik tn. dll. dsb. spt. hj. no.",
        "no": "f.eks. bl.a. osv. dvs. ca. nr. kr. mv. m.m. jf. dr. prof. st. o.l.",
        "pt": "sr. sra. srta. dr. dra. prof. profa. p. ex. etc. av. nº. n.º pág. págs. séc. vol. cap. cia.",
        "sv": "t.ex. bl.a. d.v.s. dvs. o.s.v. osv. m.m. ca. nr. s.k. dr. prof. kl. jfr. fr.o.m. t.o.m.",
        "sw": "bw. bi. dkt. prof. n.k. k.m. na.",
        "tr": "dr. prof. doç. av. vb. vs. örn. bkz. yy. sn. no. s.",
    }.items()
}
"""Abbreviations of the languages pysbd does not know, lowercase: a period after one does not end a sentence."""

PYSBD_LANGUAGES = frozenset(LANGUAGE_CODES)
_CLOSERS = "\"'\u201d\u2019)\\]\u300d\u300f\uff09\u3011"
_FALLBACK_END_RE = re.compile(rf"[.!?\u2026\u061f\u0964]+[{_CLOSERS}]*(?= )")
_WIDE_CUT_RE = re.compile(rf"[\u3002\uff01\uff1f]+[{_CLOSERS}]*")
_CLOSER_CHARS = frozenset("\"'\u201d\u2019)]\u300d\u300f\uff09\u3011")
_WIDE_ENDS = frozenset("\u3002\uff01\uff1f!?")
_WIDE_CLAUSE_MARKS = "\u3001\uff0c\uff1b\uff1a"
_CLAUSE_MARK_RE = re.compile(r"[,;:\u2014\u2013\u3001\uff0c\uff1b\uff1a][\"'\u201d\u2019)\]\u300d\u300f]{0,3}")
"""Clause punctuation and up to three closing quotes or brackets after it: where a long sentence may be cut."""

_HAN_RE = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
_SYLLABLE_RE = re.compile("[\u3040-\u30ff\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")
_WIDE_RE = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f\u3000-\u30ff\uff00-\uffef]")
HAN_WEIGHT = 3
"""A Chinese character (or a Japanese kanji) is one syllable, about as long to say as three letters."""
SYLLABLE_WEIGHT = 2
"""A kana or a Hangul syllable block: about two letters' worth."""
_SPACE_RE = re.compile(" ")
PYSBD_WINDOW = 4000
"""Characters of a paragraph pysbd reads at once (see the module's docstring)."""
PYSBD_CONTEXT = 600
"""Characters after a cut pysbd must have seen for the cut to be kept; the next window starts at the last one."""


def is_wide(ch: str) -> bool:
    """A character of a script written without spaces between words (Chinese, Japanese)."""
    return _WIDE_RE.match(ch) is not None


def spoken_length(text: str) -> int:
    """How long ``text`` is to say, in letters: a Chinese character counts `HAN_WEIGHT`, a kana or Hangul
    syllable `SYLLABLE_WEIGHT`, anything else one."""
    if text.isascii():
        return len(text)
    return (len(text) + (HAN_WEIGHT - 1) * len(_HAN_RE.findall(text))
            + (SYLLABLE_WEIGHT - 1) * len(_SYLLABLE_RE.findall(text)))


class _Text:
    """A paragraph's collapsed text with what every step asks of it in constant or logarithmic time: the
    `spoken_length` of any slice (prefix sums) and whether a position is inside a tag (bisection)."""

    def __init__(self, norm: str):
        self.norm = norm
        self.ascii = norm.isascii()
        self._sums: list[int] | None = None
        if not self.ascii:
            weights = [1] * len(norm)
            for pattern, weight in ((_HAN_RE, HAN_WEIGHT), (_SYLLABLE_RE, SYLLABLE_WEIGHT)):
                for m in pattern.finditer(norm):
                    weights[m.start()] = weight
            self._sums = [0, *accumulate(weights)]
        tags = [m.span() for m in PARALINGUISTIC_TAG_RE.finditer(norm)]
        self._tag_starts = [a for a, _ in tags]
        self._tag_ends = [b for _, b in tags]

    def length(self, a: int, b: int) -> int:
        """`spoken_length` of ``norm[a:b]``."""
        return b - a if self._sums is None else self._sums[b] - self._sums[a]

    def reach(self, start: int, end: int, budget: int) -> int:
        """The furthest position up to ``end`` whose slice from ``start`` is at most ``budget`` long."""
        if self._sums is None:
            return min(end, start + budget)
        return min(end, bisect_right(self._sums, self._sums[start] + budget) - 1)

    def in_tag(self, pos: int) -> bool:
        """Whether ``pos`` falls strictly inside a tag (a cut there would split it)."""
        i = bisect_left(self._tag_starts, pos) - 1
        return i >= 0 and pos < self._tag_ends[i]


def _base(language: str | None) -> str:
    return re.split(r"[-_]", language or "en")[0].lower()


@lru_cache(maxsize=32)
def _segmenter(lang: str) -> pysbd.Segmenter:
    return pysbd.Segmenter(language=lang, clean=False)


def _pysbd_cuts(norm: str, lang: str) -> list[int] | None:
    """Positions just after each pysbd segment in ``norm``, or None when the segments don't line up."""
    try:
        # The processor's sentences, not `Segmenter.segment`'s: segment() then finds each sentence in the text again
        # with a regex compiled for it and run from the start (quadratic); the alignment below does that in one pass.
        segments = _segmenter(lang).processor(norm).process() if norm else []
    except Exception:  # pysbd has crashed on odd input; the regex fallback still works
        return None
    cuts: list[int] = []
    pos = 0
    for segment in segments:
        piece = segment.strip()
        if not piece:
            continue
        while pos < len(norm) and norm[pos] == " ":
            pos += 1
        if not norm.startswith(piece, pos):
            return None
        pos += len(piece)
        cuts.append(pos)
    return cuts if pos == len(norm) else None


def _fallback_cuts(norm: str, start: int = 0, end: int | None = None) -> list[int]:
    return [m.end() for m in _FALLBACK_END_RE.finditer(norm, start, len(norm) if end is None else end)]


def _windowed_cuts(norm: str, lang: str) -> list[int]:
    """pysbd's cuts in ``norm``, read `PYSBD_WINDOW` characters at a time. A window's cuts are kept up to
    `PYSBD_CONTEXT` characters before its end (pysbd saw what follows them); the next window starts at the last
    kept cut, or, inside one very long sentence, at a space near that point. A window whose segments do not line up
    with the text gets the regex's cuts."""
    cuts: list[int] = []
    pos = 0
    while True:
        end = len(norm) if len(norm) - pos <= PYSBD_WINDOW else pos + PYSBD_WINDOW
        if end < len(norm):
            space = norm.rfind(" ", pos + PYSBD_WINDOW // 2, end)
            end = space if space > pos else end
        found = _pysbd_cuts(norm[pos:end], lang)
        window = [pos + c for c in found] if found is not None else _fallback_cuts(norm, pos, end)
        if end == len(norm):
            return cuts + window
        keep = [c for c in window if c <= end - PYSBD_CONTEXT]
        cuts += keep
        nxt = keep[-1] if keep and keep[-1] > pos else norm.rfind(" ", pos + 1, end - PYSBD_CONTEXT)
        nxt = nxt if nxt > pos else end - PYSBD_CONTEXT
        pos = nxt + 1 if norm[nxt] == " " else nxt


def _joins_english(norm: str, cut: int, last: str) -> bool:
    """Whether an English abbreviation before ``cut`` runs on into the next word."""
    if last in _ALWAYS_JOIN:
        return True
    if last not in _JOIN_IF_CONTINUED:
        return False
    first = norm[cut + 1]
    if first.islower() or first.isdigit():
        return True
    # "St." before a capitalised word is "Saint" unless a capitalised word precedes it ("Baker St.").
    space = norm.rfind(" ", 0, cut)
    prev = norm[norm.rfind(" ", 0, space) + 1 : space] if space >= 0 else ""
    return last == "st." and first.isupper() and not prev[:1].isupper()


def _joins(norm: str, cut: int, lang: str) -> bool:
    """Whether the word before a cut at a space runs on into the next one (an abbreviation, an ordinal)."""
    last = norm[norm.rfind(" ", 0, cut) + 1 : cut].lower()
    if lang == "en":
        return _joins_english(norm, cut, last)
    if lang in PYSBD_LANGUAGES:
        return False
    # Languages without pysbd: their abbreviations, and "3. päivänä": a period before a lowercase word.
    return last in ABBREVIATIONS_BY_LANGUAGE.get(lang, ()) or norm[cut + 1].islower()


def _ends_wide_sentence(norm: str, cut: int) -> bool:
    """Whether ``norm[:cut]`` ends with 。！？!? and closing quotes or brackets."""
    i = cut
    while i > 0 and norm[i - 1] in _CLOSER_CHARS:
        i -= 1
    return i > 0 and norm[i - 1] in _WIDE_ENDS


def _keep_cut(text: _Text, cut: int, lang: str) -> bool:
    norm = text.norm
    if not 0 < cut < len(norm) or text.in_tag(cut):
        return False
    if norm[cut] != " ":
        # No space: only after 。！？ (Chinese, Japanese), so numbers and words are never split.
        return _ends_wide_sentence(norm, cut) and is_wide(norm[cut - 1])
    return not _joins(norm, cut, lang)


def _sentence_spans(text: _Text, language: str | None) -> list[tuple[int, int]]:
    norm = text.norm
    if not norm:
        return []
    lang = _base(language)
    cuts = _windowed_cuts(norm, lang) if lang in PYSBD_LANGUAGES else _fallback_cuts(norm)
    cuts += [m.end() for m in _WIDE_CUT_RE.finditer(norm)]  # 。！？ with no space after, in any language
    found: list[tuple[int, int]] = []
    start = 0
    for cut in sorted(set(cuts)):
        if cut > start and _keep_cut(text, cut, lang):
            found.append((start, cut))
            start = cut + 1 if norm[cut] == " " else cut
    found.append((start, len(norm)))
    return found


def sentence_spans(norm: str, language: str | None = None) -> list[tuple[int, int]]:
    """(start, end) of each sentence of the collapsed text ``norm``; between two, a single space or nothing."""
    return _sentence_spans(_Text(norm), language)


def split_sentences(text: str, language: str | None = None) -> list[str]:
    """Split text into whitespace-collapsed sentences, by the rules of ``language`` (None: English)."""
    norm = collapse(text)
    return [norm[a:b] for a, b in sentence_spans(norm, language)]


def _pack(text: _Text, spans: list[tuple[int, int]], max_chars: int) -> list[tuple[int, int]]:
    """Adjacent spans merged greedily while the merged text stays within ``max_chars`` (`spoken_length`)."""
    packed: list[tuple[int, int]] = []
    for start, end in spans:
        if packed and text.length(packed[-1][0], end) <= max_chars:
            packed[-1] = (packed[-1][0], end)
        else:
            packed.append((start, end))
    return packed


def _cut_spans(norm: str, start: int, end: int, cuts: list[int]) -> list[tuple[int, int]]:
    """``norm[start:end]`` cut at each of ``cuts``; a space at a cut belongs to neither side."""
    pieces: list[tuple[int, int]] = []
    for cut in cuts:
        if start < cut < end:
            pieces.append((start, cut))
            start = cut + 1 if norm[cut] == " " else cut
    pieces.append((start, end))
    return [(a, b) for a, b in pieces if b > a]


def _word_cuts(text: _Text, start: int, end: int) -> list[int]:
    """Where a sentence may be cut between words: at a space, or between two characters of a script written
    without spaces (never inside a tag, a number or a Latin word)."""
    norm = text.norm
    if text.ascii:
        return [m.start() for m in _SPACE_RE.finditer(norm, start + 1, end) if not text.in_tag(m.start())]
    cuts = []
    for i in range(start + 1, end):
        if norm[i] == " " or (norm[i - 1] != " " and (is_wide(norm[i - 1]) or is_wide(norm[i]))):
            if not text.in_tag(i):
                cuts.append(i)
    return cuts


def _clause_cuts(text: _Text, start: int, end: int) -> list[int]:
    """Where a sentence may be cut after clause punctuation: at the space after it, or right after a
    full-width comma (、，；：) where no space follows."""
    norm = text.norm
    cuts = []
    for m in _CLAUSE_MARK_RE.finditer(norm, start, end):
        for i in range(m.start() + 1, m.end() + 1):
            if not start < i < end:
                continue
            if norm[i] != " " and norm[i - 1] not in _WIDE_CLAUSE_MARKS and not is_wide(norm[i - 1]):
                continue
            if not text.in_tag(i):
                cuts.append(i)
    return cuts


def _split_long(text: _Text, start: int, end: int, max_chars: int) -> tuple[list[tuple[int, int]], bool]:
    if text.length(start, end) <= max_chars:
        return [(start, end)], False
    norm = text.norm
    pieces: list[tuple[int, int]] = []
    group: list[tuple[int, int]] = []
    word_split = False
    for a, b in _cut_spans(norm, start, end, _clause_cuts(text, start, end)):
        if text.length(a, b) <= max_chars:
            group.append((a, b))
            continue
        pieces += _pack(text, group, max_chars)
        group = []
        words = _cut_spans(norm, a, b, _word_cuts(text, a, b))
        pieces += _pack(text, words, max_chars)
        word_split = word_split or len(words) > 1
    pieces += _pack(text, group, max_chars)
    return pieces, word_split


def chunk_text_report(text: str, max_chars: int, language: str | None = None) -> tuple[list[str], int]:
    """Split text into sentences and pack them greedily into chunks of at most max_chars (an over-long sentence
    splits at clause punctuation, then between words); also return how many sentences had to be split between
    words. Lengths are `spoken_length`s."""
    if max_chars < 1:
        raise ValueError(f"max_chars must be positive, got {max_chars}")
    norm = collapse(text)
    measured = _Text(norm)
    pieces: list[tuple[int, int]] = []
    word_splits = 0
    for start, end in _sentence_spans(measured, language):
        parts, word_split = _split_long(measured, start, end, max_chars)
        pieces += _split_words(measured, parts, max_chars)
        word_splits += word_split
    return [norm[a:b] for a, b in _pack(measured, pieces, max_chars)], word_splits


_SOFT_BREAKS = "-/_.,;:\u2013\u2014"
"""Where an over-long word is cut by preference: just after one of these, in the second half of the bound."""


def split_long_words(norm: str, spans: list[tuple[int, int]], max_chars: int) -> list[tuple[int, int]]:
    """``spans`` of ``norm`` with every one still longer than ``max_chars`` (by then a single word: a URL, a line of
    text without spaces, a pasted blob) cut into parts that fit, after a hyphen, slash or punctuation mark where
    there is one, never inside a tag or before a combining mark. The model cannot read a chunk over its bound, and
    no text may be left out; `cbx_cli.plan.chunks` warns about such words."""
    return _split_words(_Text(norm), spans, max_chars)


def _split_words(text: _Text, spans: list[tuple[int, int]], max_chars: int) -> list[tuple[int, int]]:
    norm = text.norm
    out: list[tuple[int, int]] = []
    for start, end in spans:
        while text.length(start, end) > max_chars:
            limit = max(start + 1, text.reach(start, end, max_chars))
            soft = max(norm.rfind(ch, start + (limit - start) // 2, limit) for ch in _SOFT_BREAKS)
            cut = soft + 1 if soft >= 0 else limit
            while cut > start + 1 and (text.in_tag(cut) or unicodedata.combining(norm[cut])):
                cut -= 1
            cut = limit if cut <= start + 1 else cut
            out.append((start, cut))
            start = cut
        if start < end:
            out.append((start, end))
    return out


def shown_sentences(text: str) -> list[str]:
    """``text``'s sentences as subtitles show them: paralinguistic tags removed, sentences left empty dropped."""
    return [shown for shown in (strip_tags(s)[0] for s in split_sentences(text)) if shown]
