"""Loudness in one place: measure the stitched program, gain it to target, hold peaks under the ceiling."""

from __future__ import annotations

import logging
import math

import numpy as np

log = logging.getLogger(__name__)

MIN_MEASURE_SECONDS = 0.4
"""pyloudnorm's gating needs at least one 400 ms block."""
LIMITER_LOOKAHEAD_MS = 5.0
NORMALIZE_PASSES = 3


def db_to_gain(db: float) -> float:
    return 10.0 ** (db / 20.0)


def integrated_loudness(audio: np.ndarray, sr: int) -> float:
    """ITU-R BS.1770 integrated loudness in LUFS; -inf for silence. Short audio is measured looped."""
    import pyloudnorm

    audio = np.asarray(audio, dtype=np.float64)
    if audio.size == 0 or not np.any(audio):
        return -math.inf
    need = int(math.ceil(MIN_MEASURE_SECONDS * sr)) + 1
    if audio.size < need:
        audio = np.tile(audio, need // audio.size + 1)
    value = pyloudnorm.Meter(sr).integrated_loudness(audio)
    return float(value)


def peak_dbfs(audio: np.ndarray) -> float:
    peak = float(np.max(np.abs(audio))) if np.size(audio) else 0.0
    return 20 * math.log10(peak) if peak > 0 else -math.inf


def limit_peaks(audio: np.ndarray, sr: int, ceiling_db: float) -> np.ndarray:
    """A look-ahead peak limiter: smooth gain reduction that keeps every sample at or under the ceiling."""
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    audio = np.asarray(audio, dtype=np.float64)
    ceiling = db_to_gain(ceiling_db)
    mag = np.abs(audio)
    if mag.size == 0 or mag.max() <= ceiling:
        return audio.astype(np.float32)
    need = np.minimum(1.0, ceiling / np.maximum(mag, 1e-12))
    w = max(1, int(sr * LIMITER_LOOKAHEAD_MS / 1000))
    # The mean over 2w+1 samples of a minimum over 2w+1 samples stays at or below `need` everywhere:
    # every value averaged is a minimum over a window that contains the centre sample.
    held = minimum_filter1d(need, size=2 * w + 1, mode="nearest")
    gain = np.minimum(uniform_filter1d(held, size=2 * w + 1, mode="nearest"), need)
    out = audio * gain
    return np.clip(out, -ceiling, ceiling).astype(np.float32)


def rms_dbfs(audio: np.ndarray) -> float:
    """Plain RMS of the whole signal in dBFS (what ACX measures), pauses included."""
    audio = np.asarray(audio, dtype=np.float64)
    rms = float(np.sqrt(np.mean(audio**2))) if audio.size else 0.0
    return 20 * math.log10(rms) if rms > 0 else -math.inf


def normalize(
    audio: np.ndarray,
    sr: int,
    target_lufs: float,
    ceiling_db: float,
    rms_range: tuple[float, float] | None = None,
) -> np.ndarray:
    """Gain the whole program to ``target_lufs``, then limit peaks to ``ceiling_db``. Silence stays silence.

    With ``rms_range`` (ACX's -23 to -18 dB for audiobooks), the gain is then moved, as little as possible, to
    bring the whole file's RMS into that range: RMS counts the pauses that integrated loudness gates out. The
    loudness stays within -3/+2 LU of its target all the same; where both cannot be met (a file that is mostly
    pauses), the gain goes as far toward the RMS range as that allows.
    """
    loudness = integrated_loudness(audio, sr)
    if not math.isfinite(loudness):
        log.info("program is silent; loudness normalization skipped")
        return np.asarray(audio, dtype=np.float32)
    source = np.asarray(audio, dtype=np.float64)
    gain_db = target_lufs - loudness
    out = _gain_and_limit(source, sr, gain_db, target_lufs, ceiling_db)
    if rms_range is None:
        return out
    low, high = rms_range[0] + 0.3, rms_range[1] - 0.3
    rms = rms_dbfs(out)
    if low <= rms <= high:
        return out
    lufs = integrated_loudness(out, sr)
    allowed = (target_lufs - 3.0 + 0.3 - lufs, target_lufs + 2.0 - 0.3 - lufs)  # extra gain keeping LUFS in range
    wanted = (low - rms, high - rms)  # extra gain putting RMS in range
    lo, hi = max(allowed[0], wanted[0]), min(allowed[1], wanted[1])
    extra = (lo if rms < low else hi) if lo <= hi else (allowed[1] if rms < low else allowed[0])
    return _gain_and_limit(source, sr, gain_db + extra, lufs + extra, ceiling_db)


def _gain_and_limit(source: np.ndarray, sr: int, gain_db: float, target: float, ceiling_db: float) -> np.ndarray:
    out = source
    for _ in range(NORMALIZE_PASSES):
        # Limiting lowers the loudness a little; measure again and make up the difference.
        out = limit_peaks(source * db_to_gain(gain_db), sr, ceiling_db)
        miss = target - integrated_loudness(out, sr)
        if not math.isfinite(miss) or abs(miss) < 0.1:
            break
        gain_db += miss
    return out
