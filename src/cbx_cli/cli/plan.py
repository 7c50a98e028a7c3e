"""`cbx plan`: a script's chapters and chunks with estimated durations and warnings, without loading a model;
with ``--spoken``, each chunk also as the model will read it, to proofread before any audio is made. A book's
chapters are listed with the numbers --chapters takes, and every part of it that is not read with its reason."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from cbx_cli.cli.app import app, warn
from cbx_cli.cli.narrate import SCRIPT_HELP
from cbx_cli.cli.options import with_options

EXCERPT = 60
"""Characters of a skipped part's text shown in the table (--json gives it whole)."""
MAX_ROWS = 2000
"""Rows a table prints at most (a big book has hundreds of thousands of chunks): --chapters or --json for more."""


@app.command("plan")
@with_options("preset", "model", "language", "max_tokens", "lexicon", "date_order", "book")
def plan_cmd(
    script: Annotated[str, typer.Argument(metavar="SCRIPT", help=SCRIPT_HELP)],
    opts,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
    spoken: Annotated[bool, typer.Option("--spoken", help="Show each chunk as written and as read.")] = False,
) -> None:
    """Show chapters and chunks with estimated durations and warnings, without loading a model. --language alone
    plans for the multilingual model."""
    from cbx_cli.api import estimate_seconds, load_script, plan_script
    from cbx_cli.cli.narrate import reading_options
    from cbx_cli.config.models import Model
    from cbx_cli.config.params import NarrationOptions, check_options

    options = check_options(NarrationOptions, preset=opts.preset, language=opts.language,
                            max_tokens=opts.max_tokens, lexicon=opts.lexicon, date_order=opts.date_order,
                            chapters=opts.chapters)
    model = Model.multilingual if opts.language and opts.model is Model.original else opts.model
    parsed, name = load_script(script, reading=reading_options(opts))
    the_plan, _, _ = plan_script(parsed, options, model.value, name, hints=True)
    total = sum(estimate_seconds(c) + c.pause_after for c in the_plan.chunks)
    if as_json:
        data = {**plan_json(the_plan, total, spoken), "metadata": book_tags(parsed)}
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    _print_tables(the_plan, total, spoken, opts.chapters is not None)
    tags = book_tags(parsed)
    if tags:
        typer.echo("Tags: " + "; ".join(f"{key} {value}" for key, value in tags.items()) + ".")
    for warning in the_plan.warnings:
        warn(warning)


def book_tags(script) -> dict:
    """What the output will be tagged with, from the script itself (front matter, a book's own): title, author,
    language, and the name of a book's cover image."""
    tags = {key: script.metadata[key] for key in ("title", "author", "language") if script.metadata.get(key)}
    if script.cover is not None:
        tags["cover"] = script.cover.name
    return tags


def plan_json(the_plan, total: float, spoken: bool = False) -> dict:
    """The plan as `cbx plan --json` prints it; with ``spoken``, each chunk's "spoken" text too."""
    from cbx_cli.api import estimate_seconds

    def chunk_json(c) -> dict:
        entry = {"index": c.index, "text": c.text, "seed": c.seed, "max_tokens": c.max_tokens,
                 "estimated_seconds": round(estimate_seconds(c), 2)}
        if spoken:
            entry["spoken"] = c.spoken
        return entry

    by_chapter: list[list[dict]] = [[] for _ in the_plan.chapters]
    for c in the_plan.chunks:
        by_chapter[c.chapter].append(chunk_json(c))
    return {
        "chapters": [
            {"number": info.number, "title": info.title, "words": info.words,
             "estimated_seconds": round(info.seconds, 1), "selected": info.selected, "chunks": chunks}
            for info, chunks in zip(the_plan.chapters, by_chapter, strict=True)
        ],
        "chunks": len(the_plan.chunks),
        "estimated_seconds": round(total, 1),
        "language": the_plan.chunks[0].language if the_plan.chunks else None,
        "left_as_written": the_plan.left_as_written,
        "skipped": [{"part": s.part, "reason": s.reason, "words": s.words, "text": s.text}
                    for s in the_plan.skipped],
        "warnings": the_plan.warnings,
    }


def _print_tables(the_plan, total: float, spoken: bool = False, selecting: bool = False) -> None:
    """The chunks; the chapters (number, title, words, minutes); the parts not read; a summary line."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from cbx_cli.api import estimate_seconds

    out = Console(highlight=False)
    table = Table(show_lines=spoken)
    columns = ("#", "chapter", "as written", "as read", "est. s") if spoken else ("#", "chapter", "chunk", "est. s")
    for column in columns:
        table.add_column(column, overflow="fold")
    for c in the_plan.chunks[:MAX_ROWS]:
        title = the_plan.chapter_titles[c.chapter] or "-"
        texts = (c.text, c.spoken) if spoken else (c.text,)
        table.add_row(str(c.index + 1), escape(title[:24]), *(escape(t) for t in texts), f"{estimate_seconds(c):.1f}")
    out.print(table)
    _more(out, len(the_plan.chunks), "chunks", "pick chapters with --chapters, or")
    chapters = Table(title="Chapters")
    for column in ("#", "title", "words", "est. min", *(("read",) if selecting else ())):
        chapters.add_column(column, overflow="fold")
    for info in the_plan.chapters:
        chapters.add_row(str(info.number), escape(info.title or "-"), str(info.words), f"{info.seconds / 60:.1f}",
                         *(("yes" if info.selected else "no",) if selecting else ()))
    out.print(chapters)
    if the_plan.skipped:
        skipped = Table(title="Not read")
        for column in ("where", "why", "words", "text"):
            skipped.add_column(column, overflow="fold")
        for part in the_plan.skipped[:MAX_ROWS]:
            text = part.text if len(part.text) <= EXCERPT else part.text[: EXCERPT - 1] + "…"
            skipped.add_row(escape(part.part), part.reason, str(part.words), escape(text))
        out.print(skipped)
        _more(out, len(the_plan.skipped), "parts not read", "")
    read = sum(info.selected for info in the_plan.chapters)
    of = f" of {len(the_plan.chapters)}" if read != len(the_plan.chapters) else ""
    out.print(f"{read}{of} chapter(s), {len(the_plan.chunks)} chunk(s), about {total / 60:.1f} min of audio.",
              markup=False)


def _more(out, total: int, what: str, hint: str) -> None:
    """The line that stands for a table's rows past `MAX_ROWS`."""
    if total > MAX_ROWS:
        out.print(f"... and {total - MAX_ROWS:,} more {what} ({total:,} in all): " + (f"{hint} " if hint else "")
                  + "see them all with --json.", markup=False, soft_wrap=True)
