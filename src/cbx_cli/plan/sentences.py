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
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

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
_WIDE_END_RE = re.compile(rf"[\u3002\uff01\uff1f!?][{_CLOSERS}]*$")
_WIDE_CLAUSE_MARKS = "\u3001\uff0c\uff1b\uff1a"
_CLAUSE_END_RE = re.compile(r"[,;:\u2014\u2013\u3001\uff0c\uff1b\uff1a][\"'\u201d\u2019)\]\u300d\u300f]*$")

_HAN = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2FA1F))
_SYLLABLES = ((0x3040, 0x30FF), (0xAC00, 0xD7AF), (0x1100, 0x11FF), (0x3130, 0x318F))
HAN_WEIGHT = 3
"""A Chinese character (or a Japanese kanji) is one syllable, about as long to say as three letters."""
SYLLABLE_WEIGHT = 2
"""A kana or a Hangul syllable block: about two letters' worth."""


def _char_class(ranges: tuple[tuple[int, int], ...]) -> re.Pattern:
    return re.compile("[" + "".join(f"{chr(low)}-{chr(high)}" for low, high in ranges) + "]")


_HAN_RE = _char_class(_HAN)
_SYLLABLES_RE = _char_class(_SYLLABLES)


def _in(code: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(low <= code <= high for low, high in ranges)


def is_wide(ch: str) -> bool:
    """A character of a script written without spaces between words (Chinese, Japanese)."""
    code = ord(ch)
    return _in(code, _HAN) or _in(code, ((0x3040, 0x30FF), (0x3000, 0x303F), (0xFF00, 0xFFEF)))


def spoken_length(text: str) -> int:
    """How long ``text`` is to say, in letters: a Chinese character counts `HAN_WEIGHT`, a kana or Hangul
    syllable `SYLLABLE_WEIGHT`, anything else one."""
    if text.isascii():  # the common case, and a book's planning time is mostly spent here otherwise
        return len(text)
    return (len(text) + (HAN_WEIGHT - 1) * len(_HAN_RE.findall(text))
            + (SYLLABLE_WEIGHT - 1) * len(_SYLLABLES_RE.findall(text)))


def _base(language: str | None) -> str:
    return re.split(r"[-_]", language or "en")[0].lower()


@lru_cache(maxsize=32)
def _segmenter(lang: str) -> pysbd.Segmenter:
    return pysbd.Segmenter(language=lang, clean=False)


def _tag_spans(norm: str) -> list[tuple[int, int]]:
    return [m.span() for m in PARALINGUISTIC_TAG_RE.finditer(norm)]


def _inside_tag(pos: int, spans: list[tuple[int, int]]) -> bool:
    return any(start < pos < end for start, end in spans)


def _pysbd_cuts(norm: str, lang: str) -> list[int] | None:
    """Positions just after each pysbd segment in ``norm``, or None when the segments don't line up."""
    try:
        # pysbd's segment() ends by locating each sentence with a regex made for it, a fresh compile per sentence
        # that also flushes Python's pattern cache for every other rule; the sentences are located here instead
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


def _fallback_cuts(norm: str) -> list[int]:
    return [m.end() for m in _FALLBACK_END_RE.finditer(norm)]


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


def _keep_cut(norm: str, cut: int, spans: list[tuple[int, int]], lang: str) -> bool:
    if not 0 < cut < len(norm) or _inside_tag(cut, spans):
        return False
    if norm[cut] != " ":
        # No space: only after 。！？ (Chinese, Japanese), so numbers and words are never split.
        return _WIDE_END_RE.search(norm, 0, cut) is not None and is_wide(norm[cut - 1])
    return not _joins(norm, cut, lang)


def sentence_spans(norm: str, language: str | None = None) -> list[tuple[int, int]]:
    """(start, end) of each sentence of the collapsed text ``norm``; between two, a single space or nothing."""
    if not norm:
        return []
    lang = _base(language)
    cuts = _pysbd_cuts(norm, lang) if lang in PYSBD_LANGUAGES else None
    if cuts is None:
        cuts = _fallback_cuts(norm)
    cuts += [m.end() for m in _WIDE_CUT_RE.finditer(norm)]  # 。！？ with no space after, in any language
    spans = _tag_spans(norm)
    found: list[tuple[int, int]] = []
    start = 0
    for cut in sorted(set(cuts)):
        if cut > start and _keep_cut(norm, cut, spans, lang):
            found.append((start, cut))
            start = cut + 1 if norm[cut] == " " else cut
    found.append((start, len(norm)))
    return found


def split_sentences(text: str, language: str | None = None) -> list[str]:
    """Split text into whitespace-collapsed sentences, by the rules of ``language`` (None: English)."""
    norm = collapse(text)
    return [norm[a:b] for a, b in sentence_spans(norm, language)]


def _pack(norm: str, spans: list[tuple[int, int]], max_chars: int) -> list[tuple[int, int]]:
    """Adjacent spans merged greedily while the merged text stays within ``max_chars`` (`spoken_length`)."""
    packed: list[tuple[int, int]] = []
    for start, end in spans:
        if packed and spoken_length(norm[packed[-1][0] : end]) <= max_chars:
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


def _word_cuts(norm: str, start: int, end: int) -> list[int]:
    """Where a sentence may be cut between words: at a space, or between two characters of a script written
    without spaces (never inside a tag, a number or a Latin word)."""
    spans = _tag_spans(norm)
    cuts = []
    for i in range(start + 1, end):
        if _inside_tag(i, spans):
            continue
        if norm[i] == " " or (norm[i - 1] != " " and (is_wide(norm[i - 1]) or is_wide(norm[i]))):
            cuts.append(i)
    return cuts


def _clause_cuts(norm: str, start: int, end: int) -> list[int]:
    """Where a sentence may be cut after clause punctuation: at the space after it, or right after a
    full-width comma (、，；：) where no space follows."""
    spans = _tag_spans(norm)
    cuts = []
    for i in range(start + 1, end):
        if norm[i] != " " and norm[i - 1] not in _WIDE_CLAUSE_MARKS and not is_wide(norm[i - 1]):
            continue
        if not _inside_tag(i, spans) and _CLAUSE_END_RE.search(norm[max(start, i - 4) : i]):
            cuts.append(i)
    return cuts


def _split_long(norm: str, start: int, end: int, max_chars: int) -> tuple[list[tuple[int, int]], bool]:
    if spoken_length(norm[start:end]) <= max_chars:
        return [(start, end)], False
    pieces: list[tuple[int, int]] = []
    group: list[tuple[int, int]] = []
    word_split = False
    for a, b in _cut_spans(norm, start, end, _clause_cuts(norm, start, end)):
        if spoken_length(norm[a:b]) <= max_chars:
            group.append((a, b))
            continue
        pieces += _pack(norm, group, max_chars)
        group = []
        words = _cut_spans(norm, a, b, _word_cuts(norm, a, b))
        pieces += _pack(norm, words, max_chars)
        word_split = word_split or len(words) > 1
    pieces += _pack(norm, group, max_chars)
    return pieces, word_split


def chunk_text_report(text: str, max_chars: int, language: str | None = None) -> tuple[list[str], int]:
    """Split text into sentences and pack them greedily into chunks of at most max_chars (an over-long sentence
    splits at clause punctuation, then between words); also return how many sentences had to be split between
    words. Lengths are `spoken_length`s."""
    if max_chars < 1:
        raise ValueError(f"max_chars must be positive, got {max_chars}")
    norm = collapse(text)
    pieces: list[tuple[int, int]] = []
    word_splits = 0
    for start, end in sentence_spans(norm, language):
        parts, word_split = _split_long(norm, start, end, max_chars)
        pieces += split_long_words(norm, parts, max_chars)
        word_splits += word_split
    return [norm[a:b] for a, b in _pack(norm, pieces, max_chars)], word_splits


_SOFT_BREAKS = "-/_.,;:\u2013\u2014"
"""Where an over-long word is cut by preference: just after one of these, in the second half of the bound."""


def split_long_words(norm: str, spans: list[tuple[int, int]], max_chars: int) -> list[tuple[int, int]]:
    """``spans`` of ``norm`` with every one still longer than ``max_chars`` (by then a single word: a URL, a line of
    text without spaces, a pasted blob) cut into parts that fit, after a hyphen, slash or punctuation mark where
    there is one, never inside a tag or before a combining mark. The model cannot read a chunk over its bound, and
    no text may be left out; `cbx_cli.plan.chunks` warns about such words."""
    tags = _tag_spans(norm)
    out: list[tuple[int, int]] = []
    for start, end in spans:
        while end - start > max_chars or spoken_length(norm[start:end]) > max_chars:
            limit = min(end, start + max_chars)
            while limit > start + 1 and spoken_length(norm[start:limit]) > max_chars:
                limit -= 1
            soft = max(norm.rfind(ch, start + (limit - start) // 2, limit) for ch in _SOFT_BREAKS)
            cut = soft + 1 if soft >= 0 else limit
            while cut > start + 1 and (_inside_tag(cut, tags) or unicodedata.combining(norm[cut])):
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
