"""What `cbx doctor` reports: torch and its devices, ffmpeg, the Chatterbox weights in the cache, and (with
--self-test) whether the batched engine draws stock's tokens on this device."""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass, replace

from cbx_cli.engine.base import EngineSpec

SELF_TEST_TEXTS = (
    "The quick brown fox jumps over the lazy dog.",
    "Hello there.",
    "A third sentence, a little longer than the second, closes the test.",
)
SELF_TEST_TOKENS = 24


@dataclass
class Finding:
    name: str
    value: str
    ok: bool = True


def _torch_findings() -> list[Finding]:
    try:
        import torch
    except ImportError:
        return [Finding("torch", "not installed (pip install chatterbox-tts)", ok=False)]
    found = [Finding("torch", torch.__version__)]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            free, total = torch.cuda.mem_get_info(i)
            found.append(Finding(f"cuda:{i}", f"{torch.cuda.get_device_name(i)}, {free / 2**30:.1f} of "
                                              f"{total / 2**30:.1f} GiB free"))
    else:
        found.append(Finding("cuda", "not available"))
    mps = getattr(torch.backends, "mps", None)
    found.append(Finding("mps", "available" if mps and mps.is_available() else "not available"))
    return found


def _ffmpeg() -> Finding:
    path = shutil.which("ffmpeg")
    if not path:
        return Finding("ffmpeg", "not found: needed for .m4b/.m4a/.opus (apt install ffmpeg)", ok=False)
    try:
        first = subprocess.run([path, "-version"], capture_output=True, text=True, timeout=10).stdout.splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        first = path
    return Finding("ffmpeg", first)


def _cached_models() -> list[Finding]:
    from cbx_cli.engine.weights import FILES, REPOS

    try:
        from huggingface_hub import scan_cache_dir

        repos = {r.repo_id: r for r in scan_cache_dir().repos}
    except Exception:  # no cache folder yet, or an unreadable one
        repos = {}
    found = []
    for model, repo_id in REPOS.items():
        repo = repos.get(repo_id)
        complete = []
        for rev in repo.revisions if repo else []:
            names = {f.file_name for f in rev.files}
            if all(f in names for f in FILES[model] if f != "conds.pt"):
                complete.append(rev.commit_hash[:12] + (f" ({', '.join(sorted(rev.refs))})" if rev.refs else ""))
        if complete:
            found.append(Finding(f"model {model}", f"{repo_id} at {'; '.join(complete)}"))
        else:
            found.append(Finding(f"model {model}", f"not in the Hugging Face cache ({repo_id})", ok=False))
    return found


def diagnose() -> list[Finding]:
    from cbx_cli.api import versions

    found = [Finding(name, v or "not installed", ok=v is not None) for name, v in versions().items()
             if name != "torch"]
    found += _torch_findings()
    found.append(_ffmpeg())
    found += _cached_models()
    return found


def self_test(spec: EngineSpec, tokens: int = SELF_TEST_TOKENS) -> Finding:
    """A few chunks, greedy, through the batched engine in one batch and through stock one at a time: whether the
    fast path draws stock's tokens on this device (with the built-in voice).

    With a bfloat16 T3 (a GPU's default) tokens may part from float32 stock's where two logits nearly tie; there the
    first token of each chunk must match and the share of equal tokens is reported.
    """
    from cbx_cli.config.params import SynthesisParams
    from cbx_cli.engine import make_engine
    from cbx_cli.engine.base import TakeRequest

    # The chunks are made here, not by the planner: a diagnostic needs fixed text, seeds and budgets only.
    from cbx_cli.plan.chunks import Chunk

    engine = make_engine(replace(spec, batched=True))
    engine.load()
    if not engine.batchable():
        return Finding("self-test", f"the {spec.model} model runs the stock path: nothing to compare")
    greedy = SynthesisParams(min_p=1.0, top_k=1)  # only the most likely token survives (min_p; turbo: top_k)
    chunks = [Chunk(index=i, text=t, spoken=t, chapter=0, paragraph=0, pause_after=0.0, seed=i, max_tokens=tokens,
                    params=greedy) for i, t in enumerate(SELF_TEST_TEXTS)]
    voice = engine.voice(None)
    t0 = time.perf_counter()
    fast = [for_s3gen(row) for row in engine.speech_tokens([TakeRequest(c, voice) for c in chunks])]
    t1 = time.perf_counter()
    slow = [stock_tokens(engine, c, voice) for c in chunks]
    t2 = time.perf_counter()
    where = (f"{len(chunks)} chunks x {tokens} tokens on {engine.info.device} "
             f"(batched {t1 - t0:.2f} s, stock {t2 - t1:.2f} s)")
    same = sum(a == b for f, s in zip(fast, slow, strict=True) for a, b in zip(f, s, strict=False))
    total = sum(max(len(f), len(s)) for f, s in zip(fast, slow, strict=True))
    if fast == slow:
        return Finding("self-test", f"batched path matches stock: {where}")
    if engine.t3.bf16 is not None and all(f[:1] == s[:1] for f, s in zip(fast, slow, strict=True)):
        return Finding("self-test", f"batched path (bfloat16) matches stock on {same} of {total} tokens: {where}")
    return Finding("self-test", f"batched path differs from stock ({same} of {total} tokens equal): {where}. "
                   "Use --no-batch, and report it.", ok=False)


def stock_tokens(engine, chunk, voice) -> list[int]:
    """Stock `T3.inference`'s speech tokens for one chunk, as `ChatterboxTTS.generate` hands them to S3Gen."""
    import torch

    torch.manual_seed(chunk.seed)
    with torch.inference_mode():
        tokens, _generated = engine.stock.speech_tokens(chunk, voice.conditionals)
    return tokens.tolist()


def for_s3gen(row) -> list[int]:
    """The batched decoder's raw tokens for one chunk, cleaned as stock cleans its own (`stock_tokens`)."""
    from chatterbox.models.s3tokenizer import SPEECH_VOCAB_SIZE, drop_invalid_tokens

    row = drop_invalid_tokens(row)
    return row[row < SPEECH_VOCAB_SIZE].tolist()
