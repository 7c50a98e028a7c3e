"""ACX (Audible) audio requirements, measured on a finished file.

ACX asks for, per file:

* RMS between -23 and -18 dB: the plain (unweighted) RMS of every sample of the whole file, in dBFS, as Audacity's
  ACX Check measures it (a full-scale sine reads -3 dB).
* Peak at most -3 dB: the largest sample magnitude, in dBFS.
* Noise floor at most -60 dB. Measured here as the RMS of the quietest 500 ms of the file, gathered from its
  quietest 50 ms windows (the ten 50 ms windows with the lowest RMS, wherever they are, pooled). Where the file has a
  stretch of 500 ms of room tone this is the quietest 500 ms window, as ACX's own check takes it; pooling short
  windows also finds the floor in the 250-400 ms pauses between sentences, which a single 500 ms window would miss
  (it would straddle speech).

cbx's pauses are digital silence, so its own output reads a noise floor of -inf dB; that is reported as
"-inf dB (digital silence)" and passes. ACX's reviewers accept it, though some prefer a little room tone in the
pauses, since pure digital silence between sentences can sound like the audio dropped out.

Any format libsndfile reads (WAV, FLAC, MP3, Ogg) is decoded directly; .m4b/.m4a/.opus (and anything else
libsndfile rejects) are decoded to WAV by ffmpeg first.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cbx_cli.errors import InputError

RMS_MIN_DB = -23.0
RMS_MAX_DB = -18.0
PEAK_MAX_DB = -3.0
NOISE_MAX_DB = -60.0
NOISE_WINDOW_S = 0.05
NOISE_TOTAL_S = 0.5

FFMPEG_DECODED = {"m4b", "m4a", "opus", "aac", "mp4"}


@dataclass
class Requirement:
    name: str
    value: float
    """The measurement in dB (may be -inf)."""
    limit: str
    """The requirement as text, e.g. "-23 to -18 dB"."""
    passed: bool
    note: str = ""
    """A word on the value, e.g. "digital silence"."""

    @property
    def number_text(self) -> str:
        return f"{self.value:.1f} dB" if math.isfinite(self.value) else f"{'-' if self.value < 0 else ''}inf dB"

    @property
    def value_text(self) -> str:
        """E.g. "-20.1 dB" or "-inf dB (digital silence)"."""
        return f"{self.number_text} ({self.note})" if self.note else self.number_text


def _db(x: float) -> float:
    return 20.0 * math.log10(x) if x > 0 else -math.inf


def _decode_ffmpeg(path: Path) -> tuple[np.ndarray, int]:
    import soundfile as sf

    exe = shutil.which("ffmpeg")
    if exe is None:
        raise InputError(
            "ffmpeg is not installed; it is needed to read .m4b/.m4a/.opus. Install it (apt install ffmpeg, "
            "brew install ffmpeg) or check a .wav/.flac/.mp3/.ogg file."
        )
    with tempfile.TemporaryDirectory(prefix="cbx-check-") as work:
        wav = Path(work) / "decoded.wav"
        cmd = [exe, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(path),
               "-map", "0:a:0", "-c:a", "pcm_f32le", "-f", "wav", str(wav)]
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
        if proc.returncode != 0:
            lines = [ln.strip() for ln in proc.stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
            raise InputError(f"Cannot decode '{path}' with ffmpeg: {lines[-1] if lines else 'no message'}")
        audio, sr = sf.read(str(wav), dtype="float64", always_2d=True)
    return audio, sr


def read_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """All samples of ``path`` as float64 ``(n, channels)`` and the sample rate."""
    import soundfile as sf

    from cbx_cli.files import FileProblem, stat_regular

    path = Path(path)
    try:
        stat_regular(path)
    except FileProblem as problem:
        reason = "does not exist" if problem.missing else str(problem)
        raise InputError(f"Audio file '{path}' {reason}. Give the path of a file cbx wrote.") from None
    if path.suffix.lower().lstrip(".") in FFMPEG_DECODED:
        return _decode_ffmpeg(path)
    try:
        audio, sr = sf.read(str(path), dtype="float64", always_2d=True)
    except (RuntimeError, sf.LibsndfileError):
        return _decode_ffmpeg(path)
    return audio, sr


def noise_floor_db(audio: np.ndarray, sr: int) -> float:
    """RMS in dB of the quietest ``NOISE_TOTAL_S`` of ``audio``, pooled from its quietest 50 ms windows."""
    samples = np.asarray(audio, dtype=np.float64)
    if samples.ndim == 1:
        samples = samples[:, None]
    win = max(1, int(round(sr * NOISE_WINDOW_S)))
    n = samples.shape[0] // win
    if n == 0:
        return _db(math.sqrt(float(np.mean(samples**2)))) if samples.size else -math.inf
    power = np.mean(samples[: n * win].reshape(n, win * samples.shape[1]) ** 2, axis=1)
    count = min(n, max(1, int(round(NOISE_TOTAL_S / NOISE_WINDOW_S))))
    quietest = np.partition(power, count - 1)[:count]
    return _db(math.sqrt(float(np.mean(quietest))))


def measure(audio: np.ndarray, sr: int) -> list[Requirement]:
    """The three ACX requirements for ``audio`` (float samples, mono or ``(n, channels)``)."""
    samples = np.asarray(audio, dtype=np.float64)
    if samples.size == 0:
        raise InputError("The audio file has no samples; there is nothing to check.")
    rms = _db(math.sqrt(float(np.mean(samples**2))))
    peak = _db(float(np.max(np.abs(samples))))
    noise = noise_floor_db(samples, sr)
    return [
        Requirement("RMS", rms, f"{RMS_MIN_DB:.0f} to {RMS_MAX_DB:.0f} dB", RMS_MIN_DB <= rms <= RMS_MAX_DB),
        Requirement("Peak", peak, f"at most {PEAK_MAX_DB:.0f} dB", peak <= PEAK_MAX_DB),
        Requirement(
            "Noise floor",
            noise,
            f"at most {NOISE_MAX_DB:.0f} dB",
            noise <= NOISE_MAX_DB,
            "digital silence" if noise == -math.inf else "",
        ),
    ]


def acx_check(path: Path) -> list[Requirement]:
    """Measure the file at ``path`` against ACX's RMS, peak and noise-floor requirements."""
    audio, sr = read_audio(path)
    if audio.size == 0:
        raise InputError(f"Audio file '{path}' has no samples; there is nothing to check.")
    bad = int(np.count_nonzero(~np.isfinite(audio)))
    if bad:
        raise InputError(f"Audio file '{path}' has {bad:,} sample(s) that are not numbers (NaN or infinite): it is "
                         "damaged and fails every check. Export or render it again.")
    return measure(audio, sr)


def format_requirements(reqs: list[Requirement]) -> list[str]:
    """One aligned line per requirement: name, value, (limit), pass or FAIL."""
    name_w = max((len(r.name) for r in reqs), default=0)
    number_w = max((len(r.number_text) for r in reqs), default=0)
    values = [f"{r.number_text:>{number_w}}" + (f" ({r.note})" if r.note else "") for r in reqs]
    value_w = max((len(v) for v in values), default=0)
    limit_w = max((len(r.limit) for r in reqs), default=0) + 2
    return [
        f"{r.name:<{name_w}}  {v:<{value_w}}   {'(' + r.limit + ')':<{limit_w}}   {'pass' if r.passed else 'FAIL'}"
        for r, v in zip(reqs, values, strict=True)
    ]
