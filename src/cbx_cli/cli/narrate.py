"""`cbx say` and `cbx book`: options → the library's Narrator; rich progress; warnings and a summary on stderr."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import replace
from types import SimpleNamespace
from typing import Annotated

import typer

from cbx_cli.cli.app import EXIT_INTERRUPTED, State, app, err, fail, setup_logging, warn
from cbx_cli.cli.options import SAMPLING, with_options
from cbx_cli.cli.signals import stopped_by


@app.command()
@with_options("output", "narration", "model", "run", "stream")
def say(
    text: Annotated[str, typer.Argument(help="The text to speak, or - to read it from stdin.")], opts
) -> None:
    """Speak a line of text (or stdin) into one audio file."""
    from cbx_cli.api import load_say

    narrate(opts, lambda: (load_say(text), None))


@app.command()
@with_options("output", "narration", "model", "run", "stream")
def book(
    script: Annotated[str, typer.Argument(help="A Markdown (.md) or text (.txt) script, or - for Markdown on stdin.")],
    opts,
) -> None:
    """Narrate a whole script: chapters from headings, paragraphs with pauses, one finished file."""
    from cbx_cli.api import load_script

    narrate(opts, lambda: load_script(script))


def narration_options(opts: SimpleNamespace):
    """The library's NarrationOptions from the flags (every range checked there, once)."""
    from cbx_cli.config.params import NarrationOptions, check_options

    values = {name: getattr(opts, name) for name in (*SAMPLING, "preset", "voice", "language", "lexicon", "date_order")
              if hasattr(opts, name)}
    for name in ("speed", "volume", "sample_rate", "retries", "strict", "verify", "verify_tolerance", "candidates",
                 "verify_model", "recheck_model"):
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
                    opts.title, opts.author, opts.cover)


def narrate(opts: SimpleNamespace, load_script: Callable, pick: Callable | None = None):
    """Check everything, narrate with a progress bar, write the outputs, print warnings and a one-line summary.

    A script read from a file is narrated with the retake picks kept beside it; ``pick`` (`cbx retake`) changes
    the prepared job's picks, which are saved once the outputs are written. Returns the job narrated."""
    from cbx_cli.api import RenderInterrupted, Retakes
    from cbx_cli.cli.progress import RunProgress

    setup_logging(opts.debug)
    started = time.monotonic()
    options = narration_options(opts)
    streamed = getattr(opts, "stream", False)
    raw = streamed and (opts.fmt or "").lower().lstrip(".") == "pcm"
    if streamed:
        _check_stream(opts)
    out = delivery(opts) if not raw else _raw_delivery(opts)
    if streamed:
        _check_stream_format("pcm" if raw else out.format)
    script, source_name = load_script()
    tags = script.metadata  # front matter: the output's title and author unless the flags give them
    out = replace(out, title=out.title or tags.get("title"), author=out.author or tags.get("author"))
    narrator = make_narrator(opts)
    retakes = Retakes.beside(script.path) if script.path is not None else None
    job = narrator.prepare(script, options, source_name=source_name, delivery=out, retakes=retakes)
    job = pick(job) if pick else job
    narrator.on_loaded = lambda engine: _warn_device(engine)
    if streamed:
        _stream(opts, narrator, job, "pcm" if raw else out.format, started)
        return job
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


def _raw_delivery(opts: SimpleNamespace):
    """The delivery of a raw PCM stream: WAV as far as the checks go (the samples are the same)."""
    return delivery(SimpleNamespace(**{**vars(opts), "fmt": None}))


def _check_stream(opts: SimpleNamespace) -> None:
    """--stream writes only audio, only to stdout."""
    from cbx_cli.errors import OutputError

    if opts.output not in ("-", "/dev/stdout"):
        raise OutputError("--stream writes to stdout: use -o - (and pipe it to a player or a file).")
    side = [flag for flag, value in (("--manifest", opts.manifest), ("--srt", opts.srt), ("--vtt", opts.vtt),
                                     ("--split-chapters", opts.split_chapters)) if value]
    if side:
        raise OutputError(f"--stream writes only the audio; leave out {', '.join(side)} (or drop --stream).")
    if getattr(opts, "verify", None) or getattr(opts, "candidates", None):
        raise OutputError("--stream plays each take as it is made, so takes cannot be verified or chosen among; "
                          "leave out --verify and --candidates (or drop --stream).")


def _check_stream_format(fmt: str) -> None:
    from cbx_cli.api import STREAMED
    from cbx_cli.errors import OutputError

    if fmt not in STREAMED:
        raise OutputError(f"Format '{fmt}' cannot be streamed; use one of {', '.join(STREAMED)}.")


def _stream(opts: SimpleNamespace, narrator, job, fmt: str, started: float) -> None:
    """The job's audio to stdout a piece at a time (`Narrator.stream`), encoded as one ``fmt`` stream."""
    from cbx_cli.api import RenderStats, StreamEncoder

    stats = RenderStats()
    warnings: list[str] = []
    seconds = 0.0
    first: float | None = None
    stdout = sys.stdout.buffer
    encoder = None
    if job.verify.enabled:
        warn("takes are not verified when streamed (each is heard as it is made); drop --stream to verify them.")
    try:
        for piece in narrator.stream(job, first_piece=opts.first_piece, stats=stats):
            if encoder is None:
                encoder = StreamEncoder(fmt, piece.sample_rate, opts.bitrate)
                first = time.monotonic() - started
            stdout.write(encoder.feed(piece.audio))
            stdout.flush()
            seconds += piece.seconds
            if piece.take is not None:
                warnings += [f"chunk {piece.chunk + 1}: {w}" for w in piece.take.warnings]
        if encoder is not None:
            stdout.write(encoder.finish())
            stdout.flush()
    except KeyboardInterrupt:
        where = "in the cache" if narrator.cache_dir else "nowhere (--no-cache)"
        fail(f"{stopped_by()}: the stream ended early; {stats.rendered + stats.cached} finished takes are saved "
             f"{where}.", EXIT_INTERRUPTED)
    finally:
        if encoder is not None:
            encoder.close()
    for warning in job.plan.warnings + warnings:
        warn(warning)
    if not opts.quiet:
        wall = time.monotonic() - started
        err.print(f"Streamed to stdout: {len(job.chunks)} chunk{'' if len(job.chunks) == 1 else 's'} "
                  f"({stats.rendered} rendered, {stats.cached} from cache, {stats.flagged} flagged), {seconds:.1f} s "
                  f"of audio in {wall:.1f} s, first audio after {first or 0.0:.2f} s.", markup=False)


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
