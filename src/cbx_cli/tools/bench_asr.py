"""`cbx bench --asr`: what verification costs, as seconds of audio heard per second (and per hour of takes).

N takes, the bench's realistic sentences as their texts, go through the `WhisperTranscriber` that `--verify` uses,
after one warm-up take. The takes are those sentences spoken by espeak-ng where it is installed (real weights then
hear real speech, and write what it says), else ~5 s of a synthetic voice each. Without --verify-model, a random
Whisper of base.en's shape (d_model 512, 6 + 6 layers, 8 heads: `checkpoints.build_whisper`) is built into a
temporary folder; --verify-model NAME|FOLDER measures that model instead (real weights, or the tiny test model).
Random weights never stop early, so each take decodes its whole token budget: an upper bound on what real weights
cost.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

TAKE_SECONDS = 5.0
BASE_SHAPE = {"d_model": 512, "layers": 6, "heads": 8}
"""Whisper base's transformer shape."""


def _takes(chunks) -> tuple[list[np.ndarray], int, str]:
    """The takes to hear, their sample rate, and what they are: espeak-ng reading each chunk where it is installed,
    else a synthetic voice."""
    import io

    import soundfile as sf

    from cbx_cli.tools.bench import SAMPLE_RATE
    from cbx_cli.tools.checkpoints import synthetic_voice

    espeak = shutil.which("espeak-ng")
    if espeak is None:
        return [synthetic_voice(TAKE_SECONDS, SAMPLE_RATE, seed=i) for i in range(len(chunks))], SAMPLE_RATE, \
            "synthetic voice"
    takes, rate = [], SAMPLE_RATE
    for chunk in chunks:
        wav = subprocess.run([espeak, "--stdout", chunk.spoken], capture_output=True, check=True, timeout=60).stdout
        audio, rate = sf.read(io.BytesIO(wav), dtype="float32")
        takes.append(audio)
    return takes, rate, "espeak-ng speech"


def run_asr_bench(model: str | None, device: str, takes: int, repeats: int = 1) -> dict:
    """Transcribe ``takes`` takes ``repeats`` times on ``device``; the fastest repeat's timings."""
    from cbx_cli.tools.bench import bench_chunks
    from cbx_cli.tools.whisper_checkpoints import build_whisper
    from cbx_cli.verify.asr import WhisperTranscriber

    with tempfile.TemporaryDirectory(prefix="cbx-bench-asr-") as tmp:
        folder = model or str(build_whisper(Path(tmp) / "whisper-base-shape", **BASE_SHAPE))
        asr = WhisperTranscriber(folder, device)
        chunks = bench_chunks(takes, 40, 0)
        audios, rate, kind = _takes(chunks)
        asr.transcribe(audios[:1], rate, chunks[:1])  # loads the model
        walls = []
        for _ in range(repeats):
            started = time.perf_counter()
            asr.transcribe(audios, rate, chunks)
            walls.append(time.perf_counter() - started)
    wall = min(walls)
    audio_s = round(sum(len(a) for a in audios) / rate, 3)
    return {"model": model or "random, base.en's shape", "device": asr.device, "compute": asr.compute,
            "batch_size": asr.batch_size, "takes": takes, "audio": kind, "audio_s": audio_s, "wall_s": round(wall, 3),
            "audio_per_s": round(audio_s / wall, 2), "per_hour_s": round(wall / audio_s * 3600, 1)}


def format_asr_report(result: dict) -> str:
    return (
        f"speech recognition ({result['model']}) on {result['device']}, {result['compute']}, batch "
        f"{result['batch_size']}: {result['takes']} takes of {result['audio']}, {result['audio_s']:.0f} s of audio "
        f"in {result['wall_s']:.2f} s = {result['audio_per_s']:.1f} s of audio per second "
        f"({result['per_hour_s']:.0f} s per hour of audio)"
    )
