"""Reading the user's text: a literal argument, a .txt/.md file, or stdin."""

from __future__ import annotations

import re
import sys
from dataclasses import replace
from pathlib import Path

from cbx_cli.errors import InputError
from cbx_cli.files import FileProblem, read_limited, size_text
from cbx_cli.parse.markdown import parse_markdown
from cbx_cli.parse.plain import parse_plain
from cbx_cli.parse.script import Script

MARKDOWN_SUFFIXES = {".md", ".markdown", ".mdown", ".mkd"}
TEXT_SUFFIXES = {".txt", ".text", ""}


MAX_SCRIPT_BYTES = 50_000_000
"""The largest script read, from a file or stdin: about sixty hours of narration (a long novel is 1 MB)."""
_CONTROL_RE = re.compile("[\x00-\x08\x0e-\x1f\x7f]")
"""Control characters that are not text (tab, line and page breaks are): a binary or UTF-16 file read as text."""
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
"""What Python makes of bytes that are not UTF-8 in an argument (a lone surrogate)."""
_CONTROL_NAMES = {0: "NUL", 0x1B: "ESC", 0x7F: "DEL"}


def read_stdin(stream=None) -> str:
    stream = stream if stream is not None else sys.stdin.buffer
    data = stream.read(MAX_SCRIPT_BYTES + 1)
    if isinstance(data, str):
        return data
    if len(data) > MAX_SCRIPT_BYTES:
        raise InputError(f"Standard input is larger than {size_text(MAX_SCRIPT_BYTES)}, the most cbx reads. Split the "
                         "text into several scripts.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"Standard input is not UTF-8 text (bad byte at offset {exc.start}). Convert it with iconv -t UTF-8."
        ) from None


def read_file(path: Path) -> str:
    """A script file's text: a regular file of at most `MAX_SCRIPT_BYTES`, UTF-8 (a byte-order mark is dropped)."""
    try:
        data = read_limited(path, MAX_SCRIPT_BYTES)
    except FileProblem as problem:
        if problem.missing:
            raise InputError(f"Script '{path}' does not exist. Check the path.") from None
        if path.is_dir():
            raise InputError(f"Script '{path}' is a folder. Pass a .md or .txt file.") from None
        hint = "Split it into several scripts (cbx batch narrates them in one run)." if problem.too_large \
            else "Pass a .md or .txt file."
        raise InputError(f"Script '{path}' {problem}. {hint}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"Script '{path}' is not UTF-8 text (bad byte at offset {exc.start}). "
            f"Convert it with: iconv -t UTF-8 {path}"
        ) from None


def check_text(text: str, name: str | None = None) -> None:
    """Fail on what is not text: a control character such as NUL (a binary or UTF-16 file), or a byte that is not
    UTF-8 in a command-line argument. Nothing of it would be spoken, and the model must not be handed it."""
    what = f"Script '{name}'" if name else "The text"
    bad = _SURROGATE_RE.search(text)
    if bad is not None:
        byte = ord(bad.group()) - 0xDC00 if 0xDC80 <= ord(bad.group()) <= 0xDCFF else None
        shown = f"byte 0x{byte:02X}" if byte is not None else "character"
        raise InputError(f"{what} is not valid UTF-8: a {shown} at character {bad.start() + 1}. Pass UTF-8 text "
                         "(convert it with iconv -t UTF-8).")
    bad = _CONTROL_RE.search(text)
    if bad is not None:
        code = ord(bad.group())
        line = text.count("\n", 0, bad.start()) + 1
        label = f"U+{code:04X}" + (f" ({_CONTROL_NAMES[code]})" if code in _CONTROL_NAMES else "")
        hint = " (the file may be UTF-16: convert it with iconv -f UTF-16 -t UTF-8)" if code == 0 else ""
        raise InputError(f"{what} has a control character {label} on line {line}, which is not text{hint}. "
                         "Remove it and run again.")


def script_from_text(text: str, markdown: bool = False, name: str | None = None) -> Script:
    """A script from text; ``name`` (the file's name) starts messages. Fails on what is not text and on a script
    with nothing to speak."""
    check_text(text, name)
    script = parse_markdown(text, name) if markdown else parse_plain(text, name)
    if script.is_empty():
        if name:
            raise InputError(f"Script '{name}' has no text to speak: it is empty or has only markup. Give it some "
                             "words.")
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
