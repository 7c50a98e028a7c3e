"""Checks on a reference recording before a model sees it: decodable, long enough, not silent."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import numpy as np

from cbx_cli.errors import VoiceError

MIN_SECONDS = {"original": 1.0, "multilingual": 1.0, "turbo": 5.0}
SILENCE_DBFS = -60.0
MAX_PEAK = 64.0
"""Float recordings may go a little past full scale; a peak 36 dB over it is a broken file, not a voice."""


BEST_SECONDS = (5.0, 15.0)
"""The length of clean speech Chatterbox copies a voice from best."""
USED_SECONDS = 10.0
"""What chatterbox-tts 0.1.7's `prepare_conditionals` keeps of a longer recording (`DEC_COND_LEN`: its start)."""


def length_advice(seconds: float, label: str) -> str | None:
    """One warning, with its reason, for a recording outside 5-15 s (usable, but not what works best); None inside."""
    low, high = BEST_SECONDS
    if seconds < low:
        return (f"{label} is {seconds:.1f} s long: Chatterbox copies a voice best from {low:.0f}-{high:.0f} s of clean "
                "speech, and a clip this short gives it little of the voice to copy.")
    if seconds > high:
        return (f"{label} is {seconds:.1f} s long: Chatterbox copies a voice from {low:.0f}-{high:.0f} s of clean "
                f"speech and uses only the first {USED_SECONDS:.0f} s of a longer clip; cut the part you want.")
    return None


def recording_seconds(path: Path) -> float:
    """A checked recording's length, from its header."""
    import soundfile as sf

    info = sf.info(str(path))
    return info.frames / float(info.samplerate) if info.samplerate else 0.0


class _NotAudio(VoiceError):
    """The file cannot be decoded as audio (as opposed to too short or silent)."""


def check_voice(path: Path, model: str = "original") -> float:
    """Fail with one clear line unless ``path`` is decodable, non-silent audio of usable length.

    Returns its duration in seconds.
    """
    if not path.exists():
        raise VoiceError(f"Voice file '{path}' does not exist. Pass a WAV/FLAC/MP3 recording with --voice.")
    if not path.is_file():
        raise VoiceError(f"Voice '{path}' is not a file. Pass an audio recording with --voice.")
    return check_audio(path, model, f"Voice file '{path}'")


def check_audio(source: Path | BinaryIO, model: str, label: str) -> float:
    """Decode ``source`` (a file, or bytes in memory) and check its samples, length and level; ``label`` starts
    every message ("Voice file 'x'")."""
    import soundfile as sf

    try:
        audio, sr = sf.read(str(source) if isinstance(source, Path) else source, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError, ValueError):
        raise _NotAudio(f"{label} is not readable audio. Use a WAV, FLAC, OGG or MP3 recording.") from None
    if not np.isfinite(audio).all():
        raise VoiceError(f"{label} has samples that are not numbers (NaN or infinite). Export it again, e.g. as "
                         "16-bit WAV.")
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak > MAX_PEAK:
        raise VoiceError(f"{label} has samples far outside the -1 to 1 range (peak {peak:.3g}). Normalize it and "
                         "export it again, e.g. as 16-bit WAV.")
    seconds = audio.shape[0] / float(sr) if sr else 0.0
    need = MIN_SECONDS.get(model, 1.0)
    if seconds < need:
        raise VoiceError(
            f"{label} is {seconds:.1f} s long; the {model} model needs at least {need:.0f} s "
            "of clean speech (5 to 15 s works best)."
        )
    mono = audio.mean(axis=1)
    peak = float(np.max(np.abs(mono))) if mono.size else 0.0
    if peak <= 10 ** (SILENCE_DBFS / 20):
        raise VoiceError(f"{label} is silent. Record or choose a clip with speech in it.")
    return seconds


HEADER_MAX_SECONDS = 120.0
"""The longest recording taken as a voice from a header's length (a voice needs 5 to 15 s; the models use the first
10 s at most)."""
HEADER_MAX_SAMPLES = 12_000_000
"""The most samples (all channels) a voice's header may declare: two minutes of 48 kHz stereo."""


def check_header_length(source: Path | BinaryIO, label: str, max_seconds: float = HEADER_MAX_SECONDS,
                        max_samples: int = HEADER_MAX_SAMPLES) -> None:
    """Refuse, from its header alone and before anything decodes it, audio longer than ``max_seconds`` or of more
    than ``max_samples`` samples, and audio whose header does not give its length: a small compressed file can hold
    hours of silence (a FLAC of an hour is under 100 kB). Decoders read no further than the header's length, so
    once this passes a full decode is bounded."""
    import soundfile as sf

    try:
        with sf.SoundFile(str(source) if isinstance(source, Path) else source) as f:
            rate, channels, frames = f.samplerate, max(1, f.channels), f.frames
    except (sf.LibsndfileError, RuntimeError, OSError, ValueError, TypeError):
        raise _NotAudio(f"{label} is not readable audio. Use a WAV, FLAC, OGG or MP3 recording.") from None
    finally:
        if not isinstance(source, Path):
            source.seek(0)
    if rate <= 0 or frames >= 2**62:
        raise VoiceError(f"{label} does not give its length in its header. Export it again, e.g. as 16-bit WAV.")
    if frames > min(max_seconds * rate, max_samples // channels):
        raise VoiceError(f"{label} is {frames / rate:,.0f} s of audio at {rate:,} Hz ({frames * channels:,} samples); "
                         f"a voice may be {max_seconds:g} s and {max_samples:,} samples at most, and needs 5 to 15 s "
                         "of speech. Cut a short clip from it.")
