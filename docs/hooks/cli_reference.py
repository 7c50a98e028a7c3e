"""MkDocs hook: the CLI reference, generated from cbx's Typer app when the site is built.

A page holding the marker ``<!-- cbx-cli-reference -->`` gets, in its place, every command and subcommand of the app:
its help, its usage, its arguments and a table of its options (names, value, meaning with its default), read from
the same command objects, and by the same calls, that `cbx ... --help` prints. Nothing here is written by hand, so
the reference cannot drift from the commands. `tests/test_docs.py` checks that every option `--help` shows is in it.
"""

from __future__ import annotations

import typer.main

MARKER = "<!-- cbx-cli-reference -->"


def on_page_markdown(markdown: str, page, config, files) -> str:
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, reference())


def reference() -> str:
    """Markdown for every command of the `cbx` app, in the order `cbx --help` lists them, subcommands after their
    group."""
    from cbx_cli.cli import app

    root = typer.main.get_command(app)
    context = root.make_context("cbx", [], resilient_parsing=True)
    return "\n".join(_command(root, context, ["cbx"]))


def commands(group, context, path: list[str]):
    """(path, command, context) for ``group`` and every command below it."""
    yield path, group, context
    if hasattr(group, "list_commands"):
        for name in group.list_commands(context):
            command = group.get_command(context, name)
            if command is None or command.hidden:
                continue
            yield from commands(command, command.make_context(name, [], parent=context, resilient_parsing=True),
                                [*path, name])


def _command(root, root_context, root_path) -> list[str]:
    lines: list[str] = []
    for path, command, context in commands(root, root_context, root_path):
        lines += [f"## `{' '.join(path)}`", ""]
        if command.help:
            lines += [_paragraphs(command.help), ""]
        pieces = command.collect_usage_pieces(context)
        lines += ["```", f"{' '.join(path)} {' '.join(pieces)}".rstrip(), "```", ""]
        arguments = [p for p in command.params if p.param_type_name == "argument"]
        if arguments:
            lines += ["| argument | meaning |", "| --- | --- |"]
            lines += [f"| `{p.metavar or p.name}` | {_cell(p.help or '')} |" for p in arguments]
            lines.append("")
        options = [p for p in command.params if p.param_type_name == "option" and not p.hidden]
        help_option = command.get_help_option(context)
        if help_option is not None:
            options.append(help_option)
        records = [p.get_help_record(context) for p in options]
        if records:
            lines += ["| option | meaning |", "| --- | --- |"]
            lines += [f"| `{names}` | {_cell(meaning)} |" for names, meaning in filter(None, records)]
            lines.append("")
    return lines


def _paragraphs(text: str) -> str:
    """A docstring's paragraphs, each on one line."""
    return "\n\n".join(" ".join(block.split()) for block in text.split("\n\n"))


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")
