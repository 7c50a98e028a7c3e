"""Cutting a take's tail: what it says after the text's last word (babble, breaths, noise) goes, with a short fade.

The cut is placed after the end of the last transcript word that lines up with a word of the text, plus a margin
for the word timestamps' imprecision and the word's own decay; nothing the text has is cut. A tail shorter than
`MIN_TAIL` is left alone: assembly trims silence anyway, and there is nothing to gain.
"""

from __future__ import annotations

import numpy as np

MARGIN = 0.25
"""Seconds kept after the last expected word's end: Whisper's word ends can come early by a syllable."""
FADE = 0.05
"""Seconds of fade-out that end at the cut."""
MIN_TAIL = 0.3
"""Tails shorter than this (seconds) are kept."""


def cut_point(audio_seconds: float, last_word_end: float | None) -> float | None:
    """Where to cut a take (seconds), or None to keep it whole."""
    if last_word_end is None:
        return None
    cut = last_word_end + MARGIN
    return cut if audio_seconds - cut >= MIN_TAIL else None


def trim_tail(audio: np.ndarray, sample_rate: int, cut: float) -> np.ndarray:
    """``audio`` up to ``cut`` seconds, its last `FADE` seconds faded out."""
    end = min(len(audio), int(round(cut * sample_rate)))
    out = np.array(audio[:end], dtype=np.float32)
    fade = min(end, int(FADE * sample_rate))
    if fade:
        out[end - fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return out
