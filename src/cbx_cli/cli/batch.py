"""`cbx batch`: many scripts into one folder, in this process or on Ray workers; rich progress per worker."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from cbx_cli.cli.app import EXIT_INTERRUPTED, State, app, err, fail, setup_logging, warn
from cbx_cli.cli.narrate import narration_options, reading_options
from cbx_cli.cli.options import with_options
from cbx_cli.cli.signals import stopped_by


@app.command()
@with_options("out_folder", "fmt", "sample_rate", "manifests", "subtitles", "author", "cover", "bitrate", "speed",
              "volume", "narration", "book", "model", "run", "cluster", "worker_cpus", "max_workers")
def batch(
    scripts: Annotated[list[str], typer.Argument(help="Scripts (.md, .txt) and books (.epub, .docx, .html, .pdf), "
                                                 "folders of them, or globs.")], opts
) -> None:
    """Narrate many scripts, one output per script (ch01.md → FOLDER/ch01.wav), plus FOLDER/summary.json."""
    from cbx_cli.api import DEFAULT_BATCH, EngineSpec, RenderInterrupted, format_for
    from cbx_cli.batch.driver import BatchOutputs, check_batchable, make_pool, narrate_batch
    from cbx_cli.batch.scripts import expand_scripts
    from cbx_cli.config.params import ClusterOptions, RunOptions, check_options
    from cbx_cli.config.paths import takes_dir
    from cbx_cli.errors import OutputError

    setup_logging(opts.debug)
    options = narration_options(opts)
    reading = reading_options(opts)
    check_batchable(options)  # before the output folder is made
    where = check_options(ClusterOptions, cluster=opts.cluster, worker_cpus=opts.worker_cpus,
                          max_workers=opts.max_workers)
    check_options(RunOptions, batch_size=opts.batch_size)
    fmt = format_for("x", opts.fmt or "wav")
    subtitles = tuple(opts.subtitles or ())
    for kind in subtitles:
        if kind not in ("srt", "vtt"):
            raise OutputError(f"--subtitles takes srt or vtt, not '{kind}'.")
    outputs = BatchOutputs(_folder(opts.out_folder), fmt, opts.manifests, subtitles, opts.bitrate, opts.author,
                           opts.cover)
    found = expand_scripts(scripts)
    spec = EngineSpec.from_options(opts.model.value, opts.model_dir, opts.device.value, None, not opts.no_batch,
                                   opts.revision)
    cache_dir = None if opts.no_cache else takes_dir(opts.cache_dir)
    pool = make_pool(spec, opts.batch_size, where.cluster, where.worker_cpus, where.max_workers, State.engine_factory)
    try:
        with BatchProgress(err, enabled=not opts.quiet and err.is_terminal) as progress:
            summary = narrate_batch(found, outputs, options, spec, pool, cache_dir, opts.batch_size or DEFAULT_BATCH,
                                    progress.update, reading)
    except RenderInterrupted:
        where = "are in the cache; run the same command again to resume" if cache_dir else \
            "are not kept (--no-cache); a new run starts over"
        fail(f"{stopped_by()}: the takes finished so far {where}.", EXIT_INTERRUPTED)
    for result in summary.scripts:
        for warning in result.warnings:
            warn(f"{result.script}: {warning}")
    if not opts.quiet:
        _print_summary(summary, outputs.folder)


def _folder(folder):
    """-o FOLDER: made if missing (inside an existing folder); never a file."""
    from cbx_cli.errors import OutputError

    if folder.exists() and not folder.is_dir():
        raise OutputError(f"-o must name a folder for cbx batch, and '{folder}' is a file. Choose a folder.")
    if not folder.exists():
        if not folder.parent.is_dir():
            raise OutputError(f"Folder '{folder.parent}' does not exist. Create it first (mkdir -p {folder.parent}).")
        folder.mkdir()
    return folder


def _print_summary(summary, folder) -> None:
    total = summary.as_json()["total"]
    lost = sum(w.lost for w in summary.per_worker.values())
    losses = f"; {lost} worker(s) lost, {summary.requeued} batch(es) rendered again" if lost else ""
    err.print(
        f"Wrote {total['scripts']} file(s) to {folder} (summary: {folder / 'summary.json'}): {total['chunks']} "
        f"chunks ({total['rendered']} rendered, {total['chunks'] - total['rendered']} from cache) by "
        f"{summary.workers}; {total['duration']:.1f} s of audio in {summary.wall:.1f} s; rendering made "
        f"{total['rendered_audio_per_second']:.2f} s of audio per second{losses}.",
        markup=False,
    )


class BatchProgress:
    """One bar for the run (chunks, seconds of audio, speed, ETA) and one line per worker."""

    def __init__(self, console: Console, enabled: bool):
        self.enabled = enabled
        self._console = console
        self._bar: Progress | None = None
        self._tasks: dict[str, int] = {}

    def __enter__(self) -> BatchProgress:
        if self.enabled:
            self._bar = Progress(TextColumn("{task.description:>10}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[audio]:.1f} s audio {task.fields[note]}"),
                                 TimeRemainingColumn(), console=self._console, transient=True)
            self._bar.__enter__()
            self._tasks["all"] = self._bar.add_task("chunks", total=None, audio=0.0, note="")
        return self

    def update(self, state) -> None:
        if self._bar is None:
            return
        speed = state.seconds / max(time.monotonic() - state.started, 1e-9)
        self._bar.update(self._tasks["all"], total=state.to_render, completed=state.done, audio=state.seconds,
                         note=f"{speed:.2f} s/s, {state.cached} cached")
        for name, worker in state.workers.items():
            if name not in self._tasks:
                self._tasks[name] = self._bar.add_task(name, total=None, audio=0.0, note="")
            note = "lost" if worker.lost else f"rendering {worker.busy}" if worker.busy else "idle"
            self._bar.update(self._tasks[name], completed=worker.done, audio=worker.seconds, note=note)

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
