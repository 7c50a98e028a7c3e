"""Takes → the finished program: assembled with pauses, sped up or slowed down, loudness-normalized, at its rate; and
where its chapters begin and end."""

from __future__ import annotations

import numpy as np

from cbx_cli.assemble.assemble import assemble
from cbx_cli.assemble.effects import apply_volume, change_speed, resample, scale_spans
from cbx_cli.assemble.loudness import normalize
from cbx_cli.config.params import AssemblySettings


def finish(
    takes: list[np.ndarray],
    pauses: list[float],
    sr: int,
    settings: AssemblySettings,
    *,
    speed: float = 1.0,
    volume: float = 0.0,
    sample_rate: int | None = None,
) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """The program's audio at ``sample_rate`` (default ``sr``) and each take's (start, end) in it, in seconds.

    In this order: trim and join with pauses and crossfades, change speed (spans follow), normalize loudness and
    limit peaks over the whole program, apply the volume gain, resample.
    """
    program = assemble(takes, pauses, sr, settings.crossfade_ms)
    audio, spans = program.audio, program.spans
    if speed != 1.0:
        audio = change_speed(audio, sr, speed)
        spans = scale_spans(spans, speed)
    audio = normalize(audio, sr, settings.loudness, settings.peak, settings.rms_range)
    if volume:
        audio = apply_volume(audio, volume)
    return resample(audio, sr, sample_rate or sr), spans


def chapters_from_spans(
    spans: list[tuple[float, float]],
    chapter_of: list[int],
    titles: list[str | None],
    duration: float,
) -> list[tuple[float, float, str]]:
    """Chapter marks from chunk spans: chapter ``k`` runs from its first chunk's start (0 for the first chapter)
    to the next chapter's start (the end of the program for the last). Untitled chapters are "Chapter N"."""
    firsts: dict[int, float] = {}
    for (start, _end), ch in zip(spans, chapter_of, strict=True):
        firsts.setdefault(ch, start)
    order = sorted(firsts, key=lambda ch: firsts[ch])
    marks = []
    for i, ch in enumerate(order):
        start = 0.0 if i == 0 else firsts[ch]
        end = firsts[order[i + 1]] if i + 1 < len(order) else duration
        name = titles[ch] if ch < len(titles) and titles[ch] else f"Chapter {ch + 1}"
        marks.append((start, end, name))
    return marks
