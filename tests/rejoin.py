"""Checks that chunks are exactly a text: joined back with single spaces, or with none where a word over the chunk
bound was cut (cbx_cli.plan.sentences.split_long_words)."""

from __future__ import annotations


def rejoins(pieces: list[str], text: str) -> bool:
    """Whether ``text`` is ``pieces`` in order, each followed by one space or by nothing (a cut inside a word)."""
    pos = 0
    for i, piece in enumerate(pieces):
        if i and text.startswith(" ", pos):
            pos += 1
        if not piece or not text.startswith(piece, pos):
            return False
        pos += len(piece)
    return pos == len(text)
