"""`cbx plan`: a script's chapters and chunks with estimated durations and warnings, without loading a model;
with ``--spoken``, each chunk also as the model will read it, to proofread before any audio is made."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from cbx_cli.cli.app import app, warn
from cbx_cli.cli.options import with_options


@app.command("plan")
@with_options("preset", "model", "language", "max_tokens", "lexicon", "date_order")
def plan_cmd(
    script: Annotated[str, typer.Argument(help="A Markdown (.md) or text (.txt) script, or - for stdin.")],
    opts,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
    spoken: Annotated[bool, typer.Option("--spoken", help="Show each chunk as written and as read.")] = False,
) -> None:
    """Show chapters and chunks with estimated durations and warnings, without loading a model. --language alone
    plans for the multilingual model."""
    from cbx_cli.api import estimate_seconds, load_script, plan_script
    from cbx_cli.config.models import Model
    from cbx_cli.config.params import NarrationOptions, check_options

    options = check_options(NarrationOptions, preset=opts.preset, language=opts.language,
                            max_tokens=opts.max_tokens, lexicon=opts.lexicon, date_order=opts.date_order)
    model = Model.multilingual if opts.language and opts.model is Model.original else opts.model
    parsed, _ = load_script(script)
    the_plan, _, _ = plan_script(parsed, options, model.value, hints=True)
    total = sum(estimate_seconds(c) + c.pause_after for c in the_plan.chunks)
    if as_json:
        typer.echo(json.dumps(plan_json(the_plan, total, spoken), indent=2, ensure_ascii=False))
        return
    _print_table(the_plan, total, spoken)
    for warning in the_plan.warnings:
        warn(warning)


def plan_json(the_plan, total: float, spoken: bool = False) -> dict:
    """The plan as `cbx plan --json` prints it; with ``spoken``, each chunk's "spoken" text too."""
    from cbx_cli.api import estimate_seconds

    def chunk_json(c) -> dict:
        entry = {"index": c.index, "text": c.text, "seed": c.seed, "max_tokens": c.max_tokens,
                 "estimated_seconds": round(estimate_seconds(c), 2)}
        if spoken:
            entry["spoken"] = c.spoken
        return entry

    by_chapter: list[list[dict]] = [[] for _ in the_plan.chapter_titles]
    for c in the_plan.chunks:
        by_chapter[c.chapter].append(chunk_json(c))
    return {
        "chapters": [{"title": title, "chunks": chunks} for title, chunks in zip(the_plan.chapter_titles, by_chapter,
                                                                                   strict=True)],
        "chunks": len(the_plan.chunks),
        "estimated_seconds": round(total, 1),
        "language": the_plan.chunks[0].language if the_plan.chunks else None,
        "left_as_written": the_plan.left_as_written,
        "warnings": the_plan.warnings,
    }


def _print_table(the_plan, total: float, spoken: bool = False) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from cbx_cli.api import estimate_seconds

    out = Console(highlight=False)
    table = Table(show_lines=spoken)
    columns = ("#", "chapter", "as written", "as read", "est. s") if spoken else ("#", "chapter", "chunk", "est. s")
    for column in columns:
        table.add_column(column, overflow="fold")
    for c in the_plan.chunks:
        title = the_plan.chapter_titles[c.chapter] or "-"
        texts = (c.text, c.spoken) if spoken else (c.text,)
        table.add_row(str(c.index + 1), title[:24], *(escape(t) for t in texts), f"{estimate_seconds(c):.1f}")
    out.print(table)
    chapters = len(the_plan.chapter_titles)
    out.print(f"{chapters} chapter(s), {len(the_plan.chunks)} chunk(s), about {total / 60:.1f} min of audio.",
              markup=False)
