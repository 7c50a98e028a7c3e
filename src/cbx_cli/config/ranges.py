"""The range and meaning of every option that has one, declared once.

Plain data with no imports: the settings models (`cbx_cli.config.params`) build their pydantic fields from it, and
the command line reads its help texts from it without loading pydantic.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Range:
    low: float | None
    high: float | None
    help: str
    """What the value means, with its range, as --help shows it."""
    allowed: str | None = None
    """How an out-of-range message states the range ("0.5 to 2.0"); None: "a value from LOW to HIGH"."""
    message: str | None = None
    """A whole out-of-range message instead, with {flag} for the option's name."""


RANGES: dict[str, Range] = {
    # sampling (SynthesisParams)
    "exaggeration": Range(0.0, 2.0, "Emotion intensity, 0-2."),
    "temperature": Range(0.05, 2.0, "Sampling temperature, 0.05-2."),
    "cfg_weight": Range(0.0, 2.0, "Classifier-free guidance weight, 0-2."),
    "min_p": Range(0.0, 1.0, "Min-p sampling floor, 0-1."),
    "top_p": Range(0.0, 1.0, "Top-p (nucleus) mass, 0-1."),
    "top_k": Range(1, 10000, "Top-k cut-off, 1-10000 (turbo)."),
    "repetition_penalty": Range(1.0, 2.0, "Repetition penalty, 1-2."),
    "seed": Range(0, 2**63 - 1, "Base seed (default 42); each chunk derives its own."),
    "max_tokens": Range(1, 1000, "Cap on speech tokens per chunk, 1-1000 (default: by text length)."),
    # assembly (AssemblySettings)
    "pause": Range(0.0, 10.0, "Seconds of silence, 0 to 10."),
    "max_chars": Range(40, 1000, "Chunk size bound in characters, 40 to 1000."),
    "loudness": Range(-40.0, -5.0, "Integrated loudness target, LUFS."),
    "peak": Range(-20.0, 0.0, "Sample peak ceiling, dBFS."),
    "level": Range(-60.0, 0.0, "A level in dBFS."),
    "crossfade_ms": Range(0.0, 200.0, "Crossfade between takes, ms."),
    # the finished program and the run (NarrationOptions, RunOptions)
    "speed": Range(0.5, 2.0, "Speaking speed, 0.5-2.0, pitch preserved.", allowed="0.5 to 2.0"),
    "volume": Range(-20.0, 20.0, "Gain in dB after loudness normalization (-20 to 20).", allowed="-20 to 20 dB"),
    "sample_rate": Range(8000, 192000, "Resample the output to this rate in Hz (8000-192000).",
                         allowed="8000 to 192000 Hz"),
    "retries": Range(0, 10, "Re-render a bad take with the next seed up to N times (0-10).", allowed="0 to 10"),
    "verify_tolerance": Range(0.0, 1.0, "Word errors a verified take may have per word of its text, 0-1 (default "
                              "0.1: about one in ten).", allowed="0 to 1"),
    "candidates": Range(1, 8, "Takes rendered per chunk; the best that passes is kept, ties to the shorter (1-8).",
                        allowed="1 to 8"),
    "batch_size": Range(1, None, "Chunks decoded at once (default: 8 on a CPU; on CUDA as many as free memory "
                         "allows, up to 64).", message="{flag} must be at least 1."),
    "first_piece": Range(1, 500, "Speech tokens (25 a second) in a streamed take's first piece, 1-500 (default "
                         "10): smaller is heard sooner.", allowed="1 to 500"),
    # cbx serve (ServeOptions)
    "port": Range(1, 65535, "Port to listen on, 1-65535.", allowed="1 to 65535"),
    "workers": Range(1, 64, "Queued (/v2) jobs narrated at once, 1-64; their chunks share batches.",
                     allowed="1 to 64"),
    "max_concurrent": Range(1, 1000, "Synchronous requests one API key may have in flight, 1-1000.",
                            allowed="1 to 1000"),
    # cbx batch (ClusterOptions)
    "worker_cpus": Range(1, None, "CPU cores per Ray worker.", message="{flag} must be at least 1."),
    "max_workers": Range(1, None, "Most Ray workers to start.", message="{flag} must be at least 1."),
    # cbx bench (BenchOptions)
    "chunks": Range(1, 1024, "Chunks of realistic sentences to render, 1-1024."),
    "tokens": Range(1, 1000, "Speech tokens per chunk (fixed, on both sides), 1-1000."),
    "repeats": Range(1, 20, "Time each side this many times and keep the fastest, 1-20."),
}
