"""Subtitles: sentence-level cues timed from each take's real span in the output, written as SRT or WebVTT.

A take may hold several sentences (the narration's `captions`, with paralinguistic tags such as ``[laugh]`` already
removed). Its span [start, end], as the manifest gives it, is shared among its sentences in proportion to their
lengths in characters, which is close to true for read speech. A sentence too long for two lines of about 42
characters becomes several consecutive cues, again timed by characters. No word is ever dropped or broken.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cbx_cli.files import write_text
from cbx_cli.narration import Narration

LINE_CHARS = 42
"""The usual subtitle line length (Netflix, BBC guidelines)."""
MAX_LINES = 2


@dataclass
class Cue:
    start: float
    end: float
    text: str
    """The cue's text; a newline separates its lines (at most two)."""


def _greedy_lines(words: list[str], width: int) -> list[list[str]]:
    lines: list[list[str]] = []
    for word in words:
        if lines and len(" ".join(lines[-1])) + 1 + len(word) <= width:
            lines[-1].append(word)
        else:
            lines.append([word])
    return lines


def _balanced(words: list[str], width: int) -> str:
    """``words`` on one line if they fit, else on two lines split where the longer line is shortest."""
    text = " ".join(words)
    if len(text) <= width or len(words) < 2:
        return text
    best = min(
        range(1, len(words)),
        key=lambda i: (max(len(" ".join(words[:i])), len(" ".join(words[i:]))), -i),
    )
    return " ".join(words[:best]) + "\n" + " ".join(words[best:])


def wrap(text: str, width: int = LINE_CHARS, max_lines: int = MAX_LINES) -> list[str]:
    """Split ``text`` into cue texts of at most ``max_lines`` lines of about ``width`` characters, lines joined by
    newlines. A word longer than ``width`` gets a line of its own; words are never broken or dropped."""
    words = text.split()
    if not words:
        return []
    lines = _greedy_lines(words, width)
    groups = [lines[i : i + max_lines] for i in range(0, len(lines), max_lines)]
    return [_balanced([w for line in group for w in line], width) for group in groups]


def _share(start: float, end: float, texts: list[str]) -> list[tuple[float, float]]:
    """Divide [start, end] among ``texts`` in proportion to their character counts."""
    weights = [max(1, len(t)) for t in texts]
    total = sum(weights)
    times = [start]
    acc = 0
    for w in weights:
        acc += w
        times.append(start + (end - start) * acc / total)
    times[-1] = end
    return list(zip(times[:-1], times[1:], strict=True))


def cues(timed: Iterable[tuple[float, float, list[str]]]) -> list[Cue]:
    """Sentence-level cues from each take's (start, end) in seconds and its sentences as shown.

    Cues come out in time order and never overlap: where two takes crossfade, a cue ends as the next begins.
    """
    found: list[Cue] = []
    for first, last, sentences in sorted(timed, key=lambda t: float(t[0])):
        start, end = float(first), max(float(first), float(last))
        sentences = [s for s in sentences if s]
        if not sentences:
            continue
        for (s_start, s_end), sentence in zip(_share(start, end, sentences), sentences, strict=True):
            pieces = wrap(sentence)
            # Share by the text without line breaks so every piece gets time for its characters.
            times = _share(s_start, s_end, [p.replace("\n", " ") for p in pieces])
            found.extend(Cue(a, b, p) for (a, b), p in zip(times, pieces, strict=True))
    for cue, following in zip(found, found[1:], strict=False):
        cue.end = max(cue.start, min(cue.end, following.start))
    return found


def narration_cues(narration: Narration) -> list[Cue]:
    """The narration's cues, each take timed by its span as the manifest gives it (to the millisecond)."""
    return cues((round(a, 3), round(b, 3), captions)
                for (a, b), captions in zip(narration.spans, narration.captions, strict=True))


def write_subtitles(narration: Narration, path: Path, kind: str = "srt") -> None:
    """Sentence-level subtitles (``kind`` srt or vtt), written atomically."""
    found = narration_cues(narration)
    write_text(path, to_srt(found) if kind == "srt" else to_vtt(found))


def _timestamp(seconds: float, sep: str) -> str:
    ms = max(0, int(round(seconds * 1000)))
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{sep}{ms:03d}"


def to_srt(cues: list[Cue]) -> str:
    """SubRip: numbered blocks from 1, ``HH:MM:SS,mmm --> HH:MM:SS,mmm``, a blank line between blocks."""
    blocks = [
        f"{i}\n{_timestamp(c.start, ',')} --> {_timestamp(c.end, ',')}\n{c.text}" for i, c in enumerate(cues, 1)
    ]
    return "\n\n".join(blocks) + "\n" if blocks else ""


def _vtt_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(cues: list[Cue]) -> str:
    """WebVTT: a ``WEBVTT`` header, then ``HH:MM:SS.mmm --> HH:MM:SS.mmm`` cues; &, < and > escaped."""
    blocks = [f"{_timestamp(c.start, '.')} --> {_timestamp(c.end, '.')}\n{_vtt_text(c.text)}" for c in cues]
    return "\n\n".join(["WEBVTT", *blocks]) + "\n"
