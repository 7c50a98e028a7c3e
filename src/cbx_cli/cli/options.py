"""Every command-line option, declared once, and `with_options` that gives a command the ones it takes.

A command names the options (or groups of them) it takes; they are added to its signature for Typer and handed
to it together as ``opts`` (attribute access). Ranges and defaults are not repeated here: help texts of ranged
options come from the settings models' field descriptions, and values are checked where those models are built
(`cbx_cli.config.params.check_options`).
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any

import typer

from cbx_cli.config.models import Device, Model
from cbx_cli.config.ranges import RANGES


def _described(field: str) -> str:
    """The option's meaning and range as declared beside its setting."""
    return RANGES[field].help


@dataclass(frozen=True)
class Opt:
    """One option: its type, its default (``...``: required) and its typer declaration."""

    type: Any
    default: Any
    decls: tuple[str, ...]
    help: str
    extra: dict | None = None

    def parameter(self, name: str) -> inspect.Parameter:
        placeholder = metavar(name, self.type)  # none for a flag; a choice shows its choices
        extra = ({"metavar": placeholder} if placeholder and not _is_enum(self.type) else {}) | (self.extra or {})
        option = typer.Option(*self.decls, help=self.help, **extra)
        default = inspect.Parameter.empty if self.default is ... else self.default
        return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                 annotation=Annotated[self.type, option])


def _sampling(field: str, kind: type) -> Opt:
    return Opt(kind | None, None, ("--" + field.replace("_", "-"),), _described(field))


OPTIONS: dict[str, Opt] = {
    # where the audio goes
    "output": Opt(str, ..., ("-o", "--output"),
                  "Output file (.wav .flac .mp3 .ogg .m4b .m4a .opus .aac), or - for WAV on stdout."),
    "fmt": Opt(str | None, None, ("--format",), "Output format, overriding the extension: wav flac mp3 ogg m4b m4a "
               "opus aac."),
    "sample_rate": Opt(int | None, None, ("--sample-rate",), _described("sample_rate")),
    "manifest": Opt(Path | None, None, ("--manifest",), "Write chunk texts, seeds and timings to this JSON file."),
    "srt": Opt(Path | None, None, ("--srt",), "Write sentence-level subtitles (SRT) timed to the output."),
    "vtt": Opt(Path | None, None, ("--vtt",), "Write sentence-level subtitles (WebVTT) timed to the output."),
    "split_chapters": Opt(bool, False, ("--split-chapters",), "Write one numbered file per chapter into the folder "
                          "-o."),
    "title": Opt(str | None, None, ("--title",), "Title tag (and album) of the output."),
    "author": Opt(str | None, None, ("--author",), "Author (artist) tag of the output."),
    "cover": Opt(Path | None, None, ("--cover",), "Cover image (PNG/JPEG) for .m4b/.m4a/.mp3."),
    "bitrate": Opt(str | None, None, ("--bitrate",), "Bitrate for .mp3/.opus/.m4a/.m4b, e.g. 64k."),
    "speed": Opt(float, 1.0, ("--speed",), _described("speed")),
    "volume": Opt(float, 0.0, ("--volume",), _described("volume")),
    # what is said, and how
    "preset": Opt(str | None, None, ("--preset", "-p"), "Preset: agent, game, narration, meme, audiobook, or your "
                  "own."),
    "voice": Opt(str | None, None, ("--voice",), "Voice: a recording (5-15 s of speech), an http(s) URL, or a name "
                 "from `cbx voices`."),
    "language": Opt(str | None, None, ("--language",), "Language code for --model multilingual (e.g. en, fr, ja)."),
    "lexicon": Opt(Path | None, None, ("--lexicon",), "YAML file of 'word or phrase: respelling' for names."),
    "date_order": Opt(str | None, None, ("--date-order",), "How to read a numeric date such as 03/11/1998 where day "
                      "and month could be swapped: dmy, mdy or ymd (default: dmy; ymd for ja, ko, zh)."),
    "exaggeration": _sampling("exaggeration", float),
    "temperature": _sampling("temperature", float),
    "cfg_weight": _sampling("cfg_weight", float),
    "min_p": _sampling("min_p", float),
    "top_p": _sampling("top_p", float),
    "top_k": _sampling("top_k", int),
    "repetition_penalty": _sampling("repetition_penalty", float),
    "seed": _sampling("seed", int),
    "max_tokens": _sampling("max_tokens", int),
    "retries": Opt(int, 2, ("--retries",), _described("retries")),
    "strict": Opt(bool, False, ("--strict",), "Fail (exit 3) if a take is still bad after its retries."),
    # takes judged by what they say
    "verify": Opt(bool | None, None, ("--verify/--no-verify",), "Transcribe every take and re-render those that do "
                  "not say their text (default: off; on in the audiobook preset)."),
    "verify_tolerance": Opt(float | None, None, ("--verify-tolerance",), _described("verify_tolerance")),
    "candidates": Opt(int | None, None, ("--candidates",), _described("candidates")),
    "verify_model": Opt(str | None, None, ("--verify-model",), "faster-whisper model that hears every take: a name "
                        "(default base.en; base for other languages) or a model folder."),
    "recheck_model": Opt(str | None, None, ("--recheck-model",), "Larger model that hears again only the takes the "
                         "first one fails (default small.en; small), or none."),
    "asr": Opt(bool, False, ("--asr",), "Measure speech recognition for --verify instead: seconds per hour of "
               "takes (a random Whisper of base.en's shape, or --verify-model)."),
    # books: which chapters, and what of the book is read
    "chapters": Opt(str | None, None, ("--chapters",), "Only these chapters, numbered as `cbx plan` lists them: "
                    "numbers and ranges, e.g. 3-7,12."),
    "notes": Opt(str, "end", ("--notes",), "A book's footnotes and endnotes: read at the end of the chapter that "
                 "refers to them (end), or not read (skip). Never where their marks stand."),
    "matter": Opt(str, "skip", ("--matter",), "A book's front and back matter (cover and copyright pages, contents, "
                  "index): skip (named in the plan) or read."),
    # which model, where
    "model": Opt(Model, Model.original, ("--model",), "Chatterbox model.", {"case_sensitive": False}),
    "model_dir": Opt(Path | None, None, ("--model-dir",), "Checkpoint folder (default: Hugging Face cache; env "
                     "CBX_MODEL_DIR)."),
    "revision": Opt(str | None, None, ("--revision",), "Pin a Hugging Face revision (branch, tag or commit) of the "
                    "weights."),
    "device": Opt(Device, Device.auto, ("--device",), "Where to run: auto picks CUDA, then MPS, then CPU."),
    # how the run goes
    "batch_size": Opt(int | None, None, ("--batch-size",), _described("batch_size")),
    "no_batch": Opt(bool, False, ("--no-batch",), "Synthesize one chunk at a time, exactly as stock Chatterbox."),
    "cache_dir": Opt(Path | None, None, ("--cache-dir",), "Where finished takes are kept (default: your cache "
                     "folder)."),
    "no_cache": Opt(bool, False, ("--no-cache",), "Neither read nor write the take cache."),
    # cbx batch: many scripts, one folder, workers
    "out_folder": Opt(Path, ..., ("-o", "--output"), "Folder for the outputs: NAME.<format> for each script NAME.md, "
                      "and summary.json."),
    "manifests": Opt(bool, False, ("--manifests",), "Write each script's manifest beside its audio (NAME.json)."),
    "subtitles": Opt(list[str] | None, None, ("--subtitles",), "Write each script's subtitles beside its audio: srt "
                     "or vtt (repeat for both)."),
    "cluster": Opt(str | None, None, ("--cluster",), "Render on Ray: local (start Ray on this machine), auto (the "
                   "cluster 'ray start' joined) or ray://HOST:PORT. Without it, in this process."),
    "worker_cpus": Opt(int, 1, ("--worker-cpus",), "CPU cores per Ray worker on a cluster without GPUs (one worker "
                       "per GPU otherwise)."),
    "max_workers": Opt(int | None, None, ("--max-workers",), "At most this many Ray workers (default: as many as "
                       "fit)."),
    "quiet": Opt(bool, False, ("--quiet", "-q"), "No progress or summary on stderr."),
    # cbx serve
    "host": Opt(str, "127.0.0.1", ("--host",), "Address to listen on (anything but loopback needs API keys)."),
    "port": Opt(int, 8000, ("--port",), _described("port")),
    "api_key_file": Opt(Path | None, None, ("--api-key-file",), "File of API keys, one per line (a key, or "
                        "sha256:<digest>); env CBX_API_KEYS adds comma-separated keys."),
    "data_dir": Opt(Path | None, None, ("--data-dir",), "Where jobs, their outputs and uploaded references are kept "
                    "(default: your data folder's serve/)."),
    "server_data": Opt(Path | None, None, ("--server-data",), "The data folder of a cbx serve (its --data-dir): "
                       "work on its shared voices, which every API key may use and none may replace or delete, "
                       "instead of your own library."),
    "allow_private_urls": Opt(bool, False, ("--allow-private-urls",), "Let requests name reference-audio and "
                              "webhook URLs on loopback or private addresses."),
    "workers": Opt(int, 4, ("--workers",), _described("workers")),
    "serve_config": Opt(Path | None, None, ("--config",), "Serve config file (YAML): defaults for every request "
                        "(preset, voice, max_tokens, retries) and the fields each API's requests may set."),
    "max_concurrent": Opt(int, 10, ("--max-concurrent",), _described("max_concurrent")),
    "debug": Opt(bool, False, ("--debug",), "Show full tracebacks and debug logs."),
    # cbx review
    "page": Opt(Path, ..., ("-o", "--output"), "The HTML page to write (one self-contained file)."),
    # cbx retake
    "chunk": Opt(list[int] | None, None, ("--chunk",), "Retake chunk N (numbered from 1 as `cbx plan` shows); "
                 "give it again for more."),
    "chunks": Opt(str | None, None, ("--chunks",), "Retake these chunks: numbers and ranges, e.g. 3,7-9."),
    "take_seed": Opt(int | None, None, ("--take-seed",), "The retaken chunks' own seed (default: each chunk's next "
                     "derived seed)."),
    "run_seed": Opt(int | None, None, ("--run-seed",), "Deprecated: --seed gives the run's base seed in every command.",
                    {"hidden": True}),
    "say_output": Opt(str | None, None, ("-o", "--output"), "Output file (.wav .flac .mp3 .ogg .m4b .m4a .opus), or - "
                      "for WAV on stdout; without it, the audio is played (needs the play extra)."),
    "retake_output": Opt(str | None, None, ("-o", "--output"), "Output file; default: the one the manifest names (a "
                         "script given instead of a manifest needs it)."),
    "retakes": Opt(Path | None, None, ("--retakes",), "The file that keeps `cbx retake`'s picks (default: SCRIPT"
                   ".retakes.json beside each script); share one between a book's chapters and the whole book."),
    # hearing it, and being told
    "play": Opt(bool, False, ("--play",), "Play the audio once it is written (needs the play extra)."),
    "verbose": Opt(bool, False, ("--verbose", "-v"), "Every warning in full, each take's on its own line (the "
                   "manifest has them all either way)."),
}

METAVARS = {
    "output": "FILE", "fmt": "FORMAT", "sample_rate": "HZ", "speed": "FACTOR", "volume": "DB", "preset": "NAME",
    "voice": "VOICE", "language": "CODE", "date_order": "ORDER", "seed": "INTEGER", "verify_model": "NAME|DIR",
    "recheck_model": "NAME|DIR", "model_dir": "DIR", "revision": "REVISION", "cache_dir": "DIR", "out_folder": "DIR",
    "subtitles": "KIND", "cluster": "WHERE", "host": "ADDRESS", "port": "PORT", "data_dir": "DIR", "bitrate": "RATE",
    "page": "FILE", "chunk": "N", "chunks": "LIST", "take_seed": "INTEGER", "run_seed": "INTEGER", "title": "TEXT",
    "author": "TEXT", "retakes": "FILE", "say_output": "FILE", "retake_output": "FILE",
}
"""What goes after each option in --help, where its type alone does not say it (TEXT, INTEGER, NUMBER, FILE)."""


def metavar(name: str, kind: Any) -> str:
    """The option's placeholder in --help: its own (`METAVARS`), else its type's."""
    if name in METAVARS:
        return METAVARS[name]
    for base, word in ((bool, ""), (int, "INTEGER"), (float, "NUMBER"), (Path, "FILE")):
        if kind is base or base in getattr(kind, "__args__", ()):
            return word
    return "TEXT"


def _is_enum(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, Enum)


SAMPLING = ("exaggeration", "temperature", "cfg_weight", "min_p", "top_p", "top_k", "repetition_penalty", "seed",
            "max_tokens")
GROUPS: dict[str, tuple[str, ...]] = {
    "output": ("output", "fmt", "sample_rate", "manifest", "srt", "vtt", "split_chapters", "title", "author",
               "cover", "bitrate", "speed", "volume", "play"),
    "narration": ("preset", "voice", "language", "lexicon", "date_order", *SAMPLING, "retries", "strict",
                  "verify", "verify_tolerance", "candidates", "verify_model", "recheck_model"),
    "model": ("model", "model_dir", "revision", "device"),
    "run": ("batch_size", "no_batch", "cache_dir", "no_cache", "quiet", "verbose", "debug"),
    "book": ("chapters", "notes", "matter"),
}


def _names(items: tuple[str, ...]) -> list[str]:
    names: list[str] = []
    for item in items:
        for name in GROUPS.get(item, (item,)):
            if name not in OPTIONS:
                raise KeyError(f"no option {name!r}")
            if name not in names:
                names.append(name)
    return names


def with_options(*items: str):
    """Give the decorated command the named options (or groups: output, narration, model, run, book), passed to it as
    one ``opts`` namespace. The command's own parameters (its arguments) come first in --help."""

    names = _names(items)

    def decorate(fn):
        sig = inspect.signature(fn, eval_str=True)
        own = [p for p in sig.parameters.values() if p.name != "opts"]

        @functools.wraps(fn)
        def command(**kwargs):
            opts = SimpleNamespace(**{name: kwargs.pop(name) for name in names})
            return fn(**kwargs, opts=opts)

        command.__signature__ = sig.replace(parameters=own + [OPTIONS[n].parameter(n) for n in names])
        command.__annotations__ = {p.name: p.annotation for p in own}
        return command

    return decorate
