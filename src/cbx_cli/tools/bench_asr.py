"""`cbx bench --asr`: what verification costs, as seconds of transcription per hour of takes.

N takes of a synthetic voice (the bench's realistic sentences as their texts, ~5 s each) go through the
`WhisperTranscriber` that `--verify` uses, after one warm-up take. Without --verify-model, a random Whisper of
base.en's shape (d_model 512, 6 + 6 layers, 8 heads: `checkpoints.build_whisper`) is built into a temporary folder;
--verify-model FOLDER measures that model instead (the tiny test model, or real weights). Random weights never
stop early, so each take decodes its whole token budget: an upper bound on what real weights cost.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

TAKE_SECONDS = 5.0
BASE_SHAPE = {"d_model": 512, "layers": 6, "heads": 8}
"""Whisper base's transformer shape."""


def run_asr_bench(model: str | None, device: str, takes: int, repeats: int = 1) -> dict:
    """Transcribe ``takes`` takes ``repeats`` times on ``device``; the fastest repeat's timings."""
    from cbx_cli.tools.bench import SAMPLE_RATE, bench_chunks
    from cbx_cli.tools.checkpoints import synthetic_voice
    from cbx_cli.tools.whisper_checkpoints import build_whisper
    from cbx_cli.verify.asr import WhisperTranscriber

    with tempfile.TemporaryDirectory(prefix="cbx-bench-asr-") as tmp:
        folder = model or str(build_whisper(Path(tmp) / "whisper-base-shape", **BASE_SHAPE))
        asr = WhisperTranscriber(folder, device)
        chunks = bench_chunks(takes, 40, 0)
        audios = [synthetic_voice(TAKE_SECONDS, SAMPLE_RATE, seed=i) for i in range(takes)]
        asr.transcribe(audios[:1], SAMPLE_RATE, chunks[:1])  # loads the model
        walls = []
        for _ in range(repeats):
            started = time.perf_counter()
            asr.transcribe(audios, SAMPLE_RATE, chunks)
            walls.append(time.perf_counter() - started)
    wall = min(walls)
    audio_s = takes * TAKE_SECONDS
    return {"model": model or "random, base.en's shape", "device": asr.device, "batch_size": asr.batch_size,
            "takes": takes, "audio_s": audio_s, "wall_s": round(wall, 3),
            "per_hour_s": round(wall / audio_s * 3600, 1)}


def format_asr_report(result: dict) -> str:
    return (
        f"speech recognition ({result['model']}) on {result['device']}, batch {result['batch_size']}: "
        f"{result['takes']} takes, {result['audio_s']:.0f} s of audio in {result['wall_s']:.2f} s = "
        f"{result['per_hour_s']:.0f} s per hour of audio"
    )
