"""`cbx bench`: stock Chatterbox, one chunk at a time, against cbx's batched engine, in one process.

Both sides synthesize the same N chunks (realistic English sentences) with the same loaded weights, voice and
settings and a fixed token budget T per chunk. Random weights never draw the stop token, so then both sides
generate exactly T tokens per chunk; with real weights either side may stop early, so compare seconds of audio
per second too.

* stock: `ChatterboxEngine.synthesize`, one chunk per call: what `ChatterboxTTS.generate` does (its
  `t3.inference`, `s3gen.inference` and watermark calls), with `max_new_tokens=T` instead of 1000.
* batched: `BatchedEngine.synthesize` on the N chunks (max_tokens=T each), wrapping that same stock engine.

Without a checkpoint folder it builds full-size random weights (`checkpoints.build_original` or `build_turbo`,
`layers=None`) into a temporary folder, in a child process so that this process's peak memory is the engines'
alone, and loads them as users load a checkpoint; the voice is a synthetic recording, conditioned as
`prepare_conditionals` does it.
Each side's S3Gen time is split by timing the model's own stage calls, the same on both sides (`_stage_clock`):
the flow decoder's estimator (the CFM steps), the vocoder (HiFT's f0 predictor and generator) and the watermark;
summed over calls, so on the batched side, where takes run in parallel worker threads, they add up past its wall
time.
torch and chatterbox are imported inside the functions.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cbx_cli.engine.base import EngineSpec, TakeRequest, VoicePrompt
from cbx_cli.errors import ModelError, VoiceError
from cbx_cli.plan.chunks import Chunk

SAMPLE_RATE = 24000

SENTENCES = (
    "The old lighthouse keeper climbed the spiral stairs every evening at dusk.",
    "Nobody in the village could remember a winter quite as long as that one.",
    "She folded the letter twice, slipped it into her coat, and walked out into the rain.",
    "According to the latest report, rainfall across the region fell by nearly a third.",
    "Turn left at the bakery, then follow the canal until you reach the iron bridge.",
    "He laughed, shook his head, and said that he had never heard anything so ridiculous.",
    "The committee will publish its final recommendations early next spring.",
    "Somewhere below the deck, a radio crackled and a voice began to read the weather.",
    "If the measurements are correct, the comet will pass within sight of Earth in March.",
    "They ate in silence while the fire burned low and the wind rattled the shutters.",
    "Please keep your ticket until the end of the journey, as inspectors may ask to see it.",
    "The museum's newest exhibit traces three thousand years of music in a single room.",
    "Why would anyone build a house so far from the road, she wondered aloud.",
    "By the time the train pulled into the station, the sun had already set.",
    "Scientists still debate how the first cells managed to copy themselves.",
    "At the end of the day, what matters most is that we kept our promise.",
)


def bench_chunks(n: int, tokens: int, seed: int) -> list[Chunk]:
    """N chunks cycling through SENTENCES, each with budget `tokens`, seed `seed + i` and stock's settings."""
    from cbx_cli.config.params import SynthesisParams

    params = SynthesisParams()
    out = []
    for i in range(n):
        text = SENTENCES[i % len(SENTENCES)]
        out.append(
            Chunk(index=i, text=text, spoken=text, chapter=0, paragraph=0, pause_after=0.0, seed=seed + i,
                  max_tokens=tokens, params=params)
        )
    return out


def build_random_weights(folder: Path, model: str = "original", layers: int | None = None) -> Path:
    """Random weights of `model` (original or turbo) in `folder`, built by a child process (its memory is not
    ours): full size, or T3 cut to ``layers`` layers."""
    code = ("import sys; from cbx_cli.tools import checkpoints as c; "
            "getattr(c, 'build_' + sys.argv[2])(sys.argv[1], int(sys.argv[3]) if sys.argv[3] else None)")
    done = subprocess.run([sys.executable, "-c", code, str(folder), model, str(layers or "")], capture_output=True,
                          text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise ModelError(f"Building random weights failed ({last}). Pass --model-dir DIR with a checkpoint.")
    return folder


def _voice(engine, builtin: bool, seconds: float, folder: Path):
    """The checkpoint's built-in voice when asked for and present; else a synthetic recording's conditioning."""
    from cbx_cli.tools.checkpoints import write_voice_wav

    if builtin:
        with contextlib.suppress(VoiceError):
            return engine.voice(None)
    return engine.voice(VoicePrompt(write_voice_wav(folder / "voice.wav", seconds, SAMPLE_RATE)))


# -- the two sides ---------------------------------------------------------------------------------------------


def _sync(torch, device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def _peak_mb(torch, device: str) -> float:
    """Peak memory since `_reset_peak`: GPU memory allocated, or on the CPU the process's peak RSS (VmHWM)."""
    if device == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    with contextlib.suppress(OSError, ValueError, StopIteration):
        status = Path("/proc/self/status").read_text().splitlines()
        return int(next(line for line in status if line.startswith("VmHWM:")).split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux; bytes on macOS


def _reset_peak(torch, device: str) -> bool:
    """Start a new peak-memory measurement; False where only the process's all-time peak can be read."""
    if device == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        return True
    try:
        Path("/proc/self/clear_refs").write_text("5")  # Linux: resets VmHWM to the current RSS
    except OSError:
        return False
    return True


def _side(wall: float, tokens: int, audio_s: float, t3_s: float, s3gen_s: float, peak_mb: float, n: int,
          stages: dict[str, float]) -> dict:
    side = {
        "wall_s": round(wall, 3),
        "tokens": tokens,
        "audio_s": round(audio_s, 3),
        "tokens_per_s": round(tokens / wall, 3) if wall > 0 else 0.0,
        "audio_s_per_s": round(audio_s / wall, 4) if wall > 0 else 0.0,
        "t3_s": round(t3_s, 3),
        "s3gen_s": round(s3gen_s, 3),
        "peak_mem_mb": round(peak_mb, 1),
        "flow_steps_s": round(stages["flow"], 3),
        "vocoder_s": round(stages["vocoder"], 3),
        "watermark_s": round(stages["watermark"], 3),
        "watermark_s_per_audio_s": round(stages["watermark"] / audio_s, 4) if audio_s > 0 else 0.0,
    }
    if n == 1:
        side["latency_s"] = round(wall, 3)
    return side


def run_bench(
    model_dir: Path | None,
    model: str = "original",
    device: str = "cpu",
    chunks: int = 8,
    tokens: int = 40,
    seed: int = 42,
    *,
    voice_seconds: float = 6.0,
    max_batch: int | None = None,
    threads: int | None = None,
    repeats: int = 1,
) -> dict:
    """Stock (a) vs batched (b) on the same `chunks` chunks of `tokens` tokens; a JSON-serialisable dict.

    voice_seconds: length of the synthetic voice for random weights (S3Gen's reference, which it re-reads for
    every chunk, is at most 10 s of it). With `model_dir`, the checkpoint's built-in voice is used if it has one.
    threads: torch intra-op threads for both sides (default: torch's). repeats: time each side this many times,
    alternating stock and batched, and keep each side's fastest run (for machines shared with other work).
    """
    from cbx_cli.engine.weights import import_torch

    torch = import_torch()
    if chunks < 1 or tokens < 1 or repeats < 1:
        raise ValueError("chunks, tokens and repeats must be at least 1")
    if model_dir is None and model not in ("original", "turbo"):
        raise ValueError(f"bench without --model-dir builds random weights for original and turbo, not {model}; "
                         f"pass --model-dir")
    threads_before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        with tempfile.TemporaryDirectory(prefix="cbx-bench-") as tmp:
            weights = Path(model_dir) if model_dir else build_random_weights(Path(tmp) / "random", model)
            result = _run(torch, weights, model, device, chunks, tokens, seed, voice_seconds, max_batch, repeats,
                          Path(tmp), builtin=model_dir is not None)
    finally:
        torch.set_num_threads(threads_before)
    if model_dir is None:
        result["voice_seconds"] = voice_seconds
    return result


def _run(torch, weights, model, device, chunks, tokens, seed, voice_seconds, max_batch, repeats, tmp, builtin):
    from cbx_cli.engine.batched import BatchedEngine
    from cbx_cli.engine.stock import ChatterboxEngine

    stock_engine = ChatterboxEngine(EngineSpec(model=model, model_dir=weights, device=device))
    engine = BatchedEngine(stock_engine, max_batch=max_batch)
    with contextlib.redirect_stdout(sys.stderr):
        engine.load()
        voice = _voice(engine, builtin, voice_seconds, tmp)
        dev = engine.info.device
        work = [TakeRequest(c, voice) for c in bench_chunks(chunks, tokens, seed)]
        warm = [TakeRequest(c, voice) for c in bench_chunks(1, min(tokens, 4), seed + 1000)]
        stock_engine.synthesize(warm)  # warm-ups, one short chunk each
        engine.synthesize(warm)
        stock = batched = None
        for _ in range(repeats):
            side = _timed(torch, dev, chunks, lambda: _one_at_a_time(stock_engine, work), engine.stock.model)
            stock = side if stock is None or side["wall_s"] < stock["wall_s"] else stock
            side = _timed(torch, dev, chunks, lambda: _all_at_once(engine, work), engine.stock.model)
            batched = side if batched is None or side["wall_s"] < batched["wall_s"] else batched
        batched["max_batch"] = engine.max_batch if engine.batchable() else 1
        batched["path"] = "batched" if engine.batchable() else "per-chunk (stock engine)"
    result = {
        "device": dev,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "model": model,
        "weights": str(weights) if builtin else "random (full size)",
        "chunks": chunks,
        "tokens": tokens,
        "seed": seed,
        "repeats": repeats,
        "stock": stock,
        "batched": batched,
        "speedup_tokens": _ratio(batched["tokens_per_s"], stock["tokens_per_s"]),
        "speedup_audio": _ratio(batched["audio_s_per_s"], stock["audio_s_per_s"]),
        "speedup_t3": _ratio(_per(stock, "t3_s"), _per(batched, "t3_s")),
        "speedup_s3gen": _ratio(_per(stock, "s3gen_s"), _per(batched, "s3gen_s")),
    }
    if chunks == 1:
        result["latency_ratio"] = _ratio(batched["wall_s"], stock["wall_s"])
    return result


def _one_at_a_time(engine, work) -> tuple[list, float, float]:
    """Stock: one `synthesize` call per chunk; its takes and the T3 and S3Gen seconds the engine timed."""
    takes, t3, s3gen = [], 0.0, 0.0
    for request in work:
        takes += engine.synthesize([request])
        t3 += engine.timings["t3"]
        s3gen += engine.timings["s3gen"]
    return takes, t3, s3gen


def _all_at_once(engine, work) -> tuple[list, float, float]:
    takes = engine.synthesize(work)
    return takes, engine.timings["t3"], engine.timings["s3gen"]


def _timed(torch, dev: str, n: int, run, model) -> dict:
    """One side's figures: wall time around `run()`, its takes' tokens and audio, its stage timings, peak memory."""
    from cbx_cli.engine.s3gen_batch import StageClock

    per_side = _reset_peak(torch, dev)
    clock = StageClock()
    with _stage_clock(model, clock):
        _sync(torch, dev)
        t0 = time.perf_counter()
        takes, t3, s3gen = run()
        _sync(torch, dev)
        wall = time.perf_counter() - t0
    tokens = sum(t.tokens or 0 for t in takes)
    audio_s = sum(len(t.audio) for t in takes) / SAMPLE_RATE
    side = _side(wall, tokens, audio_s, t3, s3gen, _peak_mb(torch, dev), n, clock.seconds)
    if not per_side:
        side["peak_mem_note"] = "process peak so far"
    return side


@contextlib.contextmanager
def _stage_clock(model, clock):
    """Time the model's own S3Gen stage calls into `clock` while the block runs, whichever engine makes them.

    The calls timed, chatterbox-tts 0.1.7: the CFM estimator's `forward` (each flow step), HiFT's `f0_predictor`
    and `decode` (the vocoder), the watermarker's `apply_watermark`. Instance attributes shadow the methods and are
    removed afterwards; on CUDA the times are those of the calls as queued, not of the kernels.
    """
    hift = model.s3gen.mel2wav
    targets = [
        (model.s3gen.flow.decoder.estimator, "forward", "flow"),
        (hift.f0_predictor, "forward", "vocoder"),
        (hift, "decode", "vocoder"),
        (model.watermarker, "apply_watermark", "watermark"),
    ]

    def timed(method, stage):
        def call(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                clock.add(stage, t0)

        return call

    for obj, name, stage in targets:
        setattr(obj, name, timed(getattr(obj, name), stage))
    try:
        yield clock
    finally:
        for obj, name, _stage in targets:
            delattr(obj, name)


def _per(side: dict, key: str) -> float:
    """Seconds of `key` per generated token (so sides that stop early compare fairly)."""
    return side[key] / side["tokens"] if side["tokens"] else 0.0


def _ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else 0.0


def format_report(result: dict) -> str:
    """A short plain-text table of a `run_bench` result."""
    a, b = result["stock"], result["batched"]
    rows = [
        ("wall time (s)", a["wall_s"], b["wall_s"]),
        ("speech tokens", a["tokens"], b["tokens"]),
        ("audio (s)", a["audio_s"], b["audio_s"]),
        ("tokens / s", a["tokens_per_s"], b["tokens_per_s"]),
        ("audio s / wall s", a["audio_s_per_s"], b["audio_s_per_s"]),
        ("T3 time (s)", a["t3_s"], b["t3_s"]),
        ("S3Gen + watermark (s)", a["s3gen_s"], b["s3gen_s"]),
        ("  flow steps (s, summed)", a["flow_steps_s"], b["flow_steps_s"]),
        ("  vocoder (s, summed)", a["vocoder_s"], b["vocoder_s"]),
        ("  watermark (s, summed)", a["watermark_s"], b["watermark_s"]),
        ("watermark s / audio s", a["watermark_s_per_audio_s"], b["watermark_s_per_audio_s"]),
        ("peak memory (MiB)", a["peak_mem_mb"], b["peak_mem_mb"]),
    ]
    if "latency_s" in a:
        rows.append(("latency (s)", a["latency_s"], b["latency_s"]))
    head = (
        f"cbx bench: {result['model']} ({result['weights']}) on {result['device']}, torch {result['torch']}, "
        f"{result['threads']} threads\n"
        f"{result['chunks']} chunk(s) x {result['tokens']} tokens, seed {result['seed']}, "
        f"best of {result.get('repeats', 1)}; "
        f"batched path: {b.get('path', 'batched')}, up to {b.get('max_batch', '?')} chunks per batch"
    )
    width = max(len(r[0]) for r in rows)
    lines = [head, "", f"{'':{width}}  {'stock':>12}  {'cbx batched':>12}"]
    for name, x, y in rows:
        lines.append(f"{name:{width}}  {_fmt(x):>12}  {_fmt(y):>12}")
    lines.append("")
    lines.append(
        f"throughput ratio (batched / stock): {result['speedup_tokens']}x tokens/s, {result['speedup_audio']}x audio/s"
        f"  (T3 {result['speedup_t3']}x, S3Gen {result['speedup_s3gen']}x per token)"
    )
    if "latency_ratio" in result:
        lines.append(f"single-chunk latency ratio (batched / stock): {result['latency_ratio']}")
    lines.append("stage times are summed over calls: on the batched side, takes in parallel threads overlap.")
    if result["device"] == "cpu":
        so_far = " (here: the peak so far; the batched figure includes stock's)" if "peak_mem_note" in b else ""
        lines.append(f"peak memory on the CPU is the process's peak RSS while that side ran, weights included{so_far}.")
    return "\n".join(lines)


def _fmt(x) -> str:
    if isinstance(x, float):
        return f"{x:.3f}" if abs(x) < 1000 else f"{x:.0f}"
    return str(x)


def check_json_output(path: Path, model_dir: Path | None) -> None:
    """``--json`` is an output like any other: writable, and none of the files a bench reads (the user's presets
    and config, the ``--model-dir`` files), checked before anything loads."""
    from cbx_cli.deliver.safety import Named, check_clashes, model_dir_files, user_files
    from cbx_cli.files import check_output_path

    check_output_path(str(path), "--json")
    check_clashes([Named("--json", path)], [*user_files(), *model_dir_files(model_dir)])


def write_json(result: dict, path: Path) -> None:
    """The results as JSON, written atomically."""
    from cbx_cli.files import write_text

    write_text(path, json.dumps(result, indent=2) + "\n")
