"""Plain text → `Script`: blank-line-separated paragraphs in one untitled chapter."""

from __future__ import annotations

import re

from cbx_cli.parse.pauses import SEPARATOR_PAUSE, split_pauses
from cbx_cli.parse.script import Script, ScriptBuilder, collapse

SEPARATOR_RE = re.compile(r"([*\-_#=~])(?:\s*\1){2,}")
"""A plain-text paragraph that is only a separator: ``***``, ``* * *``, ``---``, ``###``."""


def _lines(source: str) -> list[str]:
    return source.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def parse_plain(source: str, name: str | None = None) -> Script:
    """Parse plain text: blank-line-separated paragraphs in one untitled chapter.

    ``[pause ...]`` tags and separator paragraphs (``***``, ``---``) become pauses. ``name`` (the file name)
    prefixes error messages.
    """
    out = ScriptBuilder()
    block: list[str] = []
    start = 0
    for number, line in enumerate([*_lines(source), ""], start=1):
        if line.strip():
            if not block:
                start = number
            block.append(line)
        elif block:
            text = "\n".join(block)
            if SEPARATOR_RE.fullmatch(collapse(text)):
                out.pause(SEPARATOR_PAUSE)
            else:
                out.block(split_pauses(text, start, name))
            block = []
    return out.script()
