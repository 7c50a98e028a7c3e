"""`cbx bench --latency`: how soon one sentence is heard, streamed against not streamed, and what streaming costs.

One chunk (the bench's first sentence, a budget of T speech tokens) through the batched engine, in one process
with the same loaded weights and voice:

* whole: `BatchedEngine.synthesize`; nothing is heard until the take is made, so its time to first audio is its
  wall time.
* streamed: `BatchedEngine.stream_pieces` (first piece of F tokens, then 25): time to the first piece, each
  piece's arrival against when the one before it finishes playing (the stream stalls where a piece arrives
  late; a player that starts with the first piece hears a gap of that long), and its real-time factor (seconds of
  work per second of audio; under 1 keeps up).
* drift: the streamed take against the same tokens decoded in one piece by the same code
  (`s3gen_stream.decode_whole`: the same noise, no piece boundaries), as a signal-to-noise ratio (dB) and the mean
  distance of their log-mel spectrograms (chatterbox's own `mel_spectrogram`, natural-log units); and what reading
  only the first seconds of the voice's reference as the flow's prompt changes (both in one piece, log-mel only:
  the flow's output is a different draw once its prompt differs).

Random weights never draw the stop token, so each take is exactly T tokens long. torch and chatterbox are imported
inside the functions.
"""

from __future__ import annotations

import contextlib
import math
import sys
import tempfile
import time
from pathlib import Path

from cbx_cli.engine.base import EngineSpec, PieceSizes, TakeRequest
from cbx_cli.tools.bench import SAMPLE_RATE, _sync, _voice, bench_chunks, build_random_weights


def run_latency_bench(model_dir: Path | None, model: str = "original", device: str = "cpu", tokens: int = 100,
                      first_piece: int = 10, seed: int = 42, repeats: int = 1) -> dict:
    """Whole against streamed for one sentence of ``tokens`` tokens; a JSON-serialisable dict. Without
    ``model_dir``, full-size random weights are built first. ``repeats``: the fastest of that many runs per side."""
    from cbx_cli.engine.weights import import_torch

    torch = import_torch()
    with tempfile.TemporaryDirectory(prefix="cbx-bench-") as tmp:
        weights = Path(model_dir) if model_dir else build_random_weights(Path(tmp) / "random", model)
        return _run(torch, weights, model, device, tokens, PieceSizes(first_piece, 25), seed, repeats, Path(tmp),
                    builtin=model_dir is not None)


def _run(torch, weights: Path, model: str, device: str, tokens: int, sizes: PieceSizes, seed: int, repeats: int,
         tmp: Path, builtin: bool) -> dict:
    from cbx_cli.engine.batched import BatchedEngine
    from cbx_cli.engine.stock import ChatterboxEngine

    engine = BatchedEngine(ChatterboxEngine(EngineSpec(model=model, model_dir=weights, device=device)))
    with contextlib.redirect_stdout(sys.stderr):
        engine.load()
        voice = _voice(engine, builtin, 6.0, tmp)
        dev = engine.info.device
        request = TakeRequest(bench_chunks(1, tokens, seed)[0], voice)
        warm = [TakeRequest(bench_chunks(1, min(tokens, 8), seed + 1000)[0], voice)]
        engine.synthesize(warm)
        list(engine.stream_pieces(warm, sizes))
        whole = streamed = None
        for _ in range(repeats):
            side = _whole(torch, dev, engine, request)
            whole = side if whole is None or side["first_audio_s"] < whole["first_audio_s"] else whole
            side, take = _streamed(torch, dev, engine, request, sizes)
            streamed = side if streamed is None or side["first_audio_s"] < streamed["first_audio_s"] else streamed
        drift = _drift(engine, voice, request, sizes, take)
    return {
        "device": dev, "torch": torch.__version__, "threads": torch.get_num_threads(), "model": model,
        "weights": str(weights) if builtin else "random (full size)", "tokens": tokens,
        "first_piece": sizes.first, "piece": sizes.rest, "seed": seed, "repeats": repeats,
        "whole": whole, "streamed": streamed, "drift": drift,
        "first_audio_ratio": round(streamed["first_audio_s"] / whole["first_audio_s"], 3),
    }


def _whole(torch, dev: str, engine, request) -> dict:
    _sync(torch, dev)
    t0 = time.perf_counter()
    take = engine.synthesize([request])[0]
    _sync(torch, dev)
    wall = time.perf_counter() - t0
    audio = len(take.audio) / SAMPLE_RATE
    return {"first_audio_s": round(wall, 3), "wall_s": round(wall, 3), "audio_s": round(audio, 3),
            "rtf": round(wall / audio, 3) if audio else 0.0}


def _streamed(torch, dev: str, engine, request, sizes: PieceSizes):
    """The stream's figures, and its take. A piece is due when the one before it has finished playing, playback
    starting with the first piece; a late piece pushes everything after it back by its lateness."""
    arrivals: list[tuple[float, float]] = []  # (arrival, seconds of audio)
    take = None
    _sync(torch, dev)
    t0 = time.perf_counter()
    for _i, piece in engine.stream_pieces([request], sizes):
        _sync(torch, dev)
        arrivals.append((time.perf_counter() - t0, len(piece.audio) / SAMPLE_RATE))
        take = piece.take if piece.last else take
    wall = time.perf_counter() - t0
    heard = [(at, seconds) for at, seconds in arrivals if seconds > 0]
    due = heard[0][0] if heard else 0.0
    stalls, stall_s = 0, 0.0
    for at, seconds in heard:
        if at > due + 1e-9:
            stalls, stall_s = stalls + 1, stall_s + at - due
            due = at
        due += seconds
    audio = sum(seconds for _, seconds in arrivals)
    return {
        "first_audio_s": round(heard[0][0] if heard else wall, 3), "wall_s": round(wall, 3),
        "audio_s": round(audio, 3), "rtf": round(wall / audio, 3) if audio else 0.0, "pieces": len(arrivals),
        "first_piece_audio_s": round(heard[0][1], 3) if heard else 0.0, "stalls": stalls,
        "stall_s": round(stall_s, 3),
    }, take


def _drift(engine, voice, request, sizes: PieceSizes, take) -> dict:
    """The streamed take against its tokens decoded in one piece (`decode_whole`)."""
    import numpy as np
    import torch
    from chatterbox.models.s3tokenizer import SPEECH_VOCAB_SIZE

    from cbx_cli.engine.s3gen_stream import PROMPT_TOKENS, decode_whole

    tokens = engine.speech_tokens([request])[0]
    speech = tokens[tokens < SPEECH_VOCAB_SIZE]
    whole = decode_whole(engine.stock.model, voice.conditionals.gen, speech, request.chunk.seed, SAMPLE_RATE)
    streamed = take.audio
    n = min(len(whole), len(streamed))
    error = float(np.sum((streamed[:n].astype(np.float64) - whole[:n]) ** 2))
    signal = float(np.sum(whole[:n].astype(np.float64) ** 2))
    snr = 10 * math.log10(signal / error) if error > 0 else math.inf
    # What reading the first seconds of the voice's reference (`PROMPT_TOKENS`) instead of all of it changes.
    read_all = decode_whole(engine.stock.model, voice.conditionals.gen, speech, request.chunk.seed, SAMPLE_RATE,
                            prompt_tokens=None)
    m = min(len(whole), len(read_all))
    return {"snr_db": round(snr, 2) if math.isfinite(snr) else "exact", "log_mel_l1": round(_mel_l1(
        torch, streamed[:n], whole[:n]), 4), "samples": n, "lengths_equal": len(whole) == len(streamed),
        "prompt_tokens": min(PROMPT_TOKENS, int(voice.conditionals.gen["prompt_token"].shape[-1])),
        "reference_tokens": int(voice.conditionals.gen["prompt_token"].shape[-1]),
        "short_prompt_log_mel_l1": round(_mel_l1(torch, whole[:m], read_all[:m]), 4)}


def _mel_l1(torch, a, b) -> float:
    from chatterbox.models.s3gen.utils.mel import mel_spectrogram

    with torch.inference_mode():
        ma = mel_spectrogram(torch.from_numpy(a.copy())[None])
        mb = mel_spectrogram(torch.from_numpy(b.copy())[None])
    return float((ma - mb).abs().mean())


def format_latency_report(result: dict) -> str:
    a, b, d = result["whole"], result["streamed"], result["drift"]
    rows = [
        ("time to first audio (s)", a["first_audio_s"], b["first_audio_s"]),
        ("wall time (s)", a["wall_s"], b["wall_s"]),
        ("audio (s)", a["audio_s"], b["audio_s"]),
        ("real-time factor (wall / audio)", a["rtf"], b["rtf"]),
        ("pieces", 1, b["pieces"]),
        ("stalls (late pieces)", "-", b["stalls"]),
        ("stalled (s)", "-", b["stall_s"]),
    ]
    width = max(len(r[0]) for r in rows)
    lines = [
        f"cbx bench --latency: {result['model']} ({result['weights']}) on {result['device']}, torch "
        f"{result['torch']}, {result['threads']} threads",
        f"1 sentence x {result['tokens']} tokens, seed {result['seed']}, pieces of {result['first_piece']} then "
        f"{result['piece']} tokens, best of {result['repeats']}",
        "",
        f"{'':{width}}  {'whole':>10}  {'streamed':>10}",
    ]
    for name, x, y in rows:
        lines.append(f"{name:{width}}  {_fmt(x):>10}  {_fmt(y):>10}")
    lines += [
        "",
        f"time to first audio, streamed / whole: {result['first_audio_ratio']}",
        f"drift of the streamed take from its tokens decoded in one piece: SNR {d['snr_db']} dB, log-mel L1 "
        f"{d['log_mel_l1']}",
        f"the flow's prompt: the reference's first {d['prompt_tokens']} of {d['reference_tokens']} speech tokens; "
        f"against all of it (one piece each): log-mel L1 {d['short_prompt_log_mel_l1']}",
    ]
    return "\n".join(lines)


def _fmt(x) -> str:
    return f"{x:.3f}" if isinstance(x, float) else str(x)
