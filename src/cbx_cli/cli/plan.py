"""`cbx plan`: a script's chapters and chunks with estimated durations and warnings, without loading a model."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from cbx_cli.cli.app import app, warn
from cbx_cli.cli.options import with_options


@app.command("plan")
@with_options("preset", "model", "language", "max_tokens", "lexicon")
def plan_cmd(
    script: Annotated[str, typer.Argument(help="A Markdown (.md) or text (.txt) script, or - for stdin.")],
    opts,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
) -> None:
    """Show chapters and chunks with estimated durations and warnings, without loading a model."""
    from cbx_cli.api import load_script, plan_script
    from cbx_cli.config.params import NarrationOptions, check_options
    from cbx_cli.plan.chunks import estimate_seconds

    options = check_options(NarrationOptions, preset=opts.preset, language=opts.language,
                            max_tokens=opts.max_tokens, lexicon=opts.lexicon)
    parsed, _ = load_script(script)
    the_plan, _, _ = plan_script(parsed, options, opts.model.value, hints=True)
    total = sum(estimate_seconds(c) + c.pause_after for c in the_plan.chunks)
    if as_json:
        typer.echo(json.dumps(plan_json(the_plan, total), indent=2, ensure_ascii=False))
        return
    _print_table(the_plan, total)
    for warning in the_plan.warnings:
        warn(warning)


def plan_json(the_plan, total: float) -> dict:
    """The plan as `cbx plan --json` prints it."""
    from cbx_cli.plan.chunks import estimate_seconds

    chunks = the_plan.chunks
    return {
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


def _print_table(the_plan, total: float) -> None:
    from rich.console import Console
    from rich.table import Table

    from cbx_cli.plan.chunks import estimate_seconds

    out = Console(highlight=False)
    table = Table(show_lines=False)
    for column in ("#", "chapter", "chunk", "est. s"):
        table.add_column(column, overflow="fold")
    for c in the_plan.chunks:
        title = the_plan.chapter_titles[c.chapter] or "-"
        table.add_row(str(c.index + 1), title[:24], c.text, f"{estimate_seconds(c):.1f}")
    out.print(table)
    chapters = len(the_plan.chapter_titles)
    out.print(f"{chapters} chapter(s), {len(the_plan.chunks)} chunk(s), about {total / 60:.1f} min of audio.",
              markup=False)
