"""The `cbx` command: options → a job; rich progress on stderr; errors → one line and an exit code."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import typer
from rich.console import Console

try:  # typer 0.2x carries its own copy of click
    from typer import _click as click
except ImportError:  # pragma: no cover - older typer uses click itself
    import click

from cbx_cli import __version__
from cbx_cli.config.models import Device, Model
from cbx_cli.config.params import AssemblyOverrides, SynthesisOverrides, overrides_from_flags
from cbx_cli.errors import CbxError

app = typer.Typer(
    name="cbx",
    help="Narrate text and Markdown scripts with Chatterbox TTS, in batch.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
presets_app = typer.Typer(help="List presets, or show one's resolved values.", invoke_without_command=True)
app.add_typer(presets_app, name="presets")


def _mount_voices() -> None:
    from cbx_cli.cli.voices import voices_app

    app.add_typer(voices_app, name="voices")


_mount_voices()

err = Console(stderr=True, highlight=False, soft_wrap=True)
log = logging.getLogger("cbx_cli")

EXIT_INTERRUPTED = 130


class State:
    debug = False


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cbx {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    """Narrate text and Markdown scripts with Chatterbox TTS, in batch."""


# -- shared options -----------------------------------------------------------------------------

OUTPUT = typer.Option(..., "-o", "--output", help="Output file (.wav .flac .mp3 .ogg), or - for WAV on stdout.")
PRESET = typer.Option(None, "--preset", "-p", help="Preset: agent, game, narration, meme, audiobook, or your own.")
VOICE = typer.Option(
    None, "--voice", help="Voice: a recording (5-15 s of speech), an http(s) URL, or a name from `cbx voices`."
)
MODEL = typer.Option(Model.original, "--model", help="Chatterbox model.", case_sensitive=False)
SPEED = typer.Option(1.0, "--speed", help="Speaking speed, 0.5-2.0, pitch preserved.")
VOLUME = typer.Option(0.0, "--volume", help="Gain in dB after loudness normalization (-20 to 20).")
BITRATE = typer.Option(None, "--bitrate", help="Bitrate for .mp3/.opus/.m4a/.m4b, e.g. 64k.")
TITLE = typer.Option(None, "--title", help="Title tag (and album) of the output.")
AUTHOR = typer.Option(None, "--author", help="Author (artist) tag of the output.")
COVER = typer.Option(None, "--cover", help="Cover image (PNG/JPEG) for .m4b/.m4a/.mp3.")
SPLIT = typer.Option(False, "--split-chapters", help="Write one numbered file per chapter into the folder -o.")
SRT = typer.Option(None, "--srt", help="Write sentence-level subtitles (SRT) timed to the output.")
VTT = typer.Option(None, "--vtt", help="Write sentence-level subtitles (WebVTT) timed to the output.")
LEXICON = typer.Option(None, "--lexicon", help="YAML file of 'word or phrase: respelling' for names.")
REVISION = typer.Option(None, "--revision", help="Pin a Hugging Face revision (branch, tag or commit) of the weights.")
MODEL_DIR = typer.Option(
    None, "--model-dir", help="Checkpoint folder (default: Hugging Face cache; env CBX_MODEL_DIR)."
)
DEVICE = typer.Option(Device.auto, "--device", help="Where to run: auto picks CUDA, then MPS, then CPU.")
LANGUAGE = typer.Option(None, "--language", help="Language code for --model multilingual (e.g. en, fr, ja).")
FORMAT = typer.Option(None, "--format", help="Output format, overriding the extension: wav flac mp3 ogg.")
SAMPLE_RATE = typer.Option(None, "--sample-rate", help="Resample the output to this rate in Hz.")
MANIFEST = typer.Option(None, "--manifest", help="Write chunk texts, seeds and timings to this JSON file.")
QUIET = typer.Option(False, "--quiet", "-q", help="No progress or summary on stderr.")
DEBUG = typer.Option(False, "--debug", help="Show full tracebacks and debug logs.")
BATCH = typer.Option(8, "--batch-size", help="Chunks synthesized together.")
NO_BATCH = typer.Option(False, "--no-batch", help="Synthesize one chunk at a time, exactly as stock Chatterbox.")
CACHE_DIR = typer.Option(None, "--cache-dir", help="Where finished takes are kept (default: your cache folder).")
NO_CACHE = typer.Option(False, "--no-cache", help="Neither read nor write the take cache.")
RETRIES = typer.Option(2, "--retries", help="Re-render a bad take with the next seed up to N times (0-10).")
STRICT = typer.Option(False, "--strict", help="Fail (exit 3) if a take is still bad after its retries.")
EXAGGERATION = typer.Option(None, "--exaggeration", help="Emotion intensity, 0-2.")
TEMPERATURE = typer.Option(None, "--temperature", help="Sampling temperature, 0.05-2.")
CFG_WEIGHT = typer.Option(None, "--cfg-weight", help="Classifier-free guidance weight, 0-2.")
MIN_P = typer.Option(None, "--min-p", help="Min-p sampling floor, 0-1.")
TOP_P = typer.Option(None, "--top-p", help="Top-p (nucleus) mass, 0-1.")
TOP_K = typer.Option(None, "--top-k", help="Top-k cut-off, 1-10000 (turbo).")
REP_PENALTY = typer.Option(None, "--repetition-penalty", help="Repetition penalty, 1-2.")
SEED = typer.Option(None, "--seed", help="Base seed (default 42); each chunk derives its own.")
MAX_TOKENS = typer.Option(None, "--max-tokens", help="Cap on speech tokens per chunk (default: by text length).")


def _narrate(
    load_script,
    *,
    output: str,
    preset: str | None,
    voice: str | None,
    model: Model,
    model_dir: Path | None,
    revision: str | None,
    device: Device,
    language: str | None,
    fmt: str | None,
    sample_rate: int | None,
    manifest: Path | None,
    lexicon: Path | None,
    speed: float,
    volume: float,
    bitrate: str | None,
    title: str | None,
    author: str | None,
    cover: Path | None,
    split_chapters: bool,
    srt: Path | None,
    vtt: Path | None,
    quiet: bool,
    debug: bool,
    batch_size: int,
    no_batch: bool,
    cache_dir: Path | None,
    no_cache: bool,
    retries: int,
    strict: bool,
    **sampling,
) -> None:
    from cbx_cli import job as jobs
    from cbx_cli.config.models import LANGUAGES
    from cbx_cli.config.presets import resolve
    from cbx_cli.deliver.export import format_for
    from cbx_cli.engine.base import EngineSpec
    from cbx_cli.errors import ParamError

    _setup(debug)
    synthesis_flags = overrides_from_flags(SynthesisOverrides, **sampling)
    if model is Model.multilingual:
        if not language:
            raise ParamError("--model multilingual needs --language CODE, one of: " + ", ".join(LANGUAGES) + ".")
        if language.lower() not in LANGUAGES:
            raise ParamError(f"Unknown --language '{language}'. Use one of: {', '.join(LANGUAGES)}.")
        language = language.lower()
    elif language:
        raise ParamError("--language applies only to --model multilingual.")
    if sample_rate is not None and not 8000 <= sample_rate <= 192000:
        raise ParamError(f"--sample-rate {sample_rate} is out of range; use 8000 to 192000 Hz.")
    if batch_size < 1:
        raise ParamError("--batch-size must be at least 1.")
    if not 0.5 <= speed <= 2.0:
        raise ParamError(f"--speed {speed} is out of range; use 0.5 to 2.0.")
    if not -20.0 <= volume <= 20.0:
        raise ParamError(f"--volume {volume} is out of range; use -20 to 20 dB.")
    if not 0 <= retries <= 10:
        raise ParamError(f"--retries {retries} is out of range; use 0 to 10.")
    out_format = (fmt or "wav").lower() if split_chapters and not fmt else format_for(output, fmt)
    if split_chapters:
        out_format = format_for(f"x.{out_format}", None)
    script, source_name = load_script()
    synthesis, assembly = resolve(preset, synthesis_flags, AssemblyOverrides())

    def block_params(over):
        values, _ = resolve(over.preset or preset, synthesis_flags, AssemblyOverrides())
        picked = {k: getattr(over, k) for k in ("exaggeration", "seed") if getattr(over, k) is not None}
        return values.model_copy(update=picked)

    spec = EngineSpec.from_options(model.value, model_dir, device.value, language, batched=not no_batch,
                                   revision=revision)
    job = jobs.Job(
        script=script, synthesis=synthesis, assembly=assembly, spec=spec, output=output, fmt=out_format,
        voice=voice, sample_rate=sample_rate, manifest=manifest, batch_size=batch_size,
        cache_dir=None if no_cache else _cache_root(cache_dir), retries=retries, strict=strict,
        lexicon=_lexicon(lexicon), speed=speed, volume=volume, title=title, author=author, cover=cover,
        bitrate=bitrate, split_chapters=split_chapters, srt=srt, vtt=vtt, source_name=source_name,
        block_params=block_params,
    )
    show = not quiet and err.is_terminal
    from cbx_cli.cli.progress import RunProgress
    from cbx_cli.render.takes import RenderInterrupted

    try:
        with RunProgress(err, enabled=show) as progress:
            result = jobs.run(
                job,
                on_progress=progress.update,
                on_loaded=lambda engine: _warn_device(engine, quiet),
                stdout=sys.stdout.buffer if output == "-" else None,
            )
    except RenderInterrupted as exc:
        where = "in the cache; run the same command again to resume" if job.cache_dir else \
            "nowhere (--no-cache); a new run starts over"
        _fail(f"interrupted: {exc.saved} of {exc.total} takes are saved {where}.", EXIT_INTERRUPTED)
    for warning in result.warnings:
        err.print(f"warning: {warning}", markup=False)
    if not quiet:
        where = "stdout" if output == "-" else output
        speed = result.duration / result.wall if result.wall > 0 else 0.0
        st = result.stats
        err.print(
            f"Wrote {where}: {result.chunks} chunks ({st.rendered} rendered, {st.cached} from cache, "
            f"{st.retried} retried, {st.flagged} flagged), {result.duration:.1f} s of audio "
            f"in {result.wall:.1f} s ({speed:.2f}x real time).",
            markup=False,
        )


def _lexicon(path: Path | None):
    if path is None:
        return None
    from cbx_cli.plan.lexicon import Lexicon

    return Lexicon.load(path)


def _cache_root(cache_dir: Path | None) -> Path:
    from cbx_cli.config import paths

    return Path(cache_dir).expanduser() if cache_dir else paths.cache_dir() / "takes"


def _warn_device(engine, quiet: bool) -> None:
    warning = getattr(engine, "device_warning", None)
    if warning:
        err.print(f"warning: {warning}", markup=False)


@app.command()
def say(
    text: str = typer.Argument(..., help="The text to speak, or - to read it from stdin."),
    output: str = OUTPUT,
    preset: str | None = PRESET,
    voice: str | None = VOICE,
    model: Model = MODEL,
    model_dir: Path | None = MODEL_DIR,
    revision: str | None = REVISION,
    device: Device = DEVICE,
    language: str | None = LANGUAGE,
    exaggeration: float | None = EXAGGERATION,
    temperature: float | None = TEMPERATURE,
    cfg_weight: float | None = CFG_WEIGHT,
    min_p: float | None = MIN_P,
    top_p: float | None = TOP_P,
    top_k: int | None = TOP_K,
    repetition_penalty: float | None = REP_PENALTY,
    seed: int | None = SEED,
    max_tokens: int | None = MAX_TOKENS,
    fmt: str | None = FORMAT,
    sample_rate: int | None = SAMPLE_RATE,
    manifest: Path | None = MANIFEST,
    lexicon: Path | None = LEXICON,
    speed: float = SPEED,
    volume: float = VOLUME,
    bitrate: str | None = BITRATE,
    title: str | None = TITLE,
    author: str | None = AUTHOR,
    cover: Path | None = COVER,
    split_chapters: bool = SPLIT,
    srt: Path | None = SRT,
    vtt: Path | None = VTT,
    batch_size: int = BATCH,
    no_batch: bool = NO_BATCH,
    cache_dir: Path | None = CACHE_DIR,
    no_cache: bool = NO_CACHE,
    retries: int = RETRIES,
    strict: bool = STRICT,
    quiet: bool = QUIET,
    debug: bool = DEBUG,
) -> None:
    """Speak a line of text (or stdin) into one audio file."""
    options = dict(locals())
    text = options.pop("text")
    from cbx_cli.parse.sources import load_say

    _narrate(lambda: (load_say(text), None), **options)


@app.command()
def book(
    script: str = typer.Argument(..., help="A Markdown (.md) or text (.txt) script, or - for Markdown on stdin."),
    output: str = OUTPUT,
    preset: str | None = PRESET,
    voice: str | None = VOICE,
    model: Model = MODEL,
    model_dir: Path | None = MODEL_DIR,
    revision: str | None = REVISION,
    device: Device = DEVICE,
    language: str | None = LANGUAGE,
    exaggeration: float | None = EXAGGERATION,
    temperature: float | None = TEMPERATURE,
    cfg_weight: float | None = CFG_WEIGHT,
    min_p: float | None = MIN_P,
    top_p: float | None = TOP_P,
    top_k: int | None = TOP_K,
    repetition_penalty: float | None = REP_PENALTY,
    seed: int | None = SEED,
    max_tokens: int | None = MAX_TOKENS,
    fmt: str | None = FORMAT,
    sample_rate: int | None = SAMPLE_RATE,
    manifest: Path | None = MANIFEST,
    lexicon: Path | None = LEXICON,
    speed: float = SPEED,
    volume: float = VOLUME,
    bitrate: str | None = BITRATE,
    title: str | None = TITLE,
    author: str | None = AUTHOR,
    cover: Path | None = COVER,
    split_chapters: bool = SPLIT,
    srt: Path | None = SRT,
    vtt: Path | None = VTT,
    batch_size: int = BATCH,
    no_batch: bool = NO_BATCH,
    cache_dir: Path | None = CACHE_DIR,
    no_cache: bool = NO_CACHE,
    retries: int = RETRIES,
    strict: bool = STRICT,
    quiet: bool = QUIET,
    debug: bool = DEBUG,
) -> None:
    """Narrate a whole script: chapters from headings, paragraphs with pauses, one finished file."""
    options = dict(locals())
    source = options.pop("script")
    from cbx_cli.parse.sources import load_book

    _narrate(lambda: load_book(source), **options)


@presets_app.callback()
def presets_list(ctx: typer.Context) -> None:
    """List every preset: built-in and your own."""
    if ctx.invoked_subcommand is not None:
        return
    from cbx_cli.config.presets import all_presets

    for name, preset in all_presets().items():
        origin = "" if preset.source == "built-in" else f"  ({preset.source})"
        typer.echo(f"{name:<12} {preset.description}{origin}")


@presets_app.command("show")
def presets_show(name: str = typer.Argument(..., help="Preset name.")) -> None:
    """Print a preset's resolved values (defaults < preset < your config)."""
    import yaml

    from cbx_cli.config.presets import get_preset, resolve

    preset = get_preset(name)
    synthesis, assembly = resolve(name)
    data = {
        "name": name,
        "source": preset.source,
        "description": preset.description,
        "synthesis": synthesis.model_dump(),
        "assembly": assembly.model_dump(),
    }
    typer.echo(yaml.safe_dump(data, sort_keys=False).rstrip())


cache_app = typer.Typer(help="Look at or empty the take cache.", no_args_is_help=True)
app.add_typer(cache_app, name="cache")


@cache_app.command("info")
def cache_info(cache_dir: Path | None = CACHE_DIR) -> None:
    """Entries, size and location of the take cache."""
    from cbx_cli.render.cache import TakeCache

    info = TakeCache(_cache_root(cache_dir)).info()
    typer.echo(f"location: {info.root}")
    typer.echo(f"entries:  {info.entries}")
    typer.echo(f"size:     {info.size_bytes / 1e6:.1f} MB")


@cache_app.command("clear")
def cache_clear(
    older_than: float | None = typer.Option(None, "--older-than", help="Only entries unused for more than DAYS."),
    cache_dir: Path | None = CACHE_DIR,
) -> None:
    """Remove cached takes (all of them, or those unused for more than --older-than DAYS)."""
    from cbx_cli.errors import ParamError
    from cbx_cli.render.cache import TakeCache

    if older_than is not None and older_than < 0:
        raise ParamError(f"--older-than {older_than} is out of range; use a number of days, 0 or more.")
    removed = TakeCache(_cache_root(cache_dir)).clear(older_than)
    typer.echo(f"removed {removed} cached take(s)")


@app.command("plan")
def plan_cmd(
    script: str = typer.Argument(..., help="A Markdown (.md) or text (.txt) script, or - for stdin."),
    preset: str | None = PRESET,
    model: Model = MODEL,
    language: str | None = LANGUAGE,
    max_tokens: int | None = MAX_TOKENS,
    lexicon: Path | None = LEXICON,
    as_json: bool = typer.Option(False, "--json", help="Print the plan as JSON."),
) -> None:
    """Show chapters and chunks with estimated durations and warnings, without loading a model."""
    import json

    from cbx_cli.config.presets import resolve
    from cbx_cli.parse.sources import load_book
    from cbx_cli.plan.chunks import estimate_seconds, plan

    parsed, _ = load_book(script)
    synthesis, assembly = resolve(preset, overrides_from_flags(SynthesisOverrides, max_tokens=max_tokens))
    words = _lexicon(lexicon)
    the_plan = plan(parsed, synthesis, assembly, model.value, language, words)
    from cbx_cli.plan.hints import unknown_words

    unknown = unknown_words(parsed.speakable_text(), words)
    if unknown:
        shown = ", ".join(unknown[:12]) + (", ..." if len(unknown) > 12 else "")
        the_plan.warnings.append(f"{len(unknown)} word(s) may need a --lexicon respelling: {shown}")
    chunks = the_plan.chunks
    total = sum(estimate_seconds(c) + c.pause_after for c in chunks)
    if as_json:
        data = {
            "chapters": [
                {
                    "title": title,
                    "chunks": [
                        {"index": c.index, "text": c.text, "seed": c.seed, "max_tokens": c.max_tokens,
                         "estimated_seconds": round(estimate_seconds(c), 2)}
                        for c in chunks if c.chapter == ci
                    ],
                }
                for ci, title in enumerate(the_plan.chapter_titles)
            ],
            "chunks": len(chunks),
            "estimated_seconds": round(total, 1),
            "warnings": the_plan.warnings,
        }
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    from rich.table import Table

    out = Console(highlight=False)
    table = Table(show_lines=False)
    for column in ("#", "chapter", "chunk", "est. s"):
        table.add_column(column, overflow="fold")
    for c in chunks:
        title = the_plan.chapter_titles[c.chapter] or "-"
        table.add_row(str(c.index + 1), title[:24], c.text, f"{estimate_seconds(c):.1f}")
    out.print(table)
    chapters = len(the_plan.chapter_titles)
    out.print(f"{chapters} chapter(s), {len(chunks)} chunk(s), about {total / 60:.1f} min of audio.", markup=False)
    for warning in the_plan.warnings:
        err.print(f"warning: {warning}", markup=False)


@app.command()
def check(
    audio: Path = typer.Argument(..., help="An audio file to measure."),
    acx: bool = typer.Option(False, "--acx", help="Check against ACX audiobook requirements."),
) -> None:
    """Measure RMS loudness, peak and noise floor; with --acx, exit 1 if any ACX requirement fails."""
    from cbx_cli.deliver.check import acx_check, format_requirements

    requirements = acx_check(audio)
    for line in format_requirements(requirements):
        typer.echo(line)
    if acx and not all(r.passed for r in requirements):
        raise typer.Exit(1)


@app.command()
def bench(
    model_dir: Path | None = typer.Option(None, "--model-dir", help="Checkpoint (default: random full-size weights)."),
    model: Model = typer.Option(Model.original, "--model", help="original or turbo."),
    device: Device = typer.Option(Device.auto, "--device", help="cpu or cuda (auto: CUDA if present)."),
    chunks: int = typer.Option(8, "--chunks", help="Chunks of realistic sentences to render."),
    tokens: int = typer.Option(40, "--tokens", help="Speech tokens per chunk (fixed, on both sides)."),
    repeats: int = typer.Option(1, "--repeats", help="Time each side this many times and keep the fastest."),
    json_path: Path | None = typer.Option(None, "--json", help="Also write the results to this JSON file."),
) -> None:
    """Stock Chatterbox (one chunk at a time) against cbx's batched engine, on the same chunks and weights."""
    from cbx_cli.engine.bench import format_report, run_bench, write_json
    from cbx_cli.engine.stock import resolve_device
    from cbx_cli.errors import ParamError

    if model is Model.multilingual:
        raise ParamError("cbx bench measures --model original or turbo.")
    if not 1 <= chunks <= 1024 or not 1 <= tokens <= 1000 or not 1 <= repeats <= 20:
        raise ParamError("--chunks must be 1-1024, --tokens 1-1000 and --repeats 1-20.")
    where, _ = resolve_device(device.value)
    result = run_bench(model_dir, model.value, where, chunks, tokens, repeats=repeats)
    typer.echo(format_report(result))
    if json_path is not None:
        write_json(result, json_path)


@app.command()
def doctor() -> None:
    """Check the set-up: torch and GPUs, ffmpeg, Chatterbox weights in the cache and their revisions."""
    from cbx_cli.engine.doctor import diagnose

    for finding in diagnose():
        mark = "ok " if finding.ok else "-- "
        typer.echo(f"{mark}{finding.name:<22} {finding.value}")


# -- entry point ----------------------------------------------------------------------------------


def _setup(debug: bool) -> None:
    State.debug = debug or State.debug
    logging.basicConfig(
        level=logging.DEBUG if State.debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not State.debug:
        os.environ.setdefault("TQDM_DISABLE", "1")
        for noisy in ("transformers", "huggingface_hub", "diffusers", "chatterbox"):
            logging.getLogger(noisy).setLevel(logging.ERROR)


def _fail(message: str, code: int) -> None:
    err.print(f"cbx: error: {message}", markup=False)
    raise SystemExit(code)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; every failure becomes one line on stderr and an exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    State.debug = "--debug" in args
    try:
        code = app(args=args, prog_name="cbx", standalone_mode=False)
        if isinstance(code, int) and code:
            raise SystemExit(code)
    except CbxError as exc:
        if State.debug:
            raise
        _fail(exc.message, exc.exit_code)
    except click.exceptions.NoArgsIsHelpError as exc:
        if exc.ctx is not None:
            typer.echo(exc.ctx.get_help())
        raise SystemExit(0) from None
    except click.exceptions.UsageError as exc:
        message = exc.format_message().rstrip()
        if not message.endswith("."):
            message += "."
        hint = f" Try '{exc.ctx.command_path} --help'." if exc.ctx else ""
        _fail(f"{message}{hint}", 2)
    except (KeyboardInterrupt, typer.Abort):
        _fail("interrupted.", EXIT_INTERRUPTED)
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except click.exceptions.ClickException as exc:
        _fail(exc.format_message(), getattr(exc, "exit_code", 1) or 1)
    except BrokenPipeError:
        raise SystemExit(1) from None
    except Exception as exc:  # the last net: still one line, unless --debug
        if State.debug:
            raise
        _fail(f"{type(exc).__name__}: {exc}. Run again with --debug for details.", 1)


