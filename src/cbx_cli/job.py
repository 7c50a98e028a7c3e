"""One narration job, end to end: plan → render → assemble → normalize → export. No printing here."""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from cbx_cli import __version__
from cbx_cli.assemble.assemble import assemble
from cbx_cli.assemble.effects import apply_volume, change_speed, scale_spans
from cbx_cli.assemble.loudness import normalize
from cbx_cli.config.params import AssemblySettings, SynthesisParams
from cbx_cli.deliver.export import check_output_path, export, resample, write_bytes_atomic
from cbx_cli.deliver.ffmpeg import chapters_from_spans, check_options, export_ffmpeg, uses_ffmpeg
from cbx_cli.deliver.manifest import build_manifest, write_manifest
from cbx_cli.deliver.subtitles import cues_from_manifest, to_srt, to_vtt
from cbx_cli.engine.base import Engine, EngineSpec
from cbx_cli.errors import OutputError, RenderError
from cbx_cli.parse.directives import check_voices
from cbx_cli.parse.script import Script
from cbx_cli.plan.chunks import Plan, plan
from cbx_cli.plan.lexicon import Lexicon
from cbx_cli.render.cache import TakeCache
from cbx_cli.render.takes import Progress, ProgressFn, RenderStats, render
from cbx_cli.voices.reference import VoiceRef, resolve_voice

log = logging.getLogger(__name__)


@dataclass
class Job:
    script: Script
    synthesis: SynthesisParams
    assembly: AssemblySettings
    spec: EngineSpec
    output: str
    fmt: str
    voice: str | None = None
    """--voice: a file, an http(s) URL or a library voice name."""
    sample_rate: int | None = None
    manifest: Path | None = None
    batch_size: int = 8
    cache_dir: Path | None = None
    """Where takes are cached; None disables the cache."""
    retries: int = 2
    strict: bool = False
    lexicon: Lexicon | None = None
    speed: float = 1.0
    volume: float = 0.0
    """Gain in dB applied after loudness normalization."""
    title: str | None = None
    author: str | None = None
    cover: Path | None = None
    bitrate: str | None = None
    split_chapters: bool = False
    """Write one numbered file per chapter into the folder named by ``output``."""
    srt: Path | None = None
    vtt: Path | None = None
    source_name: str | None = None
    """The script's file name, for messages that point at a line."""
    block_params: Callable | None = None
    """Resolves a directive's preset into sampling values (see plan.plan)."""


@dataclass
class Result:
    plan: Plan
    duration: float
    wall: float
    chunks: int
    stats: RenderStats = field(default_factory=RenderStats)
    warnings: list[str] = field(default_factory=list)


def make_engine(spec: EngineSpec) -> Engine:
    """The batched engine by default; the stock per-chunk path with --no-batch."""
    if spec.batched:
        from cbx_cli.engine.batched import BatchedChatterboxEngine

        return BatchedChatterboxEngine(spec)
    from cbx_cli.engine.stock import ChatterboxEngine

    return ChatterboxEngine(spec)


def prepare(job: Job) -> tuple[Plan, dict[str | None, VoiceRef | None]]:
    """Everything that can fail on bad input, checked before any model loads."""
    if job.split_chapters:
        check_split_folder(job.output)
    else:
        check_output_path(job.output)
    for flag, side in (("--manifest", job.manifest), ("--srt", job.srt), ("--vtt", job.vtt)):
        if side is not None:
            check_output_path(str(side))
            if str(side) == job.output:
                raise OutputError(f"{flag} must not be the audio output path. Choose another file name.")
    if uses_ffmpeg(job.fmt, job.bitrate):
        check_options(job.fmt, job.bitrate, job.cover)
    elif job.cover is not None:
        raise OutputError(f"A cover image cannot be attached to .{job.fmt}; use .m4b, .m4a or .mp3.")
    elif job.bitrate is not None:
        raise OutputError(f"--bitrate applies to .mp3, .opus, .m4a and .m4b, not .{job.fmt}.")
    from cbx_cli.voices.library import list_voices

    check_voices(job.script, {v.name for v in list_voices()}, job.source_name)
    the_plan = plan(job.script, job.synthesis, job.assembly, job.spec.model, job.spec.language, job.lexicon,
                    job.block_params)
    voices = {None: resolve_voice(job.voice, job.spec.model)}
    for chunk in the_plan.chunks:
        if chunk.voice not in voices:
            voices[chunk.voice] = resolve_voice(chunk.voice, chunk.model)
    return the_plan, voices


def run(
    job: Job,
    engine: Engine | None = None,
    on_progress: ProgressFn | None = None,
    on_loaded: Callable[[Engine], None] | None = None,
    stdout=None,
) -> Result:
    started = time.monotonic()
    the_plan, voices = prepare(job)
    cache = TakeCache(job.cache_dir) if job.cache_dir is not None else None
    stats = RenderStats()
    engines: dict[str, Engine] = {}
    groups: dict[tuple[str, str | None], list] = {}
    for chunk in the_plan.chunks:
        groups.setdefault((chunk.model, chunk.voice), []).append(chunk)
    rendered: list = []
    for (model, voice), group in groups.items():
        if model not in engines:
            engines[model] = engine or make_engine(replace(job.spec, model=model))
            engines[model].load()
            if on_loaded:
                on_loaded(engines[model])
        current = engines[model]
        current.set_voice(voices[voice] if voice is not None else voices[None], job.synthesis.exaggeration)
        done_before = len(rendered)
        seconds_before = sum(t.seconds for t in rendered)
        progress = _offset(on_progress, done_before, seconds_before, len(the_plan.chunks)) if on_progress else None
        rendered += render(group, current, job.batch_size, progress, cache, job.retries, stats)
    takes = sorted(rendered, key=lambda t: t.chunk.index)
    engine = engines[job.spec.model] if job.spec.model in engines else next(iter(engines.values()))
    warnings = list(the_plan.warnings)
    for take in takes:
        for problem in take.warnings:
            warnings.append(f"chunk {take.chunk.index + 1} ({_excerpt(take.chunk.text)}): {problem}")
    if job.strict and stats.flagged:
        raise RenderError(
            f"{stats.flagged} chunk(s) still bad after {job.retries} retries (--strict): "
            + "; ".join(w for w in warnings if w.startswith("chunk "))[:400]
        )
    program = assemble(
        [t.audio for t in takes], [t.chunk.pause_after for t in takes], engine.sample_rate,
        job.assembly.crossfade_ms,
    )
    audio, spans = program.audio, program.spans
    if job.speed != 1.0:
        audio = change_speed(audio, program.sample_rate, job.speed)
        spans = scale_spans(spans, job.speed)
    audio = normalize(audio, program.sample_rate, job.assembly.loudness, job.assembly.peak, job.assembly.rms_range)
    if job.volume:
        audio = apply_volume(audio, job.volume)
    sr = job.sample_rate or program.sample_rate
    audio = resample(audio, program.sample_rate, sr)
    duration = len(audio) / sr
    chapters = chapters_from_spans(spans, [t.chunk.chapter for t in takes], the_plan.chapter_titles, duration)
    if job.split_chapters:
        write_chapter_files(job, audio, sr, chapters)
    elif uses_ffmpeg(job.fmt, job.bitrate):
        export_ffmpeg(audio, sr, job.output, job.fmt, chapters if len(chapters) > 1 else None, job.title,
                      job.author, job.cover, job.bitrate, stdout=stdout)
    else:
        export(audio, sr, job.output, job.fmt, stdout=stdout)
    info = {
        "model": job.spec.model,
        "checkpoint": getattr(engine, "checkpoint_id", None),
        "revision": getattr(engine, "revision", None),
        "engine": engine.identity(),
        "versions": versions(),
        "sample_rate": sr,
        "duration": round(duration, 3),
        "chapters": [{"title": t, "start": round(a, 3), "end": round(b, 3)} for a, b, t in chapters],
    }
    manifest = build_manifest(takes, spans, info)
    if job.manifest is not None:
        write_manifest(job.manifest, manifest)
    if job.srt is not None or job.vtt is not None:
        cues = cues_from_manifest(manifest["chunks"])
        if job.srt is not None:
            write_bytes_atomic(job.srt, to_srt(cues).encode("utf-8"))
        if job.vtt is not None:
            write_bytes_atomic(job.vtt, to_vtt(cues).encode("utf-8"))
    return Result(the_plan, duration, time.monotonic() - started, len(takes), stats, warnings)


def _offset(on_progress: ProgressFn, done_before: int, seconds_before: float, total: int) -> ProgressFn:
    """Progress of one voice/model group, reported as progress of the whole run."""

    def report(p: Progress) -> None:
        on_progress(Progress(done_before + p.done, total, seconds_before + p.audio_seconds, p.elapsed, p.cached))

    return report


def check_split_folder(folder: str) -> None:
    """--split-chapters writes into a folder: it may exist, or be new inside an existing folder."""
    path = Path(folder)
    if folder == "-":
        raise OutputError("--split-chapters writes files into a folder; give -o FOLDER, not -o -.")
    if path.exists() and not path.is_dir():
        raise OutputError(f"--split-chapters needs -o to name a folder, and '{folder}' is a file.")
    if not path.exists() and not path.parent.is_dir():
        raise OutputError(f"Output folder '{path.parent}' does not exist. Create it first (mkdir -p {path.parent}).")


def write_chapter_files(job: Job, audio, sr: int, chapters: list[tuple[float, float, str]]) -> list[Path]:
    """One numbered file per chapter, cut from the normalized program, each written atomically."""
    folder = Path(job.output)
    folder.mkdir(exist_ok=True)
    written = []
    width = max(2, len(str(len(chapters))))
    for n, (start, end, title) in enumerate(chapters, 1):
        piece = audio[int(round(start * sr)) : int(round(end * sr))]
        path = folder / f"{n:0{width}d}-{slug(title)}.{job.fmt}"
        if uses_ffmpeg(job.fmt, job.bitrate):
            export_ffmpeg(piece, sr, str(path), job.fmt, None, title, job.author, job.cover, job.bitrate)
        else:
            export(piece, sr, str(path), job.fmt)
        written.append(path)
    return written


def slug(title: str) -> str:
    """A file-name-safe form of a chapter title."""
    text = re.sub(r"[^\w\s-]", "", unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode())
    return re.sub(r"[\s_-]+", "-", text).strip("-").lower()[:60] or "chapter"


def versions() -> dict[str, str | None]:
    """Versions of cbx, chatterbox-tts and torch, for manifests and `cbx doctor`."""
    from importlib.metadata import PackageNotFoundError, version

    found: dict[str, str | None] = {"cbx": __version__}
    for dist in ("chatterbox-tts", "torch"):
        try:
            found[dist] = version(dist)
        except PackageNotFoundError:
            found[dist] = None
    return found


def _excerpt(text: str, width: int = 40) -> str:
    return f'"{text}"' if len(text) <= width else f'"{text[: width - 1]}…"'

