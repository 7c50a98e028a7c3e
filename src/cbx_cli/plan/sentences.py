"""Split paragraph text into sentences and pack them into chunks of bounded length.

pysbd finds the sentence ends: it is rule-based (no model to load), deterministic, and handles quotes,
ellipses and numbers well. Its cuts are kept only at a space, outside tags, and not after the abbreviations of
`cbx_cli.plan.english`; where its segments do not line up with the text, a regex finds the ends instead.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import pysbd

from cbx_cli.parse.script import collapse
from cbx_cli.parse.tags import PARALINGUISTIC_TAG_RE
from cbx_cli.plan.english import ABBREVIATIONS

# Titles always belong to the following name; e.g./i.e. style markers always continue the sentence.
_ALWAYS_JOIN = frozenset(a.written for a in ABBREVIATIONS.values() if not a.may_end_sentence)
# These end a sentence only when the next word starts like a new sentence (not lowercase or a digit).
_JOIN_IF_CONTINUED = frozenset(a.written for a in ABBREVIATIONS.values() if a.may_end_sentence)

_FALLBACK_END_RE = re.compile(r"[.!?\u2026]+[\"'\u201d\u2019)\]]*(?= )")
_CLAUSE_END_RE = re.compile(r"[,;:\u2014\u2013][\"'\u201d\u2019)\]]*$")


@lru_cache(maxsize=1)
def _segmenter() -> pysbd.Segmenter:
    return pysbd.Segmenter(language="en", clean=False)


def _tag_spans(norm: str) -> list[tuple[int, int]]:
    return [m.span() for m in PARALINGUISTIC_TAG_RE.finditer(norm)]


def _inside_tag(pos: int, spans: list[tuple[int, int]]) -> bool:
    return any(start < pos < end for start, end in spans)


def _pysbd_cuts(norm: str) -> list[int] | None:
    """Positions just after each pysbd segment in ``norm``, or None when the segments don't line up."""
    try:
        segments = _segmenter().segment(norm)
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


def _keep_cut(norm: str, cut: int, spans: list[tuple[int, int]]) -> bool:
    # Only cuts at a space are kept, so numbers and other unspaced tokens are never split.
    if not 0 < cut < len(norm) or norm[cut] != " " or _inside_tag(cut, spans):
        return False
    space = norm.rfind(" ", 0, cut)
    last = norm[space + 1 : cut].lower()
    if last in _ALWAYS_JOIN:
        return False
    if last in _JOIN_IF_CONTINUED:
        first = norm[cut + 1]
        if first.islower() or first.isdigit():
            return False
        # "St." before a capitalised word is "Saint" unless a capitalised word precedes it ("Baker St.").
        prev = norm[norm.rfind(" ", 0, space) + 1 : space] if space >= 0 else ""
        if last == "st." and first.isupper() and not prev[:1].isupper():
            return False
    return True


def split_sentences(text: str) -> list[str]:
    """Split text into whitespace-collapsed sentences; their " ".join is the collapsed text."""
    norm = collapse(text)
    if not norm:
        return []
    cuts = _pysbd_cuts(norm)
    if cuts is None:
        cuts = _fallback_cuts(norm)
    spans = _tag_spans(norm)
    sentences: list[str] = []
    start = 0
    for cut in sorted(set(cuts)):
        if cut > start and _keep_cut(norm, cut, spans):
            sentences.append(norm[start:cut])
            start = cut + 1
    sentences.append(norm[start:])
    return sentences


def _split_at(norm: str, positions: list[int]) -> list[str]:
    pieces, start = [], 0
    for pos in positions:
        pieces.append(norm[start:pos])
        start = pos + 1
    pieces.append(norm[start:])
    return pieces


def _pack(pieces: list[str], max_chars: int) -> list[str]:
    packed: list[str] = []
    for piece in pieces:
        if packed and len(packed[-1]) + 1 + len(piece) <= max_chars:
            packed[-1] += " " + piece
        else:
            packed.append(piece)
    return packed


def _word_cuts(norm: str) -> list[int]:
    spans = _tag_spans(norm)
    return [i for i, ch in enumerate(norm) if ch == " " and not _inside_tag(i, spans)]


def _split_long(sentence: str, max_chars: int) -> tuple[list[str], bool]:
    norm = collapse(sentence)
    if len(norm) <= max_chars:
        return ([norm] if norm else []), False
    clause_cuts = [i for i in _word_cuts(norm) if _CLAUSE_END_RE.search(norm, 0, i)]
    pieces: list[str] = []
    group: list[str] = []
    word_split = False
    for clause in _split_at(norm, clause_cuts):
        if len(clause) <= max_chars:
            group.append(clause)
            continue
        pieces += _pack(group, max_chars)
        group = []
        words = _split_at(clause, _word_cuts(clause))
        pieces += _pack(words, max_chars)
        word_split = word_split or len(words) > 1
    pieces += _pack(group, max_chars)
    return pieces, word_split


def chunk_text_report(text: str, max_chars: int) -> tuple[list[str], int]:
    """Split text into sentences and pack them greedily into chunks of at most max_chars (an over-long sentence
    splits at clause punctuation, then between words); also return how many sentences had to be split between
    words."""
    if max_chars < 1:
        raise ValueError(f"max_chars must be positive, got {max_chars}")
    pieces: list[str] = []
    word_splits = 0
    for sentence in split_sentences(text):
        parts, word_split = _split_long(sentence, max_chars)
        pieces += split_long_words(parts, max_chars)
        word_splits += word_split
    return _pack(pieces, max_chars), word_splits



_SOFT_BREAKS = "-/_.,;:\u2013\u2014"
"""Where an over-long word is cut by preference: just after one of these, in the second half of the bound."""


def split_long_words(pieces: list[str], max_chars: int) -> list[str]:
    """``pieces`` with every one longer than ``max_chars`` (by then a single word: a URL, a line of text without
    spaces, a pasted blob) cut into parts that fit, after a hyphen, slash or punctuation mark where there is one,
    never inside a tag or before a combining mark. The model cannot read a chunk over its bound, and no text may be
    left out; `cbx_cli.plan.chunks` warns about such words."""
    out: list[str] = []
    for piece in pieces:
        spans = _tag_spans(piece)
        start = 0
        while len(piece) - start > max_chars:
            end = start + max_chars
            soft = max(piece.rfind(ch, start + max_chars // 2, end) for ch in _SOFT_BREAKS)
            cut = soft + 1 if soft >= 0 else end
            while cut > start + 1 and (_inside_tag(cut, spans) or unicodedata.combining(piece[cut])):
                cut -= 1
            cut = end if cut <= start + 1 else cut
            out.append(piece[start:cut])
            start = cut
        out.append(piece[start:])
    return out
