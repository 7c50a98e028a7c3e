"""`cbx bench`: stock Chatterbox, one chunk at a time, against cbx's batched engine, in one process.

Both sides synthesize the same N chunks (realistic English sentences) with the same weights and settings and a
fixed token budget T per chunk. Random weights never draw the stop token, so then both sides generate exactly
T tokens per chunk; with real weights either side may stop early, so compare seconds of audio per second too.

* stock: per chunk, what `ChatterboxTTS.generate` does (its `t3.inference`, `s3gen.inference` and watermark
  calls), with `max_new_tokens=T` instead of 1000. Turbo: `ChatterboxTurboTTS.generate`'s calls.
* batched: `BatchedChatterboxEngine.synthesize` on the N chunks (max_tokens=T each).

Without a checkpoint folder it builds full-size random weights in memory (T3(), S3Gen(), VoiceEncoder(), a
character tokenizer, conditionals from a synthetic voice): the architecture, not the weights, sets the speed.
torch and chatterbox are imported inside the functions.
"""

from __future__ import annotations

import contextlib
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from cbx_cli.config.params import SynthesisParams
from cbx_cli.engine.base import EngineSpec
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

_EN_SPECIAL = {"[STOP]": 0, "[UNK]": 1, "[SPACE]": 2, "[START]": 255}
_EN_OTHER = ["[PAD]", "[SEP]", "[CLS]", "[MASK]"]
_EN_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?;:'\"-()[]{}/&%$#@*+=<>_~`|\\^"


def bench_chunks(n: int, tokens: int, seed: int, params: SynthesisParams | None = None) -> list[Chunk]:
    """N chunks cycling through SENTENCES, each with budget `tokens` and seed `seed + i`."""
    params = params or SynthesisParams()
    out = []
    for i in range(n):
        text = SENTENCES[i % len(SENTENCES)]
        out.append(
            Chunk(index=i, text=text, spoken=text, chapter=0, paragraph=0, pause_after=0.0, seed=seed + i,
                  max_tokens=tokens, params=params)
        )
    return out


# -- in-memory random model ------------------------------------------------------------------------------------


def _tokenizer_json(path: Path) -> Path:
    """A character-level tokenizer.json that chatterbox's EnTokenizer loads (ids < 704)."""
    from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers

    vocab = dict(_EN_SPECIAL)
    free = (i for i in range(704) if i not in vocab.values())
    for tok in _EN_OTHER + list(_EN_CHARS):
        vocab.setdefault(tok, next(free))
    while (i := next(free)) < _EN_SPECIAL["[START]"]:
        vocab[f"<unused{i}>"] = i
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.add_special_tokens([AddedToken(t, special=True) for t in [*_EN_SPECIAL, *_EN_OTHER]])
    tokenizer.save(str(path))
    return path


def synthetic_voice(seconds: float, sr: int = SAMPLE_RATE, seed: int = 0) -> np.ndarray:
    """A voice-like signal: a vibrato harmonic tone under a syllable-rate envelope, plus a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    f0 = 125.0 * (1 + 0.08 * np.sin(2 * np.pi * 0.3 * t)) * (1 + 0.02 * np.sin(2 * np.pi * 5.5 * t))
    phase = 2 * np.pi * np.cumsum(f0) / sr
    wav = sum(np.sin(k * phase) / k for k in range(1, 30)) * (0.55 + 0.45 * np.sin(2 * np.pi * 3.9 * t))
    wav = 0.5 * wav / np.abs(wav).max() + 0.005 * rng.standard_normal(len(t))
    return wav.astype(np.float32)


def _random_original(device: str, seed: int, voice_seconds: float):
    """A full-size ChatterboxTTS with random weights and conditionals from a synthetic voice."""
    import soundfile as sf
    import torch
    from chatterbox.models.s3gen import S3Gen
    from chatterbox.models.t3 import T3
    from chatterbox.models.tokenizers import EnTokenizer
    from chatterbox.models.voice_encoder import VoiceEncoder
    from chatterbox.tts import ChatterboxTTS

    torch.manual_seed(seed)
    t3 = T3().to(device).eval()
    s3gen = S3Gen().to(device).eval()
    ve = VoiceEncoder().to(device).eval()
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = EnTokenizer(str(_tokenizer_json(Path(tmp) / "tokenizer.json")))
        model = ChatterboxTTS(t3, s3gen, ve, tokenizer, device)
        wav = Path(tmp) / "voice.wav"
        sf.write(str(wav), synthetic_voice(voice_seconds), SAMPLE_RATE, subtype="PCM_16")
        with torch.inference_mode():
            model.prepare_conditionals(str(wav), exaggeration=0.5)
    return model


# -- the two sides ---------------------------------------------------------------------------------------------


def _sync(torch, device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def _stock_chunk(model, kind: str, chunk: Chunk, device: str) -> dict:
    """One chunk exactly as stock `generate` does it, with max_new_tokens = chunk.max_tokens; timings."""
    import torch
    import torch.nn.functional as F
    from chatterbox.models.s3tokenizer import drop_invalid_tokens

    p = chunk.params
    torch.manual_seed(chunk.seed)
    t0 = time.perf_counter()
    with torch.inference_mode():
        if kind == "turbo":
            from chatterbox.models.s3gen.const import S3GEN_SIL
            from chatterbox.tts_turbo import punc_norm

            ids = model.tokenizer(punc_norm(chunk.spoken), return_tensors="pt", padding=True, truncation=True)
            speech = model.t3.inference_turbo(
                t3_cond=model.conds.t3, text_tokens=ids.input_ids.to(model.device), temperature=p.temperature,
                top_k=p.top_k, top_p=p.top_p, repetition_penalty=p.repetition_penalty,
                max_gen_len=max(chunk.max_tokens - 1, 0),
            )
            generated = int(speech.numel())
            speech = speech[speech < 6561].to(model.device)
            silence = torch.tensor([S3GEN_SIL] * 3).long().to(model.device)
            speech = torch.cat([speech, silence])
            _sync(torch, device)
            t1 = time.perf_counter()
            wav, _ = model.s3gen.inference(speech_tokens=speech, ref_dict=model.conds.gen, n_cfm_timesteps=2)
        else:
            from chatterbox.models.t3.modules.cond_enc import T3Cond
            from chatterbox.tts import punc_norm

            if p.exaggeration != model.conds.t3.emotion_adv[0, 0, 0]:
                c = model.conds.t3
                model.conds.t3 = T3Cond(
                    speaker_emb=c.speaker_emb, cond_prompt_speech_tokens=c.cond_prompt_speech_tokens,
                    emotion_adv=p.exaggeration * torch.ones(1, 1, 1),
                ).to(device=model.device)
            text_tokens = model.tokenizer.text_to_tokens(punc_norm(chunk.spoken)).to(model.device)
            if p.cfg_weight > 0.0:
                text_tokens = torch.cat([text_tokens, text_tokens], dim=0)
            text_tokens = F.pad(text_tokens, (1, 0), value=model.t3.hp.start_text_token)
            text_tokens = F.pad(text_tokens, (0, 1), value=model.t3.hp.stop_text_token)
            speech = model.t3.inference(
                t3_cond=model.conds.t3, text_tokens=text_tokens, max_new_tokens=chunk.max_tokens,
                temperature=p.temperature, cfg_weight=p.cfg_weight, repetition_penalty=p.repetition_penalty,
                min_p=p.min_p, top_p=p.top_p,
            )[0]
            generated = int(speech.numel()) - int(speech.numel() > 0 and int(speech[-1]) == 6562)
            speech = drop_invalid_tokens(speech)
            speech = speech[speech < 6561].to(model.device)
            _sync(torch, device)
            t1 = time.perf_counter()
            wav, _ = model.s3gen.inference(speech_tokens=speech, ref_dict=model.conds.gen)
        wav = wav.squeeze(0).detach().cpu().numpy()
        marked = model.watermarker.apply_watermark(wav, sample_rate=model.sr)
    t2 = time.perf_counter()
    return {"tokens": generated, "audio_s": len(marked) / SAMPLE_RATE, "t3_s": t1 - t0, "s3gen_s": t2 - t1}


def _peak_mb(torch, device: str) -> float:
    if device == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _reset_peak(torch, device: str) -> None:
    if device == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def _side(wall: float, tokens: int, audio_s: float, t3_s: float, s3gen_s: float, peak_mb: float, n: int) -> dict:
    side = {
        "wall_s": round(wall, 3),
        "tokens": tokens,
        "audio_s": round(audio_s, 3),
        "tokens_per_s": round(tokens / wall, 3) if wall > 0 else 0.0,
        "audio_s_per_s": round(audio_s / wall, 4) if wall > 0 else 0.0,
        "t3_s": round(t3_s, 3),
        "s3gen_s": round(s3gen_s, 3),
        "peak_mem_mb": round(peak_mb, 1),
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

    voice_seconds: length of the synthetic voice for in-memory weights (S3Gen's reference, which it re-reads for
    every chunk, is at most 10 s of it). With `model_dir`, the checkpoint's built-in voice is used if it has one.
    threads: torch intra-op threads for both sides (default: torch's). repeats: time each side this many times,
    alternating stock and batched, and keep each side's fastest run (for machines shared with other work).
    """
    from cbx_cli.engine.stock import _import_torch

    torch = _import_torch()
    if chunks < 1 or tokens < 1 or repeats < 1:
        raise ValueError("chunks, tokens and repeats must be at least 1")
    threads_before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        return _run(torch, model_dir, model, device, chunks, tokens, seed, voice_seconds, max_batch, repeats)
    finally:
        torch.set_num_threads(threads_before)


def _run(torch, model_dir, model, device, chunks, tokens, seed, voice_seconds, max_batch, repeats) -> dict:
    from cbx_cli.engine.batched import BatchedChatterboxEngine
    from cbx_cli.engine.stock import resolve_device

    engine = BatchedChatterboxEngine(
        EngineSpec(model=model, model_dir=Path(model_dir) if model_dir else None, device=device), max_batch=max_batch
    )
    with contextlib.redirect_stdout(sys.stderr):
        if model_dir is not None:
            engine.load()
            weights = str(model_dir)
            if engine.model.conds is None:
                with tempfile.TemporaryDirectory() as tmp:
                    import soundfile as sf

                    wav = Path(tmp) / "voice.wav"
                    sf.write(str(wav), synthetic_voice(voice_seconds), SAMPLE_RATE, subtype="PCM_16")
                    engine.set_voice(wav, 0.5)
            else:
                engine.set_voice(None, 0.5)
        else:
            if model != "original":
                raise ValueError(f"bench without --model-dir builds random weights for the original model only, "
                                 f"not {model}; pass --model-dir")
            engine.device, engine.device_warning = resolve_device(device)
            engine._torch = torch
            engine.model = _random_original(engine.device, seed, voice_seconds)
            engine.checkpoint_id = "random"
            engine.prepare_device()
            weights = "random (full size)"
        dev = engine.device
        work = bench_chunks(chunks, tokens, seed)
        warm = bench_chunks(1, min(tokens, 4), seed + 1000)

        _stock_chunk(engine.model, model, warm[0], dev)  # warm-ups, one short chunk each
        engine.synthesize(warm)
        stock = batched = None
        for _ in range(repeats):
            # (a) stock, one chunk at a time
            _reset_peak(torch, dev)
            _sync(torch, dev)
            t0 = time.perf_counter()
            runs = [_stock_chunk(engine.model, model, c, dev) for c in work]
            _sync(torch, dev)
            wall = time.perf_counter() - t0
            side = _side(wall, sum(r["tokens"] for r in runs), sum(r["audio_s"] for r in runs),
                         sum(r["t3_s"] for r in runs), sum(r["s3gen_s"] for r in runs), _peak_mb(torch, dev), chunks)
            stock = side if stock is None or side["wall_s"] < stock["wall_s"] else stock

            # (b) batched
            _reset_peak(torch, dev)
            _sync(torch, dev)
            t0 = time.perf_counter()
            waves = engine.synthesize(work)
            _sync(torch, dev)
            wall = time.perf_counter() - t0
            counts = engine.last_token_counts or [None] * len(work)
            n_tokens = sum(int(c) if c is not None else 0 for c in counts)
            side = _side(wall, n_tokens, sum(len(w) for w in waves) / SAMPLE_RATE, engine.timings["t3"],
                         engine.timings["s3gen"], _peak_mb(torch, dev), chunks)
            batched = side if batched is None or side["wall_s"] < batched["wall_s"] else batched
        batched["max_batch"] = engine.max_batch if engine.batchable() else 1
        batched["path"] = "batched" if engine.batchable() else "per-chunk (parent engine)"

    result = {
        "device": dev,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "model": model,
        "weights": weights,
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
    if model_dir is None:
        result["voice_seconds"] = voice_seconds
    if chunks == 1:
        result["latency_ratio"] = _ratio(batched["wall_s"], stock["wall_s"])
    return result


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
    if result["device"] == "cpu":
        lines.append("peak memory on the CPU is the process's peak RSS so far (the batched figure includes stock's).")
    return "\n".join(lines)


def _fmt(x) -> str:
    if isinstance(x, float):
        return f"{x:.3f}" if abs(x) < 1000 else f"{x:.0f}"
    return str(x)


def write_json(result: dict, path: Path) -> None:
    Path(path).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
