"""`cbx say` and `cbx book`: options → the library's Narrator; rich progress; warnings and a summary on stderr."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Annotated

import typer

from cbx_cli.cli.app import EXIT_INTERRUPTED, State, app, err, fail, setup_logging, warn
from cbx_cli.cli.options import SAMPLING, with_options
from cbx_cli.cli.signals import stopped_by


@app.command()
@with_options("output", "narration", "model", "run")
def say(
    text: Annotated[str, typer.Argument(help="The text to speak, or - to read it from stdin.")], opts
) -> None:
    """Speak a line of text (or stdin) into one audio file."""
    from cbx_cli.api import load_say

    narrate(opts, lambda: (load_say(text), None))


SCRIPT_HELP = "A script (.md, .txt) or book (.epub, .docx, .html, .pdf), or - for stdin."


@app.command()
@with_options("output", "narration", "book", "model", "run")
def book(script: Annotated[str, typer.Argument(help=SCRIPT_HELP)], opts) -> None:
    """Narrate a whole script or book: chapters from headings (a book's own table of contents), paragraphs with
    pauses, one finished file tagged with the book's title, author, language and cover."""
    from cbx_cli.api import load_script

    narrate(opts, lambda: load_script(script, reading=reading_options(opts)))


def reading_options(opts: SimpleNamespace):
    """How a book is read (--notes, --matter)."""
    from cbx_cli.config.params import ReadingOptions, check_options

    return check_options(ReadingOptions, notes=opts.notes, matter=opts.matter)


def narration_options(opts: SimpleNamespace):
    """The library's NarrationOptions from the flags (every range checked there, once)."""
    from cbx_cli.config.params import NarrationOptions, check_options

    values = {name: getattr(opts, name) for name in (*SAMPLING, "preset", "voice", "language", "lexicon", "date_order")
              if hasattr(opts, name)}
    for name in ("speed", "volume", "sample_rate", "retries", "strict", "verify", "verify_tolerance", "candidates",
                 "verify_model", "recheck_model", "chapters"):
        if hasattr(opts, name):
            values[name] = getattr(opts, name)
    return check_options(NarrationOptions, **values)


def make_narrator(opts: SimpleNamespace):
    """The library's Narrator for --model, --model-dir, --revision, --device and the run flags."""
    from cbx_cli.api import Narrator
    from cbx_cli.config.paths import takes_dir

    return Narrator(
        opts.model.value, model_dir=opts.model_dir, revision=opts.revision, device=opts.device.value,
        batched=not opts.no_batch, batch_size=opts.batch_size,
        cache_dir=None if opts.no_cache else takes_dir(opts.cache_dir), engine_factory=State.engine_factory,
    )


def delivery(opts: SimpleNamespace):
    """Where the run's outputs go; an unknown format fails here, before the script is read."""
    from cbx_cli.api import Delivery

    return Delivery(opts.output, opts.fmt, opts.manifest, opts.srt, opts.vtt, opts.split_chapters, opts.bitrate,
                    opts.title, opts.author, opts.cover, getattr(opts, "language", None))


def narrate(opts: SimpleNamespace, load_script: Callable, pick: Callable | None = None):
    """Check everything, narrate with a progress bar, write the outputs, print warnings and a one-line summary.

    A script read from a file is narrated with the retake picks kept beside it; ``pick`` (`cbx retake`) changes
    the prepared job's picks, which are saved once the outputs are written. Returns the job narrated."""
    from cbx_cli.api import RenderInterrupted, Retakes
    from cbx_cli.cli.progress import RunProgress

    setup_logging(opts.debug)
    started = time.monotonic()
    options = narration_options(opts)
    out = delivery(opts)
    script, source_name = load_script()
    out = out.with_book_tags(script)  # front matter, a book's own: the output's tags and cover unless flags give them
    narrator = make_narrator(opts)
    retakes = Retakes.beside(script.path) if script.path is not None else None
    job = narrator.prepare(script, options, source_name=source_name, delivery=out, retakes=retakes)
    job = pick(job) if pick else job
    narrator.on_loaded = lambda engine: _warn_device(engine)
    try:
        with RunProgress(err, enabled=not opts.quiet and err.is_terminal) as progress:
            narration = narrator.narrate(job, on_progress=progress.update)
            out.write(narration, stdout=sys.stdout.buffer if out.output == "-" else None)
    except RenderInterrupted as exc:
        where = "in the cache; run the same command again to resume" if narrator.cache_dir else \
            "nowhere (--no-cache); a new run starts over"
        fail(f"{stopped_by()}: {exc.saved} of {exc.total} takes are saved {where}.", EXIT_INTERRUPTED)
    if pick and job.retakes is not None:
        job.retakes.save()
    for warning in narration.warnings:
        warn(warning)
    if not opts.quiet:
        _summary(narration, out, time.monotonic() - started)
    return job


def _summary(narration, out, wall: float) -> None:
    where = "stdout" if out.output == "-" else out.output
    speed = narration.duration / wall if wall > 0 else 0.0
    st = narration.stats
    chunks = f"{len(narration.takes)} chunk" + ("" if len(narration.takes) == 1 else "s")
    retaken = sum(1 for t in narration.takes if t.chunk.retake)
    picks = f", {retaken} with a retake's seed" if retaken else ""
    err.print(
        f"Wrote {where}: {chunks} ({st.rendered} rendered, {st.cached} from cache, "
        f"{st.retried} retried, {st.flagged} flagged{picks}{_verified(narration)}), "
        f"{narration.duration:.1f} s of audio in {wall:.1f} s ({speed:.2f}x real time).",
        markup=False,
    )


def _verified(narration) -> str:
    """The summary's words on verification: takes transcribed now, kept takes that pass, tails trimmed."""
    judged = [t for t in narration.takes if t.verdict is not None]
    if not judged:
        return ""
    passed = sum(t.verdict.passed for t in judged)
    st = narration.stats
    return f", {passed} of {len(narration.takes)} verified, {st.transcribed} transcribed, {st.trimmed} trimmed"


def _warn_device(engine) -> None:
    if engine.info.device_warning:
        warn(engine.info.device_warning)
