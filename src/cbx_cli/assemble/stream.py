"""Pieces of takes → the finished stream, a piece at a time: what `program.finish` does to a whole program, done so
that no piece waits for the next.

Loudness cannot be measured before the audio is heard, so a stream gets one fixed gain per voice (from what the
voice's reference sounds like through the model, `Engine.voice_sample`, measured against the preset's target) and
the peak limiter on every piece: the level does not pump from piece to piece. Speed runs one WSOLA across a take's
pieces (`SpeedStream`), so no piece's edge is restarted and a take comes out as long as a whole one would; the
output rate goes through one soxr stream, so pieces join without a seam. Pauses between takes are silence after a
take's last piece; takes are not trimmed or crossfaded (a take's end is not known while its start plays).
"""

from __future__ import annotations

import math

import numpy as np

from cbx_cli.assemble.effects import SpeedStream, apply_volume
from cbx_cli.assemble.loudness import db_to_gain, integrated_loudness, limit_peaks
from cbx_cli.config.params import AssemblySettings

MAX_GAIN_DB = 30.0
"""The most a voice's fixed gain lifts (a near-silent reference would otherwise ask for any amount)."""


def fixed_gain_db(sample: np.ndarray | None, sr: int, target_lufs: float) -> float:
    """The gain that brings ``sample`` (a voice as the model renders it) to ``target_lufs``; 0 where there is
    nothing to measure."""
    if sample is None:
        return 0.0
    loudness = integrated_loudness(sample, sr)
    if not math.isfinite(loudness):
        return 0.0
    return max(-MAX_GAIN_DB, min(MAX_GAIN_DB, target_lufs - loudness))


class StreamFinisher:
    """One stream's pieces finished as they come: `piece` takes a take's samples (at ``sr``), a gain, and whether
    they end the take; `pause` adds silence; `end` gives what the resampler still holds. Every call returns float32
    mono at the output rate."""

    def __init__(self, sr: int, settings: AssemblySettings, *, speed: float = 1.0, volume: float = 0.0,
                 sample_rate: int | None = None):
        self.sr = sr
        self.out_rate = sample_rate or sr
        self.settings = settings
        self.speed = speed
        self._speed = SpeedStream(sr, speed)
        self.volume = volume
        self._resampler = None
        if self.out_rate != sr:
            import soxr

            self._resampler = soxr.ResampleStream(sr, self.out_rate, 1, dtype="float32", quality="HQ")

    def piece(self, audio: np.ndarray, gain_db: float, last: bool = False) -> np.ndarray:
        audio = self._speed.push(audio, last)
        audio = limit_peaks(audio.astype(np.float64) * db_to_gain(gain_db), self.sr, self.settings.peak)
        return self._out(apply_volume(audio, self.volume))

    def pause(self, seconds: float) -> np.ndarray:
        return self._out(np.zeros(int(round(seconds / self.speed * self.sr)), dtype=np.float32))

    def end(self) -> np.ndarray:
        if self._resampler is None:
            return np.zeros(0, dtype=np.float32)
        return self._resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True).astype(np.float32)

    def _out(self, audio: np.ndarray) -> np.ndarray:
        audio = np.asarray(audio, dtype=np.float32)
        if self._resampler is None:
            return audio
        return self._resampler.resample_chunk(audio, last=False).astype(np.float32)
