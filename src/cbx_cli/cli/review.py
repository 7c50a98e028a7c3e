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
    manifest: Annotated[Path, typer.Argument(help="The manifest a render wrote (cbx book ... --manifest FILE).")],
    opts,
) -> None:
    """Write a page to listen to every chunk of a render, flagged chunks first, with its text, seed, warnings,
    transcript and score; filter by chapter or flag. It opens from the file, no server."""
    from cbx_cli.deliver.export import check_output_path, write_bytes_atomic
    from cbx_cli.deliver.review import build_review
    from cbx_cli.deliver.safety import Named, check_clashes

    check_output_path(str(opts.page), "-o")
    check_clashes([Named("-o", opts.page)], [Named("the manifest", manifest)])
    page = build_review(manifest, opts.cache_dir, opts.page)
    write_bytes_atomic(opts.page, page.encode("utf-8"))
    if not opts.quiet:
        err.print(f"Wrote {opts.page} ({len(page) / 1e6:.1f} MB).", markup=False)
