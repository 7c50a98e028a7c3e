"""`cbx retake`: render single chunks of a script again with a new seed, keep that pick, rebuild the output."""

from __future__ import annotations

from typing import Annotated

import typer

from cbx_cli.cli.app import app, err
from cbx_cli.cli.narrate import narrate, reading_options
from cbx_cli.cli.options import GROUPS, with_options

NARRATION = tuple(name for name in GROUPS["narration"] if name != "seed")
"""`book`'s narration options; its --seed is --run-seed here, as --seed is the retaken chunks' own."""


@app.command()
@with_options("chunk", "chunks", "take_seed", "output", *NARRATION, "run_seed", "book", "model", "run")
def retake(
    script: Annotated[str, typer.Argument(help="The script or book file the output was made from.")],
    opts,
) -> None:
    """Render chunks again with their next derived seed (or --seed), keep the pick beside the script so later runs
    use it, and rebuild the output from the take cache. Give the options the output was made with."""
    from cbx_cli.api import chunk_numbers, load_script
    from cbx_cli.api import retake as pick
    from cbx_cli.config.params import NarrationOptions, check_options
    from cbx_cli.errors import InputError

    if script == "-":
        raise InputError("cbx retake needs a script file, not stdin: its picks are kept beside the script.")
    if opts.take_seed is not None:
        check_options(NarrationOptions, seed=opts.take_seed)
    opts.seed = opts.run_seed
    chosen: list[int] = []

    def choose(job):
        chosen.extend(chunk_numbers(opts.chunk, opts.chunks, len(job.chunks)))
        return pick(job, chosen, opts.take_seed)

    job = narrate(opts, lambda: load_script(script, reading=reading_options(opts)), choose)
    if not opts.quiet:
        seeds = ", ".join(f"{n} (seed {job.chunks[n - 1].seed})" for n in chosen)
        err.print(f"Retook chunk(s) {seeds}; the pick is kept in {job.retakes.path}.", markup=False)

