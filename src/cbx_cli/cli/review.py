"""`cbx review`: a render's manifest (and its takes in the cache) → one self-contained HTML page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cbx_cli.cli.app import app, err
from cbx_cli.cli.options import with_options


@app.command()
@with_options("page", "cache_dir", "quiet")
def review(
    manifest: Annotated[Path, typer.Argument(metavar="MANIFEST",
            help="The manifest a render wrote (cbx book ... --manifest FILE).")],
    opts,
) -> None:
    """Write a page to listen to every chunk of a render, flagged chunks first, with its text, seed, warnings,
    transcript and score; filter by chapter or flag. It opens from the file, no server."""
    from cbx_cli.tools.review import write_review

    page = write_review(manifest, opts.page, opts.cache_dir)
    if not opts.quiet:
        err.print(f"Wrote {opts.page} ({len(page) / 1e6:.1f} MB).", markup=False)
