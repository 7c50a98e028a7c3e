"""One narration job, end to end: plan → render → assemble → normalize → export. No printing here."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cbx_cli import __version__
from cbx_cli.audio.assemble import assemble
from cbx_cli.audio.export import check_output_path, export, resample
from cbx_cli.audio.loudness import normalize
from cbx_cli.cache import TakeCache
from cbx_cli.engine.base import Engine, EngineSpec
from cbx_cli.errors import OutputError, RenderError
from cbx_cli.manifest import build_manifest, write_manifest
from cbx_cli.params import AssemblySettings, SynthesisParams
from cbx_cli.plan import Plan, plan
from cbx_cli.render import ProgressFn, RenderStats, render
from cbx_cli.text.normalize import Lexicon
from cbx_cli.text.script import Script
from cbx_cli.voice import check_voice

log = logging.getLogger(__name__)


@dataclass
class Job:
    script: Script
    synthesis: SynthesisParams
    assembly: AssemblySettings
    spec: EngineSpec
    output: str
    fmt: str
    voice: Path | None = None
    sample_rate: int | None = None
    manifest: Path | None = None
    batch_size: int = 8
    cache_dir: Path | None = None
    """Where takes are cached; None disables the cache."""
    retries: int = 2
    strict: bool = False
    lexicon: Lexicon | None = None


@dataclass
class Result:
    plan: Plan
    duration: float
    wall: float
    chunks: int
    stats: RenderStats = field(default_factory=RenderStats)
    warnings: list[str] = field(default_factory=list)


def make_engine(spec: EngineSpec) -> Engine:
    from cbx_cli.engine.chatterbox import ChatterboxEngine

    return ChatterboxEngine(spec)


def prepare(job: Job) -> Plan:
    """Everything that can fail on bad input, checked before any model loads."""
    check_output_path(job.output)
    if job.manifest is not None:
        check_output_path(str(job.manifest))
        if str(job.manifest) == job.output:
            raise OutputError("--manifest must not be the audio output path. Choose another file name.")
    if job.voice is not None:
        check_voice(job.voice, job.spec.model)
    return plan(job.script, job.synthesis, job.assembly, job.spec.model, job.spec.language, job.lexicon)


def run(
    job: Job,
    engine: Engine | None = None,
    on_progress: ProgressFn | None = None,
    on_loaded: Callable[[Engine], None] | None = None,
    stdout=None,
) -> Result:
    started = time.monotonic()
    the_plan = prepare(job)
    engine = engine or make_engine(job.spec)
    engine.load()
    engine.set_voice(job.voice, job.synthesis.exaggeration)
    if on_loaded:
        on_loaded(engine)
    cache = TakeCache(job.cache_dir) if job.cache_dir is not None else None
    stats = RenderStats()
    takes = render(the_plan.chunks, engine, job.batch_size, on_progress, cache, job.retries, stats)
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
    audio = normalize(program.audio, program.sample_rate, job.assembly.loudness, job.assembly.peak)
    sr = job.sample_rate or program.sample_rate
    audio = resample(audio, program.sample_rate, sr)
    export(audio, sr, job.output, job.fmt, stdout=stdout)
    if job.manifest is not None:
        info = {
            "model": job.spec.model,
            "checkpoint": getattr(engine, "checkpoint_id", None),
            "revision": getattr(engine, "revision", None),
            "engine": engine.identity(),
            "versions": versions(),
            "sample_rate": sr,
            "duration": round(len(audio) / sr, 3),
        }
        write_manifest(job.manifest, build_manifest(takes, program.spans, info))
    return Result(the_plan, len(audio) / sr, time.monotonic() - started, len(takes), stats, warnings)


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

