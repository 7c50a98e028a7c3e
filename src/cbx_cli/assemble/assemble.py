"""Takes → one program: trim each take's silence, join with pauses and short fades, keep each chunk's span."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TRIM_THRESHOLD_DB = -45.0
"""A frame quieter than this, relative to the take's peak, counts as silence at the edges."""
FRAME_MS = 10.0
KEEP_MS = 40.0
"""Speech onsets and tails are soft: keep this much around the loud part."""


@dataclass
class Program:
    """The assembled audio and where each chunk sits in it."""

    audio: np.ndarray
    sample_rate: int
    spans: list[tuple[float, float]]
    """(start, end) in seconds of each chunk's take, in chunk order."""

    @property
    def duration(self) -> float:
        return len(self.audio) / self.sample_rate


def trim_silence(audio: np.ndarray, sr: int, threshold_db: float = TRIM_THRESHOLD_DB) -> np.ndarray:
    """Cut leading and trailing silence; an all-silent take becomes empty."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.size == 0:
        return audio
    peak = float(np.max(np.abs(audio)))
    if peak <= 1e-6:
        return audio[:0]
    frame = max(1, int(sr * FRAME_MS / 1000))
    n = len(audio) // frame
    if n == 0:
        return audio
    frames = audio[: n * frame].reshape(n, frame)
    level = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1))
    loud = np.nonzero(level > peak * 10 ** (threshold_db / 20))[0]
    if loud.size == 0:
        return audio[:0]
    keep = int(sr * KEEP_MS / 1000)
    start = max(0, loud[0] * frame - keep)
    end = min(len(audio), (loud[-1] + 1) * frame + keep)
    return audio[start:end]


def fade_edges(audio: np.ndarray, n: int) -> np.ndarray:
    """Raised-cosine fade in and out over ``n`` samples, so joins never click."""
    audio = np.array(audio, dtype=np.float32, copy=True)
    n = min(n, len(audio) // 2)
    if n > 0:
        ramp = (0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, n, dtype=np.float64))).astype(np.float32)
        audio[:n] *= ramp
        audio[-n:] *= ramp[::-1]
    return audio


def assemble(takes: list[np.ndarray], pauses: list[float], sr: int, crossfade_ms: float = 10.0) -> Program:
    """Join takes in order. A pause shorter than the fade becomes an overlap (crossfade) of the two takes."""
    if len(takes) != len(pauses):
        raise ValueError("one pause per take")
    fade = int(sr * crossfade_ms / 1000)
    pieces: list[tuple[int, np.ndarray]] = []
    spans_samples: list[tuple[int, int]] = []
    cursor = 0
    for i, (take, pause) in enumerate(zip(takes, pauses, strict=True)):
        clip = fade_edges(trim_silence(take, sr), fade)
        start = cursor
        pieces.append((start, clip))
        spans_samples.append((start, start + len(clip)))
        gap = int(round(pause * sr))
        if i < len(takes) - 1 and gap < fade:
            gap = -min(fade, len(clip) // 2)  # overlap the faded edges: a crossfade
        cursor = max(start, start + len(clip) + gap)
    total = max([s + len(c) for s, c in pieces], default=0)
    total = max(total, cursor)
    out = np.zeros(total, dtype=np.float32)
    for start, clip in pieces:
        out[start : start + len(clip)] += clip
    spans = [(a / sr, b / sr) for a, b in spans_samples]
    return Program(out, sr, spans)
