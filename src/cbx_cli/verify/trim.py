"""Cutting a take's tail: what it says after the text's last word (babble, breaths, noise) goes, with a short fade.

The cut goes after the end of the recognizer's word that the text's last heard word came from
(`cbx_cli.verify.align.Alignment.last_source`). The recognizer's word times are rough: an end can come a syllable
early, and the next word's start far too early, so the cut is placed by the audio itself: at the first pause that
begins after that end, within `LATE` of it or before the end of the next word heard (a tail the recognizer wrote
down). With no pause there it goes `MARGIN` after the end, or, before a heard word, at the quietest moment before that
word ends. A tail shorter than `MIN_TAIL` is left alone: assembly trims silence anyway, and there is nothing to gain.
"""

from __future__ import annotations

import numpy as np

MARGIN = 0.25
"""Seconds kept after the last expected word's end where no pause follows it."""
LATE = 0.6
"""Seconds after the last expected word's end (by the recognizer's times) that its sound may still go on."""
FADE = 0.05
"""Seconds of fade-out that end at the cut."""
MIN_TAIL = 0.3
"""Tails shorter than this (seconds) are kept."""
FRAME = 0.01
"""Seconds of audio per loudness frame."""
QUIET_DB = 40.0
"""A frame this many dB below the take's loudest is quiet."""
PAUSE = 0.06
"""Seconds of quiet frames in a row that make a pause between words (longer than a consonant's closure)."""


def _loudness(audio: np.ndarray, sample_rate: int) -> tuple[np.ndarray, float]:
    """Each `FRAME` of ``audio`` in dB, and the frames' length in seconds."""
    size = max(1, int(FRAME * sample_rate))
    count = len(audio) // size
    frames = np.asarray(audio[: count * size], np.float64).reshape(count, size)
    return 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12), size / sample_rate


def _first_pause(quiet: np.ndarray, first: int, last: int, frames: int) -> tuple[int, int] | None:
    """(start, end) frames of the first run of at least ``frames`` quiet frames that starts in [first, last)."""
    k = first
    while k < min(last, len(quiet)):
        if not quiet[k]:
            k += 1
            continue
        end = k
        while end < len(quiet) and quiet[end]:
            end += 1
        if end - k >= frames:
            return k, end
        k = end
    return None


def cut_point(audio: np.ndarray, sample_rate: int, last_end: float,
              next_word: tuple[float, float] | None = None) -> float | None:
    """Where to cut a take (seconds) whose last expected word ends at ``last_end`` by the recognizer's times and is
    followed by ``next_word`` (start, end) when the recognizer heard one; None to keep it whole."""
    seconds = len(audio) / sample_rate
    db, step = _loudness(audio, sample_rate)
    if len(db) == 0:
        return None
    quiet = db < db.max() - QUIET_DB
    first = int(last_end / step)
    limit = max(last_end + LATE, next_word[1]) if next_word else last_end + LATE
    pause = _first_pause(quiet, first, int(np.ceil(limit / step)), int(round(PAUSE / step)))
    until = min(len(db), int(np.ceil(next_word[1] / step))) if next_word else 0  # the next word's end
    if pause:
        cut = min(pause[0] * step + FADE, pause[1] * step)
    elif until > first:
        cut = (first + int(np.argmin(db[first:until])) + 0.5) * step
    else:
        cut = last_end + MARGIN
    return cut if seconds - cut >= MIN_TAIL else None


def trim_tail(audio: np.ndarray, sample_rate: int, cut: float) -> np.ndarray:
    """``audio`` up to ``cut`` seconds, its last `FADE` seconds faded out."""
    end = min(len(audio), int(round(cut * sample_rate)))
    out = np.array(audio[:end], dtype=np.float32)
    fade = min(end, int(FADE * sample_rate))
    if fade:
        out[end - fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return out
