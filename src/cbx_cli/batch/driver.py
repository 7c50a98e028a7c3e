"""The driver of a `cbx batch` run: every script planned once; the takes the cache lacks rendered by the workers,
longest batches first, and stored in the take cache here; then each script narrated from the cache by the library's
`Narrator`, the path `cbx book` takes, so each file is the bytes `cbx book` writes for that script."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cbx_cli.api import (
    Delivery,
    Engine,
    EngineFactory,
    EngineSpec,
    Job,
    Named,
    Narrator,
    Retakes,
    Script,
    Synthesis,
    TakeCache,
    TakeRequest,
    Voice,
    VoicePrompt,
    check_clashes,
    load_script,
    prepare,
    take_keys,
    warning_summary,
)
from cbx_cli.batch.pools import Event, LocalPool, RayPool
from cbx_cli.batch.worker import ModelFacts, Piece
from cbx_cli.config.params import NarrationOptions, ReadingOptions
from cbx_cli.config.presets import Presets
from cbx_cli.errors import OutputError, ParamError
from cbx_cli.files import check_output_path, kind, write_text

SUMMARY = "summary.json"


@dataclass(frozen=True)
class BatchOutputs:
    """Where a batch goes: ``folder/NAME.<fmt>`` for each script ``NAME.md``, its manifest (``NAME.json``) and
    subtitles (``NAME.srt``, ``NAME.vtt``) when asked, and ``folder/summary.json``."""

    folder: Path
    fmt: str = "wav"
    manifests: bool = False
    subtitles: tuple[str, ...] = ()
    bitrate: str | None = None
    author: str | None = None
    cover: Path | None = None

    def delivery(self, path: Path, script: Script) -> Delivery:
        """The outputs of the script read from ``path``, tagged with its own title, author, language and cover
        where the flags leave them unset."""
        base = self.folder / path.stem
        sides = {kind: base.with_suffix(f".{kind}") if kind in self.subtitles else None for kind in ("srt", "vtt")}
        return Delivery(str(base.with_suffix(f".{self.fmt}")), self.fmt, base.with_suffix(".json") if self.manifests
                        else None, sides["srt"], sides["vtt"], False, self.bitrate, None, self.author,
                        self.cover).with_book_tags(script)


@dataclass
class WorkerState:
    pid: int
    done: int = 0
    """Chunks rendered."""
    seconds: float = 0.0
    """Seconds of audio rendered."""
    busy: int = 0
    """Chunks in hand now."""
    lost: bool = False


@dataclass
class RunState:
    """The render as it goes, for progress: chunks to render, found in the cache, and each worker's share."""

    to_render: int
    cached: int
    workers: dict[str, WorkerState]
    started: float = field(default_factory=time.monotonic)
    requeued: int = 0
    stored: set[str] = field(default_factory=set)
    """Keys of every take the workers rendered (retries too)."""

    @property
    def done(self) -> int:
        return sum(w.done for w in self.workers.values())

    @property
    def seconds(self) -> float:
        return sum(w.seconds for w in self.workers.values())


@dataclass
class ScriptResult:
    script: str
    output: str
    chunks: int
    rendered: int
    """Chunks whose take this run rendered (the others came from the take cache)."""
    retried: int
    flagged: int
    duration: float
    warnings: list[str]


@dataclass
class BatchSummary:
    scripts: list[ScriptResult]
    workers: str
    """Where the takes were rendered: "this process" or the Ray workers."""
    per_worker: dict[str, WorkerState]
    requeued: int
    """Batches handed out again because their worker stopped."""
    render_wall: float
    wall: float

    @property
    def rendered_seconds(self) -> float:
        return sum(w.seconds for w in self.per_worker.values())

    def as_json(self) -> dict:
        total = {"scripts": len(self.scripts), "chunks": sum(s.chunks for s in self.scripts),
                 "rendered": sum(s.rendered for s in self.scripts),
                 "duration": round(sum(s.duration for s in self.scripts), 3), "wall": round(self.wall, 3),
                 "render_wall": round(self.render_wall, 3),
                 "rendered_audio_per_second": round(self.rendered_seconds / self.render_wall, 3)
                 if self.render_wall > 0 else 0.0}
        workers = {name: {k: v for k, v in asdict(w).items() if k != "busy"} for name, w in self.per_worker.items()}
        return {"scripts": [asdict(s) for s in self.scripts], "total": total, "workers": self.workers,
                "per_worker": workers, "requeued": self.requeued}


def make_pool(spec: EngineSpec, batch_size: int | None, cluster: str | None, worker_cpus: int = 1,
              max_workers: int | None = None,
              engine_factory: EngineFactory | None = None) -> Callable[[], LocalPool | RayPool]:
    """The workers a run uses: this process without ``cluster`` (its engine made by ``engine_factory``, default the
    library's), else Ray actors (``local``, ``auto`` or ``ray://HOST:PORT``) with the library's engines."""
    if cluster is None:
        return lambda: LocalPool(spec, batch_size, engine_factory)
    return lambda: RayPool(spec, batch_size, cluster, worker_cpus, max_workers)


def prepare_jobs(scripts: list[Path], outputs: BatchOutputs, options: NarrationOptions, spec: EngineSpec,
                 cache_dir: Path | None, reading: ReadingOptions | None = None,
                 retakes: Path | None = None) -> list[tuple[Job, Delivery]]:
    """Every script read (books as ``reading`` says), checked and planned with its retake picks (beside it, or all
    in ``retakes``), and every output of the run (each script's files and the summary) checked against every input
    of every script, before any worker starts; the preset files are read once for all of them."""
    summary = outputs.folder / SUMMARY
    what = _not_a_file(summary)
    if what is not None:
        raise OutputError(f"-o folder '{outputs.folder}' has {what} named {SUMMARY}, where cbx batch writes its "
                          "summary. Move it, or choose another -o folder.")
    check_output_path(str(summary), "-o")
    presets = Presets()
    jobs = []
    for path in scripts:
        script, name = load_script(str(path), reading=reading)
        out = outputs.delivery(path, script)
        picks = Retakes.load(retakes) if retakes is not None else Retakes.beside(path)
        jobs.append((prepare(script, options, model=spec.model, source_name=name, delivery=out,
                             model_dir=spec.model_dir, cache_dir=cache_dir, presets=presets, retakes=picks), out))
    written = [p for _, out in jobs for p in (Path(out.output), *[n.path for n in out.outputs()[1:]])]
    written.append(summary)
    counts = Counter(written)
    repeated = next((p for p in written if counts[p] > 1), None)
    if repeated is not None:
        raise OutputError(f"Two outputs of this batch would be '{repeated}'. Rename the script named like it.")
    check_clashes([Named(f"{p.name} in -o", p) for p in written], _reads(jobs))
    return jobs


def _not_a_file(path: Path) -> str | None:
    """What ``path`` is when it exists and is not a regular file ("a folder", "a FIFO (named pipe)"), else None."""
    try:
        return kind(path.stat().st_mode)
    except OSError:
        return None


def _reads(jobs: list[tuple[Job, Delivery]]) -> list[Named]:
    """Every file the run reads, once: each script with its voices, and what all of them share."""
    found: dict[Path, Named] = {}
    for job, _ in jobs:
        for named in job.inputs:
            found.setdefault(Path(named.path), named)
    return list(found.values())


def check_batchable(options: NarrationOptions) -> None:
    """Takes rendered by workers are not transcribed: refuse a run that asks for verification rather than skip it."""
    from cbx_cli.config.presets import resolve_verify

    if resolve_verify(options.preset, options.verification()).enabled:
        raise ParamError("cbx batch does not verify takes: pass --no-verify (the audiobook preset verifies), or "
                         "narrate the scripts that need it with cbx book --verify.")


def narrate_batch(scripts: list[Path], outputs: BatchOutputs, options: NarrationOptions, spec: EngineSpec,
                  pool_factory: Callable[[], LocalPool | RayPool], cache_dir: Path | None, batch_size: int = 8,
                  on_progress: Callable[[RunState], None] | None = None,
                  reading: ReadingOptions | None = None, retakes: Path | None = None,
                  command: Callable[[Job, Delivery], dict] | None = None) -> BatchSummary:
    """Narrate every script into ``outputs``; ``cache_dir`` None keeps takes in a folder removed afterwards;
    ``reading`` says how books are read. ``options.chapters`` picks the same chapters of every script. ``retakes``:
    one file of retake picks for every script (default: each script's own, beside it); ``command`` gives what each
    manifest records of the run (`cbx retake MANIFEST` reads it)."""
    check_batchable(options)
    started = time.monotonic()
    jobs = prepare_jobs(scripts, outputs, options, spec, cache_dir, reading, retakes)
    with _cache_folder(cache_dir) as cache_root:
        pool = pool_factory()
        try:
            facts = _describe([job for job, _ in jobs], pool)
            cache = TakeCache(cache_root)
            keyed = [_keyed(job, facts) for job, _ in jobs]
            missing = {key: piece for pieces in keyed for key, piece in pieces
                       if not _cached(cache, key, piece.chunk.spoken, facts)}
            state = RunState(len(missing), sum(len(k) for k in keyed) - len(missing),
                             {name: WorkerState(pid) for name, pid in pool.workers.items()})
            render_started = time.monotonic()
            on_event = _storing(cache, state, on_progress)
            state.requeued = pool.run(_batches(list(missing.values()), batch_size), options.retries, on_event)
            render_wall = time.monotonic() - render_started
            owners = Counter(_owners(keyed, missing))
            results = [_narrate(job, out, facts, pool, spec, cache_root, owners[n], command, state.stored)
                       for n, (job, out) in enumerate(jobs)]
        finally:
            pool.close()
    summary = BatchSummary(results, pool.description, state.workers, state.requeued, render_wall,
                           time.monotonic() - started)
    write_text(outputs.folder / SUMMARY, json.dumps(summary.as_json(), indent=2, ensure_ascii=False) + "\n")
    return summary


@contextmanager
def _cache_folder(cache_dir: Path | None) -> Iterator[Path]:
    """The take cache's folder; without one (--no-cache), a folder of this run's own, removed after it."""
    if cache_dir is not None:
        yield cache_dir
        return
    folder = Path(tempfile.mkdtemp(prefix="cbx-batch-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _describe(jobs: list[Job], pool) -> dict[str, ModelFacts]:
    """Each model the scripts use, described by a worker, with the id of every voice it speaks in."""
    prompts: dict[str, set] = {}
    for job in jobs:
        prompts.setdefault(job.model, set()).add(job.voice(None))
        for chunk in job.chunks:
            prompts.setdefault(chunk.model, set()).add(job.voice(chunk.voice))
    return {model: pool.describe(model, list(wanted)) for model, wanted in prompts.items()}


def _keyed(job: Job, facts: dict[str, ModelFacts]) -> list[tuple[str, Piece]]:
    """Each chunk of the job with its take cache key, the key `cbx book` looks it up by."""
    keys = take_keys(job, {m: f.identity for m, f in facts.items()}, {m: f.voice_ids for m, f in facts.items()})
    return [(key, Piece(chunk, job.voice(chunk.voice))) for key, chunk in zip(keys, job.chunks, strict=True)]


def _cached(cache: TakeCache, key: str, text: str, facts: dict[str, ModelFacts]) -> bool:
    hit = cache.get(key, text)
    return hit is not None and hit.sample_rate in {f.sample_rate for f in facts.values()}


def _owners(keyed: list[list[tuple[str, Piece]]], missing: dict[str, Piece]) -> list[int]:
    """For each take rendered, the script it is counted for: the first that has it (scripts may share takes)."""
    owner: dict[str, int] = {}
    for n, pieces in enumerate(keyed):
        for key, _ in pieces:
            if key in missing:
                owner.setdefault(key, n)
    return list(owner.values())


def _batches(pieces: list[Piece], batch_size: int) -> list[list[Piece]]:
    """Pieces of similar length together (less padding), the longest batches first, so the last batches to finish
    are short ones and no worker waits long on another at the end."""
    ordered = sorted(pieces, key=lambda p: len(p.chunk.spoken), reverse=True)
    return [ordered[i : i + batch_size] for i in range(0, len(ordered), max(1, batch_size))]


def _storing(cache: TakeCache, state: RunState, on_progress) -> Callable[[Event], None]:
    """What the driver does as batches come and go: store finished takes in the cache, count, report."""

    def on_event(event: Event) -> None:
        worker = state.workers[event.worker]
        if event.kind == "start":
            worker.busy = event.pieces
        elif event.kind == "lost":
            worker.busy, worker.lost = 0, True
        else:
            for entry in event.result.entries:
                cache.put(entry.key, entry.audio, entry.sample_rate, entry.tokens, entry.text)
                state.stored.add(entry.key)
            worker.busy = 0
            worker.done += event.pieces
            worker.seconds += event.result.seconds
        if on_progress:
            on_progress(state)

    return on_event


class DriverEngine(Engine):
    """The engine as the driver's `Narrator` sees it: a worker's facts give the take cache's keys and the manifest's
    header; a take the cache lacks (it could not store one) is synthesized by a worker. Its `Voice` carries the
    prompt where a loaded engine keeps conditioning: the worker computes that."""

    def __init__(self, model: str, facts: ModelFacts, pool):
        self.model, self.facts, self.pool = model, facts, pool
        self.sample_rate = facts.sample_rate
        self.info = facts.info
        self.timings = {"t3": 0.0, "s3gen": 0.0}

    def load(self) -> None:
        pass

    def identity(self) -> str:
        return self.facts.identity

    def voice(self, prompt: VoicePrompt | None) -> Voice:
        return Voice(self.facts.voice_ids[prompt], prompt)

    def synthesize(self, requests: list[TakeRequest]) -> list[Synthesis]:
        return self.pool.synthesize(self.model, [Piece(r.chunk, r.voice.conditionals) for r in requests])


def _narrate(job: Job, out: Delivery, facts: dict[str, ModelFacts], pool, spec: EngineSpec, cache_root: Path,
             rendered: int, command: Callable[[Job, Delivery], dict] | None = None,
             made: set[str] = frozenset()) -> ScriptResult:
    """One script narrated from the take cache, as `cbx book` narrates it, and written. ``made``: the keys of the
    takes this run's workers rendered (their warnings are new, not an earlier run's)."""
    narrator = Narrator(spec.model, model_dir=spec.model_dir, revision=spec.revision, device=spec.device,
                        batched=spec.batched, cache_dir=cache_root,
                        engine_factory=lambda s, _store: DriverEngine(s.model, facts[s.model], pool))
    narration = narrator.narrate(job)
    for take in narration.takes:
        take.from_cache = take.key not in made
    if command is not None:
        narration.info["command"] = command(job, out)
    out.write(narration)
    st = narration.stats
    return ScriptResult(job.source_name or "", out.output, len(narration.takes), rendered, st.retried, st.flagged,
                        round(narration.duration, 3), warning_summary(narration))
