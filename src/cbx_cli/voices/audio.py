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

MAX_VOICE_SECONDS = 120.0
"""The longest recording read as a voice (a voice needs 5 to 15 s; the models use the first 10 s at most)."""
MAX_VOICE_SAMPLES = 12_000_000
"""The most samples (all channels) decoded from a voice recording: two minutes of 48 kHz stereo, 48 MB of float32."""
MAX_VOICE_BYTES = 100_000_000
"""The largest voice file read from disk (a URL's download has its own, smaller cap)."""
UNKNOWN_FRAMES = 1 << 40
"""A frame count libsndfile reports for a stream whose header does not say its length."""
BLOCK_FRAMES = 1 << 16


class _NotAudio(VoiceError):
    """The file cannot be decoded as audio (as opposed to too short or silent)."""


def check_voice(path: Path, model: str = "original") -> float:
    """Fail with one clear line unless ``path`` is a regular file of decodable, non-silent audio of usable length.

    Returns its duration in seconds.
    """
    from cbx_cli.files import FileProblem, stat_regular

    try:
        stat_regular(path, MAX_VOICE_BYTES)
    except FileProblem as problem:
        if problem.missing:
            raise VoiceError(f"Voice file '{path}' does not exist. Pass a WAV/FLAC/MP3 recording with --voice.") \
                from None
        if problem.too_large:
            raise VoiceError(f"Voice file '{path}' {problem}. Use a short clip: 5 to 15 s of speech is enough.") \
                from None
        raise VoiceError(f"Voice '{path}' is not a file. Pass an audio recording with --voice.") from None
    return check_audio(path, model, f"Voice file '{path}'")


def _decode(source: Path | BinaryIO, label: str) -> tuple[np.ndarray, int]:
    """The samples (frames, channels) of ``source``, bounded before they are decoded: the header's length first,
    then the samples as they come (a header may not know or may lie about the length), never more than
    `MAX_VOICE_SECONDS` nor `MAX_VOICE_SAMPLES`. A small compressed file can hold hours of silence."""
    import soundfile as sf

    too_long = (f"{label} is longer than {MAX_VOICE_SECONDS / 60:g} minutes, or holds more than "
                f"{MAX_VOICE_SAMPLES:,} samples; a voice needs 5 to 15 s of speech. Cut a short clip from it.")
    try:
        with sf.SoundFile(str(source) if isinstance(source, Path) else source) as f:
            rate, channels = f.samplerate, max(1, f.channels)
            if rate <= 0:
                raise _NotAudio(f"{label} is not readable audio. Use a WAV, FLAC, OGG or MP3 recording.")
            most = min(int(MAX_VOICE_SECONDS * rate), MAX_VOICE_SAMPLES // channels)
            if 0 < f.frames < UNKNOWN_FRAMES and f.frames > most:
                raise VoiceError(too_long)
            blocks, total = [], 0
            while block := len(part := f.read(frames=min(BLOCK_FRAMES, most + 1 - total), dtype="float32",
                                                always_2d=True)):
                blocks.append(part)
                total += block
                if total > most:
                    raise VoiceError(too_long)
    except (sf.LibsndfileError, RuntimeError, OSError, ValueError, TypeError):
        raise _NotAudio(f"{label} is not readable audio. Use a WAV, FLAC, OGG or MP3 recording.") from None
    audio = np.concatenate(blocks) if blocks else np.zeros((0, channels), np.float32)
    return audio, rate


def check_audio(source: Path | BinaryIO, model: str, label: str) -> float:
    """Decode ``source`` (a file, or bytes in memory) and check its samples, length and level; ``label`` starts
    every message ("Voice file 'x'")."""
    audio, sr = _decode(source, label)
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
