"""A script is chapters of paragraphs of speakable text, parsed from plain text or Markdown."""

from __future__ import annotations

import re
from dataclasses import dataclass

from markdown_it import MarkdownIt
from markdown_it.token import Token


@dataclass(frozen=True)
class Paragraph:
    """One block of speakable text: markup removed, whitespace collapsed to single spaces."""

    text: str
    line: int
    """1-based line in the source where the block starts."""
    is_title: bool = False
    """True for a heading, spoken as its chapter's title."""


@dataclass(frozen=True)
class Chapter:
    """A heading's section (or the whole text when there is no heading)."""

    title: str | None
    paragraphs: tuple[Paragraph, ...]


@dataclass(frozen=True)
class Script:
    chapters: tuple[Chapter, ...]

    @property
    def paragraphs(self) -> list[Paragraph]:
        return [p for c in self.chapters for p in c.paragraphs]

    def speakable_text(self) -> str:
        """All spoken text, paragraphs joined by single spaces."""
        return " ".join(p.text for p in self.paragraphs)

    def is_empty(self) -> bool:
        return not any(p.text.strip() for p in self.paragraphs)


TAG_RE = re.compile(r"\[[a-z][a-z _-]{0,30}\]")
"""A paralinguistic tag such as ``[laugh]`` or ``[clear throat]``."""


def _collapse(text: str) -> str:
    return " ".join(text.split())


def strip_tags(text: str) -> tuple[str, list[str]]:
    """Remove paralinguistic tags; return (whitespace-collapsed text, tags removed, brackets included)."""
    tags = TAG_RE.findall(text)
    return _collapse(TAG_RE.sub(" ", text)), tags


def _lines(source: str) -> list[str]:
    return source.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def parse_plain(source: str) -> Script:
    """Parse plain text: blank-line-separated paragraphs in one untitled chapter."""
    paragraphs: list[Paragraph] = []
    block: list[str] = []
    start = 0
    for number, line in enumerate([*_lines(source), ""], start=1):
        if line.strip():
            if not block:
                start = number
            block.append(line)
        elif block:
            paragraphs.append(Paragraph(_collapse(" ".join(block)), start))
            block = []
    return Script((Chapter(None, tuple(paragraphs)),) if paragraphs else ())


def _inline_text(tokens: list[Token]) -> str:
    parts: list[str] = []
    for tok in tokens:
        if tok.type in ("text", "code_inline"):
            parts.append(tok.content)
        elif tok.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif tok.type == "image":
            parts.append(_inline_text(tok.children or []))
        # html_inline and the *_open/*_close markup tokens carry nothing to speak.
    return "".join(parts)


def parse_markdown(source: str) -> Script:
    """Parse CommonMark: headings start chapters; code, HTML and thematic breaks are not spoken."""
    tokens = MarkdownIt("commonmark").parse(source)
    chapters: list[Chapter] = []
    title: str | None = None
    paragraphs: list[Paragraph] = []

    def close_chapter() -> None:
        if title is not None or paragraphs:
            chapters.append(Chapter(title, tuple(paragraphs)))

    for i, tok in enumerate(tokens):
        if tok.type not in ("heading_open", "paragraph_open"):
            continue
        inline = tokens[i + 1]
        text = _collapse(_inline_text(inline.children or []))
        if not text:
            continue
        line = (tok.map[0] if tok.map else 0) + 1
        if tok.type == "heading_open":
            close_chapter()
            title, paragraphs = text, [Paragraph(text, line, is_title=True)]
        else:
            paragraphs.append(Paragraph(text, line))
    close_chapter()
    return Script(tuple(chapters))


def parse_source(source: str, kind: str) -> Script:
    """Parse ``source`` as ``kind``: "markdown" or "plain"."""
    if kind == "markdown":
        return parse_markdown(source)
    if kind == "plain":
        return parse_plain(source)
    raise ValueError(f"unknown source kind {kind!r}; expected 'markdown' or 'plain'")
