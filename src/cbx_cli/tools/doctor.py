"""What `cbx doctor` reports: whether this machine has what a command line needs (the packages, the device and its
memory, the Chatterbox model, the speech recognition models when it verifies, ffmpeg for the output format, disk
for the take cache, an audio device to play on), each missing piece with its fix; and (with --self-test) whether the
batched engine draws stock's tokens on this device."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from cbx_cli.engine.base import EngineSpec

SELF_TEST_TEXTS = (
    "The quick brown fox jumps over the lazy dog.",
    "Hello there.",
    "A third sentence, a little longer than the second, closes the test.",
)
SELF_TEST_TOKENS = 24
CACHE_FREE = 10**9
"""Free disk the take cache should have: about three hours of takes (24 kHz float32, about 350 MB an hour)."""
GPU_FREE = {"original": 6 * 2**30, "turbo": 5 * 2**30, "multilingual": 6 * 2**30}
"""GPU memory a model needs free to load and render a batch (its weights, a bfloat16 copy of T3, a batch's cache)."""


@dataclass
class Finding:
    name: str
    value: str
    ok: bool = True
    fix: str | None = None
    """What to do when it is not ok."""
    pull: str | None = None
    """The name `cbx models pull` fetches it by, for a missing model."""


@dataclass
class Needs:
    """What a command line needs of the machine."""

    model: str = "original"
    model_dir: Path | None = None
    revision: str | None = None
    device: str = "auto"
    speech: list[str] = field(default_factory=list)
    """The speech recognition models (names or folders) its verification hears takes with; none: it does not
    verify."""
    fmt: str | None = None
    """The output format; None: not known (no -o)."""
    bitrate: str | None = None
    cache_dir: Path | None = None
    play: bool = False


def needs_of(spec: EngineSpec, preset: str | None = None, verify: bool | None = None, language: str | None = None,
             verify_model: str | None = None, recheck_model: str | None = None, output: str | None = None,
             fmt: str | None = None, bitrate: str | None = None, cache_dir: Path | None = None,
             play: bool = False) -> Needs:
    """What a run with these options needs: its speech models when the preset or --verify turns verification on,
    its output's format (from -o or --format)."""
    from cbx_cli.config.params import VerifyOverrides
    from cbx_cli.config.presets import resolve_verify
    from cbx_cli.deliver.export import format_for
    from cbx_cli.verify.asr import default_models

    speech: list[str] = []
    if resolve_verify(preset, VerifyOverrides(enabled=verify)).enabled:
        check, recheck = default_models([language])
        speech = list(dict.fromkeys([verify_model or check, recheck_model or recheck]))
    kind = format_for(output, fmt) if output or fmt else None
    return Needs(spec.model, spec.model_dir, spec.revision, spec.device, speech, kind, bitrate, cache_dir, play)


def _packages(needs: Needs) -> list[Finding]:
    from cbx_cli.api import versions

    found = []
    for name, version in versions().items():
        if name == "cbx":
            found.append(Finding(name, version or ""))
        else:
            found.append(Finding(name, version or "not installed", version is not None, "pip install chatterbox-tts"))
    if needs.speech:
        try:
            from importlib.metadata import version

            found.append(Finding("faster-whisper", version("faster-whisper")))
        except Exception:  # noqa: BLE001 - not installed, or broken metadata
            found.append(Finding("faster-whisper", "not installed: needed to check takes (--verify)", False,
                                 "pip install faster-whisper, or run with --no-verify"))
    return found


def _device(needs: Needs) -> list[Finding]:
    try:
        import torch
    except ImportError:
        return [Finding("device", "torch is not installed", False, "pip install chatterbox-tts")]
    found = []
    cuda = torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None)
    has_mps = bool(mps and mps.is_available())
    if cuda:
        for i in range(torch.cuda.device_count()):
            free, total = torch.cuda.mem_get_info(i)
            need = GPU_FREE.get(needs.model, GPU_FREE["original"])
            found.append(Finding(f"cuda:{i}", f"{torch.cuda.get_device_name(i)}, {free / 2**30:.1f} of "
                                              f"{total / 2**30:.1f} GiB free", free >= need or needs.device == "cpu",
                                 f"free GPU memory: the {needs.model} model needs about {need / 2**30:.0f} GiB (stop "
                                 "what else runs on it), or run on the CPU (--device cpu)"))
    if needs.device == "cuda" and not cuda:
        found.append(Finding("cuda", "not available, and --device cuda asks for it", False,
                             "install PyTorch with CUDA for this GPU, or use --device auto or cpu"))
    elif needs.device == "mps" and not has_mps:
        found.append(Finding("mps", "not available, and --device mps asks for it", False,
                             "use --device auto or cpu"))
    elif not cuda and not has_mps and needs.device == "auto":
        found.append(Finding("device", "the CPU (no GPU found): it works, much more slowly"))
    elif has_mps and not cuda:
        found.append(Finding("device", "Apple MPS"))
    return found


def _chatterbox(needs: Needs) -> Finding:
    from cbx_cli.config.catalog import CATALOG, size_text
    from cbx_cli.engine import hub
    from cbx_cli.engine.weights import local_dir
    from cbx_cli.errors import ModelError

    name = f"model {needs.model}"
    if needs.model_dir is not None:
        try:
            folder = local_dir(needs.model_dir, needs.model)
        except ModelError as exc:
            return Finding(name, exc.message, False, "pass the folder of a Chatterbox checkpoint with --model-dir, "
                           f"or fetch one: cbx models pull {needs.model}")
        return Finding(name, f"--model-dir {folder}")
    entry = CATALOG[needs.model]
    found = hub.find(entry, needs.revision)
    if found is not None:
        return Finding(name, f"{entry.repo} at {found.revision[:12]} ({size_text(found.size)}) in the Hugging Face "
                             "cache")
    pinned = f"@{needs.revision}" if needs.revision else ""
    return Finding(name, f"{entry.repo} is not in the Hugging Face cache (about {size_text(entry.size)})", False,
                   f"cbx models pull {needs.model}{pinned} (or --model-dir DIR with a checkpoint)",
                   f"{needs.model}{pinned}")


def _speech(needs: Needs) -> list[Finding]:
    from cbx_cli.config.catalog import size_text, speech_entry
    from cbx_cli.engine import hub

    found = []
    for name in needs.speech:
        if name.lower() == "none":
            continue
        folder = Path(name).expanduser()
        if folder.is_dir():
            ok = (folder / "model.bin").is_file()
            found.append(Finding(f"speech {folder.name}", f"{folder}" + ("" if ok else ": no model.bin there"), ok,
                                 "pass a faster-whisper model folder (a CTranslate2 conversion)"))
            continue
        entry = speech_entry(name)
        cached = hub.find(entry)
        if cached is not None:
            found.append(Finding(f"speech {name}", f"{entry.repo} at {cached.revision[:12]} "
                                                   f"({size_text(cached.size)}) in the Hugging Face cache"))
        else:
            size = f" (about {size_text(entry.size)})" if entry.size else ""
            found.append(Finding(f"speech {name}", f"{entry.repo} is not in the Hugging Face cache{size}; it "
                                                   "checks takes (--verify, on in the audiobook preset)", False,
                                 f"cbx models pull {name}, or run with --no-verify", name))
    return found


def _ffmpeg(needs: Needs) -> Finding:
    from cbx_cli.deliver.ffmpeg import uses_ffmpeg

    path = shutil.which("ffmpeg")
    needed = needs.fmt is not None and uses_ffmpeg(needs.fmt, needs.bitrate)
    if not path:
        what = f"not found: .{needs.fmt} output needs it" if needed else "not found: needed for .m4b/.m4a/.opus"
        return Finding("ffmpeg", what, not needed, "apt install ffmpeg (or brew install ffmpeg), or choose .wav or "
                                                   ".flac")
    try:
        first = subprocess.run([path, "-version"], capture_output=True, text=True, timeout=10).stdout.splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        first = path
    return Finding("ffmpeg", first)


def _disk(needs: Needs) -> list[Finding]:
    from cbx_cli.config.paths import takes_dir

    folder = takes_dir(needs.cache_dir)
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        free = shutil.disk_usage(probe).free
    except OSError as exc:
        return [Finding("take cache", f"{folder}: {exc.strerror or exc}", False, "pass --cache-dir FOLDER")]
    ok = free >= CACHE_FREE
    return [Finding("take cache", f"{folder}, {free / 1e9:.1f} GB free", ok,
                    "free some disk there, or pass --cache-dir FOLDER on a disk with 1 GB or more free "
                    "(takes need about 350 MB per hour of audio)")]


def _player(needs: Needs) -> list[Finding]:
    if not needs.play:
        return []
    from cbx_cli.deliver.play import player
    from cbx_cli.errors import NoPlayer

    try:
        return [Finding("audio output", player()[1])]
    except NoPlayer as exc:
        return [Finding("audio output", exc.lacks, False, exc.fix)]


def diagnose(needs: Needs | None = None) -> list[Finding]:
    """Every piece the command line ``needs`` would use, each ok or not with its fix."""
    needs = needs or Needs()
    return [*_packages(needs), *_device(needs), _chatterbox(needs), *_speech(needs), _ffmpeg(needs), *_disk(needs),
            *_player(needs)]


def self_test(spec: EngineSpec, tokens: int = SELF_TEST_TOKENS, say: Callable[[str], None] | None = None) -> Finding:
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

    say = say or (lambda line: None)
    say(f"loading the {spec.model} model")
    engine = make_engine(replace(spec, batched=True))
    engine.load()
    if not engine.batchable():
        return Finding("self-test", f"the {spec.model} model runs the stock path: nothing to compare")
    greedy = SynthesisParams(min_p=1.0, top_k=1)  # only the most likely token survives (min_p; turbo: top_k)
    chunks = [Chunk(index=i, text=t, spoken=t, chapter=0, paragraph=0, pause_after=0.0, seed=i, max_tokens=tokens,
                    params=greedy) for i, t in enumerate(SELF_TEST_TEXTS)]
    voice = engine.voice(None)
    say(f"{len(chunks)} chunks of {tokens} tokens through the batched engine on {engine.info.device}, in one batch")
    t0 = time.perf_counter()
    fast = [for_s3gen(row) for row in engine.speech_tokens([TakeRequest(c, voice) for c in chunks])]
    t1 = time.perf_counter()
    say(f"the same {len(chunks)} chunks through stock Chatterbox, one at a time")
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
