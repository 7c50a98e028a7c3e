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
from cbx_cli.engine.base import Engine, EngineSpec
from cbx_cli.errors import OutputError
from cbx_cli.manifest import build_manifest, write_manifest
from cbx_cli.params import AssemblySettings, SynthesisParams
from cbx_cli.plan import Plan, plan
from cbx_cli.render import ProgressFn, render
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


@dataclass
class Result:
    plan: Plan
    duration: float
    wall: float
    chunks: int
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
    return plan(job.script, job.synthesis, job.assembly, job.spec.model, job.spec.language)


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
    takes = render(the_plan.chunks, engine, job.batch_size, on_progress)
    program = assemble(
        [t.audio for t in takes], [c.pause_after for c in the_plan.chunks], engine.sample_rate,
        job.assembly.crossfade_ms,
    )
    audio = normalize(program.audio, program.sample_rate, job.assembly.loudness, job.assembly.peak)
    sr = job.sample_rate or program.sample_rate
    audio = resample(audio, program.sample_rate, sr)
    export(audio, sr, job.output, job.fmt, stdout=stdout)
    if job.manifest is not None:
        info = {
            "cbx_version": __version__,
            "model": job.spec.model,
            "engine": engine.identity(),
            "sample_rate": sr,
            "duration": round(len(audio) / sr, 3),
        }
        write_manifest(job.manifest, build_manifest(the_plan.chunks, program.spans, info))
    return Result(the_plan, len(audio) / sr, time.monotonic() - started, len(takes), list(the_plan.warnings))
