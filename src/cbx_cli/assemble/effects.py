"""Post-assembly effects: speaking rate (pitch kept), a plain gain, chunk spans kept true after a speed change, and
the output's sample rate.

Time-stretching uses ``audiotsm``'s WSOLA (waveform-similarity overlap-add): each output frame is the input frame,
shifted by up to half a frame, that best continues the waveform already written. It keeps pitch and formants, has no
phasiness on speech (unlike a phase vocoder), and is pure Python on NumPy (MIT licence, no system libraries).
"""

from __future__ import annotations

import numpy as np

FRAME_MS = 40.0
"""WSOLA frame length: two or more pitch periods of the lowest voices (70 Hz) yet short next to a phoneme."""


def stretched_length(n: int, factor: float) -> int:
    """The number of samples ``n`` samples become at speed ``factor``."""
    return int(round(n / factor))


def change_speed(audio: np.ndarray, sr: int, factor: float) -> np.ndarray:
    """Play ``audio`` ``factor`` times as fast (0.5–2.0) with its pitch kept; 1.0 returns ``audio`` itself.

    The result has exactly ``round(len(audio) / factor)`` samples, so every time ``t`` in the input sits at
    ``t / factor`` in the output (see :func:`scale_spans`). Mono ``(n,)`` or multichannel ``(n, channels)``.
    """
    if factor == 1.0:
        return audio
    from audiotsm.io.array import ArrayReader, ArrayWriter

    src = np.asarray(audio, dtype=np.float32)
    mono = src.ndim == 1
    frames = src[:, None] if mono else src  # (n, channels)
    n, channels = frames.shape
    target = stretched_length(n, factor)
    if n == 0 or target == 0:
        return np.zeros((target,) if mono else (target, channels), dtype=np.float32)

    tsm = _wsola(sr, factor, channels)
    reader = ArrayReader(np.ascontiguousarray(frames.T, dtype=np.float64))
    writer = ArrayWriter(channels)
    tsm.run(reader, writer)
    out = writer.data.T.astype(np.float32)  # (m, channels)

    # The hop ratio is rounded to whole samples; fit the result to the exact length (trim or pad the tail).
    if len(out) >= target:
        out = out[:target]
    else:
        out = np.concatenate([out, np.zeros((target - len(out), channels), dtype=np.float32)])
    return np.ascontiguousarray(out[:, 0] if mono else out)


def _wsola(sr: int, factor: float, channels: int):
    """audiotsm's WSOLA for speed ``factor`` at ``sr``: frames of `FRAME_MS`, half a frame apart in the output."""
    from audiotsm import wsola

    frame_length = max(64, 2 * int(round(sr * FRAME_MS / 1000 / 2)))
    synthesis_hop = frame_length // 2
    analysis_hop = max(1, int(round(synthesis_hop * factor)))
    return wsola(channels, frame_length=frame_length, analysis_hop=analysis_hop, synthesis_hop=synthesis_hop)


class SpeedStream:
    """`change_speed` for a signal that arrives in pieces (mono): `push` each piece as it comes, with ``last`` on
    the signal's last; one WSOLA runs across the pieces, so a piece's edges are not restarted, and the pieces'
    output adds up to exactly ``stretched_length`` of their total, as `change_speed` gives for the whole. The
    output lags the input by up to a frame, which the last piece hands out. A new signal may follow the last."""

    def __init__(self, sr: int, factor: float):
        self.sr = sr
        self.factor = factor
        self._tsm = None
        self._taken = 0
        self._given = 0

    def push(self, audio: np.ndarray, last: bool = False) -> np.ndarray:
        audio = np.asarray(audio, dtype=np.float32)
        if self.factor == 1.0:
            return audio
        from audiotsm.io.array import ArrayReader, ArrayWriter

        if self._tsm is None:
            self._tsm = _wsola(self.sr, self.factor, 1)
        writer = ArrayWriter(1)
        if audio.size:
            self._tsm.run(ArrayReader(np.ascontiguousarray(audio[None], dtype=np.float64)), writer, flush=False)
        self._taken += audio.size
        if last:
            finished = False
            while not finished:
                _, finished = self._tsm.flush_to(writer)
        out = writer.data[0].astype(np.float32)
        target = stretched_length(self._taken, self.factor)
        out = out[: max(0, target - self._given)]  # never past the whole's length
        if last:
            out = np.concatenate([out, np.zeros(target - self._given - len(out), dtype=np.float32)])
            self._tsm, self._taken, self._given = None, 0, 0
        else:
            self._given += len(out)
        return out


def apply_volume(audio: np.ndarray, db: float) -> np.ndarray:
    """Gain ``audio`` by ``db`` decibels (+6.02 dB doubles the amplitude). Nothing is clipped or limited here:
    apply it before loudness normalization and peak limiting, or clip when encoding."""
    if db == 0:
        return audio
    return (np.asarray(audio, dtype=np.float32) * np.float32(10.0 ** (db / 20.0))).astype(np.float32)


def scale_spans(spans: list[tuple[float, float]], factor: float) -> list[tuple[float, float]]:
    """Chunk spans (seconds) after :func:`change_speed` by ``factor``: each time divided by the factor."""
    if factor == 1.0:
        return list(spans)
    return [(start / factor, end / factor) for start, end in spans]


def resample(audio: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """``audio`` at ``sr_out`` (soxr, high quality); unchanged when the rates are equal."""
    if sr_in == sr_out:
        return audio
    import soxr

    return soxr.resample(audio.astype(np.float32), sr_in, sr_out, quality="HQ").astype(np.float32)
