"""Takes → the finished program: assembled with pauses, sped up or slowed down, loudness-normalized, at its rate."""

from __future__ import annotations

import numpy as np

from cbx_cli.assemble.assemble import assemble
from cbx_cli.assemble.effects import apply_volume, change_speed, scale_spans
from cbx_cli.assemble.loudness import normalize
from cbx_cli.config.params import AssemblySettings
from cbx_cli.deliver.export import resample


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
