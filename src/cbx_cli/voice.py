"""Checks on a voice reference file before a model sees it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cbx_cli.errors import VoiceError

MIN_SECONDS = {"original": 1.0, "multilingual": 1.0, "turbo": 5.0}
SILENCE_DBFS = -60.0


def check_voice(path: Path, model: str = "original") -> float:
    """Fail with one clear line unless ``path`` is decodable, non-silent audio of usable length.

    Returns its duration in seconds.
    """
    import soundfile as sf

    if not path.exists():
        raise VoiceError(f"Voice file '{path}' does not exist. Pass a WAV/FLAC/MP3 recording with --voice.")
    if not path.is_file():
        raise VoiceError(f"Voice '{path}' is not a file. Pass an audio recording with --voice.")
    try:
        audio, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError):
        raise VoiceError(
            f"Voice file '{path}' is not readable audio. Use a WAV, FLAC, OGG or MP3 recording."
        ) from None
    seconds = audio.shape[0] / float(sr) if sr else 0.0
    need = MIN_SECONDS.get(model, 1.0)
    if seconds < need:
        raise VoiceError(
            f"Voice file '{path}' is {seconds:.1f} s long; the {model} model needs at least {need:.0f} s "
            "of clean speech (5 to 15 s works best)."
        )
    mono = audio.mean(axis=1)
    peak = float(np.max(np.abs(mono))) if mono.size else 0.0
    if peak <= 10 ** (SILENCE_DBFS / 20):
        raise VoiceError(f"Voice file '{path}' is silent. Record or choose a clip with speech in it.")
    return seconds
