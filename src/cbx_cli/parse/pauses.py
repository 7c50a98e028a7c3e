"""Pauses written in a script: ``[pause 1.5s]``, ``[pause 500ms]``, ``[pause 2]`` tags, and separator lines.

A pause tag splits its paragraph there; the part before it is followed by that much silence. A separator line
(``***``, ``---``) stands for `SEPARATOR_PAUSE` seconds after the paragraph before it.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence

from cbx_cli.errors import InputError
from cbx_cli.parse.script import Part, collapse, where

SEPARATOR_PAUSE = 1.5
"""Seconds of silence a separator line (``***``, ``---``) stands for."""
MAX_PAUSE = 30.0
"""The longest pause a tag may ask for, in seconds."""

PAUSE_START_RE = re.compile(r"\[\s*pause\b", re.IGNORECASE)
PAUSE_RE = re.compile(r"\[\s*pause\b([^\[\]]*)\]", re.IGNORECASE)
PAUSE_VALUE_RE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(ms|s)?", re.IGNORECASE)
_NEWLINE_RE = re.compile("\n")
PAUSE_HINT = "Write [pause 1.5s], [pause 500ms] or [pause 2] (seconds, 0 to 30)."


def _pause_seconds(tag: str, arg: str, at: str) -> float:
    m = PAUSE_VALUE_RE.fullmatch(arg.strip())
    if not m:
        raise InputError(f"{at}{tag} is not a pause. {PAUSE_HINT}")
    seconds = float(m.group(1)) / (1000.0 if (m.group(2) or "s").lower() == "ms" else 1.0)
    if seconds > MAX_PAUSE:
        raise InputError(f"{at}{tag} is too long: pauses are 0 to {MAX_PAUSE:g} s.")
    return seconds


def split_pauses(text: str, line: int, name: str | None, code: Sequence[tuple[int, int]] = ()) -> list[Part]:
    """Split ``text`` (a block starting at ``line``; newlines are line breaks) at ``[pause ...]`` tags.

    Returns (collapsed text, line where it starts, pause after it or None) for each part, in order; a part's
    text may be empty. Tags inside ``code`` spans (offsets) are text, not pauses. A malformed tag is an
    `InputError` naming ``name`` and its line.
    """

    breaks = [m.start() for m in _NEWLINE_RE.finditer(text)]
    code_starts = [a for a, _ in code]

    def line_at(offset: int) -> int:
        return line + bisect_left(breaks, offset)

    def in_code(offset: int) -> bool:  # code spans are in order and do not overlap
        i = bisect_right(code_starts, offset) - 1
        return i >= 0 and offset < code[i][1]

    parts: list[Part] = []
    pos = 0
    for start in PAUSE_START_RE.finditer(text):
        if start.start() < pos or in_code(start.start()):
            continue
        at = where(name, line_at(start.start()))
        m = PAUSE_RE.match(text, start.start())
        if m is None:
            shown = text[start.start():].split("\n")[0][:24].rstrip()
            raise InputError(f"{at}'{shown}' is not a pause: it has no closing ']'. {PAUSE_HINT}")
        seconds = _pause_seconds(m.group(0), m.group(1), at)
        parts.append(_part(text, pos, m.start(), line_at, seconds))
        pos = m.end()
    parts.append(_part(text, pos, len(text), line_at, None))
    return parts


def _part(text: str, a: int, b: int, line_at: Callable[[int], int], pause: float | None) -> Part:
    piece = text[a:b]
    lead = len(piece) - len(piece.lstrip())
    return collapse(piece), line_at(a + lead), pause
