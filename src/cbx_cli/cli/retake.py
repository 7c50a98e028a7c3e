"""`cbx retake`: render single chunks of a script again with a new seed, keep that pick, rebuild the output.

Given the manifest a run wrote, the script and every option come from it (flags given override them); given a
script, the options are the flags typed, as for `cbx book`. A flag means what it means in `cbx book`: --seed is the
run's base seed; the retaken chunks' own seed is --take-seed.
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from cbx_cli.cli.app import app, err, warn
from cbx_cli.cli.narrate import RECORDED, narrate, reading_options
from cbx_cli.cli.options import GROUPS, OPTIONS, with_options

try:  # typer 0.2x carries its own copy of click
    from typer import _click as click
except ImportError:  # pragma: no cover - older typer uses click itself
    import click


@app.command()
@with_options("chunk", "chunks", "take_seed", "retake_output", *GROUPS["output"][1:], "narration", "book", "retakes",
              "run_seed", "model", "run")
def retake(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(metavar="MANIFEST|SCRIPT",
            help="The manifest the output's run wrote (its script or book and options are used), or the script or "
                 "book itself.")],
    opts,
) -> None:
    """Render chunks again with their next derived seed (or --take-seed), keep the pick so every later run of the
    script uses it, and rebuild the output from the take cache. From a manifest, the run's own options apply."""
    from cbx_cli.api import chunk_numbers, load_script
    from cbx_cli.api import retake as pick
    from cbx_cli.config.params import NarrationOptions, check_options
    from cbx_cli.errors import InputError, ParamError

    if target == "-":
        raise InputError("cbx retake needs a manifest or a script file, not stdin: its picks are kept beside the "
                         "script.")
    given = _given(ctx)
    if "retake_output" in given:
        given.add("output")
    script = target
    opts.output = opts.retake_output
    if _is_manifest(target):
        record = _recorded(Path(target))
        script = record["script"]
        for name, value in record["options"].items():
            if name in RECORDED and name not in given and hasattr(opts, name):
                setattr(opts, name, _typed(name, value))
    if opts.run_seed is not None:
        warn("--run-seed is deprecated: --seed gives the run's base seed in every command (the retaken chunks' own "
             "seed is --take-seed).")
        if "seed" not in given:
            opts.seed = opts.run_seed
    if opts.output is None:
        raise ParamError("Give -o FILE: the output to rebuild (a manifest names it; a script does not).")
    if opts.take_seed is not None:
        check_options(NarrationOptions, seed=opts.take_seed)
    chosen: list[int] = []

    def choose(job):
        chosen.extend(chunk_numbers(opts.chunk, opts.chunks, len(job.chunks)))
        return pick(job, chosen, opts.take_seed)

    job = narrate(opts, lambda: load_script(script, reading=reading_options(opts)), choose)
    if not opts.quiet:
        seeds = ", ".join(f"{n} (seed {job.chunks[n - 1].seed})" for n in chosen)
        err.print(f"Retook chunk(s) {seeds}; the pick is kept in {job.retakes.path}.", markup=False)


MAX_MANIFEST_BYTES = 100_000_000
"""The largest manifest read (as the library reads them)."""


def _given(ctx: typer.Context) -> set[str]:
    """The options typed on the command line (or set through the environment), not left at their defaults."""
    typed = (click.core.ParameterSource.COMMANDLINE, click.core.ParameterSource.ENVIRONMENT)
    return {p.name for p in ctx.command.params if p.name and ctx.get_parameter_source(p.name) in typed}


def _is_manifest(target: str) -> bool:
    return target.lower().endswith(".json")


def _recorded(path: Path) -> dict:
    """The script and options a manifest recorded."""
    from cbx_cli.errors import InputError
    from cbx_cli.files import FileProblem, read_limited

    try:
        data = json.loads(read_limited(path, MAX_MANIFEST_BYTES))
        record = data["command"]
        if not isinstance(record, dict) or not isinstance(record.get("options"), dict):
            raise ValueError("no options recorded")
    except FileProblem as problem:
        if problem.missing:
            raise InputError(f"Manifest '{path}' does not exist. Give the manifest the run wrote (--manifest FILE), "
                             "or the script.") from None
        raise InputError(f"Manifest '{path}' {problem}. Give the manifest the run wrote (--manifest FILE).") from None
    except KeyError:
        raise InputError(f"Manifest '{path}' does not record the options of its run (it was written before cbx "
                         "kept them): give the script and the options instead, as for cbx book.") from None
    except (OSError, UnicodeDecodeError, ValueError, TypeError) as exc:
        raise InputError(f"Manifest '{path}' cannot be read ({type(exc).__name__}: {exc}).") from None
    if not record.get("script"):
        raise InputError(f"Manifest '{path}' was made from text, not a script file (cbx say): there is nothing "
                         "to retake.")
    return record


def _typed(name: str, value: Any) -> Any:
    """A recorded option's value as the flag gives it (a path, a choice)."""
    kind = OPTIONS[name].type
    kinds = getattr(kind, "__args__", (kind,))
    for k in kinds:
        if isinstance(k, type) and issubclass(k, Enum):
            return k(value)
    if Path in kinds and value is not None:
        return Path(value)
    return value
