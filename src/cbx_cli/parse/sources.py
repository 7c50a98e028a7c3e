"""Reading the user's text: a literal argument, a .txt/.md file, or stdin."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from cbx_cli.errors import InputError
from cbx_cli.parse.markdown import parse_markdown
from cbx_cli.parse.plain import parse_plain
from cbx_cli.parse.script import Script

MARKDOWN_SUFFIXES = {".md", ".markdown", ".mdown", ".mkd"}
TEXT_SUFFIXES = {".txt", ".text", ""}


def read_stdin(stream=None) -> str:
    stream = stream if stream is not None else sys.stdin.buffer
    data = stream.read()
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"Standard input is not UTF-8 text (bad byte at offset {exc.start}). Convert it with iconv -t UTF-8."
        ) from None


def read_file(path: Path) -> str:
    if not path.exists():
        raise InputError(f"Script '{path}' does not exist. Check the path.")
    if path.is_dir():
        raise InputError(f"Script '{path}' is a folder. Pass a .md or .txt file.")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"Script '{path}' cannot be read: {exc.strerror}. Check its permissions.") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"Script '{path}' is not UTF-8 text (bad byte at offset {exc.start}). "
            f"Convert it with: iconv -t UTF-8 {path}"
        ) from None


def script_from_text(text: str, markdown: bool = False, name: str | None = None) -> Script:
    script = parse_markdown(text, name) if markdown else parse_plain(text)
    if script.is_empty():
        raise InputError("There is no text to speak: the input is empty or has only markup. Give some words.")
    return script


def load_say(arg: str, stdin=None) -> Script:
    """`cbx say`: the argument is the text itself, or '-' for stdin."""
    text = read_stdin(stdin) if arg == "-" else arg
    return script_from_text(text, markdown=False)


def load_book(arg: str, stdin=None) -> tuple[Script, str]:
    """`cbx book`: a .md or .txt file, or '-' for Markdown on stdin. Returns the script and its name."""
    if arg == "-":
        return script_from_text(read_stdin(stdin), markdown=True), "stdin"
    path = Path(arg)
    text = read_file(path)
    suffix = path.suffix.lower()
    if suffix not in MARKDOWN_SUFFIXES | TEXT_SUFFIXES:
        raise InputError(f"Script '{path}' is not a .md or .txt file. Rename it or pipe it in with '-'.")
    script = script_from_text(text, markdown=suffix in MARKDOWN_SUFFIXES, name=path.name)
    return replace(script, path=path), path.name
