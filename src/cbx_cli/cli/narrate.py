"""`cbx say` and `cbx book`: options → the library's Narrator; a live display of the run; warnings and a summary on
stderr; the audio played with --play (or `cbx say` without -o)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated

import typer

from cbx_cli.cli.app import EXIT_INTERRUPTED, State, app, err, fail, setup_logging, warn
from cbx_cli.cli.options import GROUPS, SAMPLING, with_options
from cbx_cli.cli.progress import RunProgress
from cbx_cli.cli.signals import stopped_by
from cbx_cli.errors import ParamError


@app.command()
@with_options("say_output", *GROUPS["output"][1:], "narration", "model", "run", "stream")
def say(
    text: Annotated[str, typer.Argument(metavar="TEXT", help="The text to speak, or - to read it from stdin.")], opts
) -> None:
    """Speak a line of text (or stdin) into one audio file; without -o, play it."""
    from cbx_cli.api import check_player, load_say

    opts.output = opts.say_output
    if opts.output is None:
        if opts.manifest or opts.srt or opts.vtt or opts.split_chapters:
            raise ParamError("--manifest, --srt, --vtt and --split-chapters describe a file: give -o FILE too.")
        check_player()  # before the text is read or a model loads
        opts.play = True
    narrate(opts, lambda: (load_say(text), None))


SCRIPT_HELP = "A script (.md, .txt) or book (.epub, .docx, .html, .pdf), or - for stdin."


@app.command()
@with_options("output", "narration", "book", "retakes", "model", "run", "stream")
def book(script: Annotated[str, typer.Argument(metavar="SCRIPT", help=SCRIPT_HELP)], opts) -> None:
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
    """Where the run's outputs go (None: `cbx say` without -o plays the audio); an unknown format fails here,
    before the script is read."""
    from cbx_cli.api import Delivery

    if opts.output is None:
        return None
    return Delivery(opts.output, opts.fmt, opts.manifest, opts.srt, opts.vtt, opts.split_chapters, opts.bitrate,
                    opts.title, opts.author, opts.cover, getattr(opts, "language", None))


def narrate(opts: SimpleNamespace, load_script: Callable, pick: Callable | None = None):
    """Check everything, narrate with a live display of what it is doing, write the outputs (or play them), print
    the warnings (one line per kind) and a one-line summary.

    A script read from a file is narrated with the retake picks kept beside it (or in --retakes FILE); ``pick``
    (`cbx retake`) changes the prepared job's picks, which are saved once the outputs are written. Returns the job
    narrated."""
    from cbx_cli.api import RenderInterrupted

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
        script, out, narrator, job = _prepare(opts, options, load_script, out, pick)
        _stream(opts, narrator, job, "pcm" if raw else out.format, started)
        return job
    with RunProgress(err, enabled=not opts.quiet and err.is_terminal, started=started) as progress:
        progress.stage("planning")
        script, out, narrator, job = _prepare(opts, options, load_script, out, pick)
        progress.chunks(len(job.chunks))
        narrator.on_stage = progress.on_stage
        try:
            narrator.check_models(job, progress.pulled)
            narration = narrator.narrate(job, on_progress=progress.update)
            if out is not None:
                progress.stage(f"writing {'stdout' if out.output == '-' else out.output}")
                narration.info["command"] = command_record(opts, script)
                out.write(narration, stdout=sys.stdout.buffer if out.output == "-" else None)
        except RenderInterrupted as exc:
            where = "in the cache; run the same command again to resume" if narrator.cache_dir else \
                "nowhere (--no-cache); a new run starts over"
            fail(f"{stopped_by()}: {exc.saved} of {exc.total} takes are saved {where}.", EXIT_INTERRUPTED)
    if pick and job.retakes is not None:
        job.retakes.save()
    _warnings(narration, opts.verbose)
    if not opts.quiet:
        _summary(narration, out, time.monotonic() - started, progress, narrator.loads)
    if getattr(opts, "play", False):
        from cbx_cli.api import play

        if not opts.quiet:
            err.print(f"Playing {narration.duration:.1f} s of audio (Ctrl-C stops it).", markup=False)
        play(narration)
    return job


def _prepare(opts: SimpleNamespace, options, load_script: Callable, out, pick: Callable | None):
    """The script read, the output tagged from it, the narrator, and the job planned with its retake picks."""
    from cbx_cli.api import Retakes

    script, source_name = load_script()
    if out is not None:  # front matter, a book's own: the output's tags and cover unless flags give them
        out = out.with_book_tags(script)
    narrator = make_narrator(opts)
    retakes = Retakes.load(opts.retakes) if getattr(opts, "retakes", None) else \
        Retakes.beside(script.path) if script.path is not None else None
    job = narrator.prepare(script, options, source_name=source_name, delivery=out, retakes=retakes)
    job = pick(job) if pick else job
    narrator.on_loaded = _warn_device
    return script, out, narrator, job


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


RECORDED = ("output", "fmt", "sample_rate", "manifest", "srt", "vtt", "split_chapters", "title", "author", "cover",
            "bitrate", "speed", "volume", *GROUPS["narration"], *GROUPS["book"], "retakes", "model", "model_dir",
            "revision", "device",
            "batch_size", "no_batch", "cache_dir", "no_cache")
"""The options a manifest records, so that `cbx retake MANIFEST` remakes the output without them typed again."""


def command_record(opts: SimpleNamespace, script) -> dict:
    """The script and the options of this run as the manifest keeps them: paths made absolute, defaults left out,
    the retake picks' file named."""
    from enum import Enum

    from cbx_cli.cli.options import OPTIONS

    options = {}
    for name in RECORDED:
        value = getattr(opts, name, None)
        if value is None or value == OPTIONS[name].default:
            continue
        if isinstance(value, Enum):
            value = value.value
        elif isinstance(value, Path) or name == "output" and value != "-":
            value = str(Path(value).expanduser().absolute())
        options[name] = value
    if script.path is not None and "retakes" not in options:
        options["retakes"] = str(Path(f"{script.path}.retakes.json").absolute())
    return {"script": str(script.path.absolute()) if script.path is not None else None, "options": options}


def _warnings(narration, verbose: bool) -> None:
    """One line per kind of warning (the takes' chunk numbers in it); every take's in full with --verbose."""
    from cbx_cli.api import warning_summary

    for warning in narration.warnings if verbose else warning_summary(narration):
        warn(warning)


def _summary(narration, out, wall: float, progress: RunProgress, loads: int) -> None:
    where = "Played" if out is None else "Wrote " + ("stdout" if out.output == "-" else out.output)
    st = narration.stats
    chunks = f"{len(narration.takes)} chunk" + ("" if len(narration.takes) == 1 else "s")
    retaken = sum(1 for t in narration.takes if t.chunk.retake)
    picks = f", {retaken} with a retake's seed" if retaken else ""
    made = f"rendered {progress.made:.1f} s of it at {progress.speed:.2f}x real time" if progress.made else \
        "every take from the cache" + ("" if loads else ", no model loaded")
    err.print(
        f"{where}: {chunks} ({st.rendered} rendered, {st.cached} from cache, "
        f"{st.retried} retried, {st.flagged} flagged{picks}{_verified(narration)}), "
        f"{narration.duration:.1f} s of audio in {wall:.1f} s; {made}.",
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
