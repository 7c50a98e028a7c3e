"""The parsed script: chapters of paragraphs of speakable text, with the directions given for each.

The parsers (`cbx_cli.parse.plain`, `cbx_cli.parse.markdown` and the book formats: `epub`, `docx`, `html`, `pdf`)
fill a `ScriptBuilder`; everything after parsing reads a `Script`. Plain data, no text libraries.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path


@dataclass(frozen=True)
class BlockOverrides:
    """Settings a ``<!-- cbx: ... -->`` directive gives its section or paragraph; None means "not set"."""

    voice: str | None = None
    """A library voice name, an audio file path or an http(s) URL."""
    preset: str | None = None
    exaggeration: float | None = None
    seed: int | None = None
    model: str | None = None
    line: int = 0
    """1-based line of the directive (the paragraph's own one when a paragraph directive is merged over a
    section's)."""

    def merged_over(self, base: BlockOverrides | None) -> BlockOverrides:
        """These settings, with ``base``'s where these are not set."""
        if base is None:
            return self
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "line"}
        for key, value in values.items():
            if value is None:
                values[key] = getattr(base, key)
        return BlockOverrides(**values, line=self.line)


@dataclass(frozen=True)
class Paragraph:
    """One block of speakable text: markup removed, whitespace collapsed to single spaces."""

    text: str
    line: int
    """1-based line in the source where the block starts."""
    is_title: bool = False
    """True for a heading, spoken as its chapter's title."""
    overrides: BlockOverrides | None = None
    """Settings from ``<!-- cbx: ... -->`` directives that apply to this paragraph."""
    pause_after: float | None = None
    """Seconds of silence after this paragraph, as written in the script; None for the preset's pause."""


@dataclass(frozen=True)
class Chapter:
    """A heading's section (or the whole text when there is no heading)."""

    title: str | None
    paragraphs: tuple[Paragraph, ...]


@dataclass(frozen=True)
class Skipped:
    """A part of a book that is not read, named in the plan with its reason: nothing is dropped unsaid."""

    part: str
    """Where it is: a file inside the book and line ("OEBPS/copyright.xhtml:12"), or a page ("page 3")."""
    reason: str
    """Why it is not read: "copyright page", "table of contents", "footnote", "image description", ..."""
    text: str
    """Its words, whitespace collapsed ("" when there are none, or they cannot be read)."""

    @property
    def words(self) -> int:
        return len(self.text.split())


@dataclass(frozen=True)
class Cover:
    """A book's own cover image, as the file holds it (attached to the output unless --cover names another)."""

    data: bytes
    name: str
    """Its name inside the book ("OEBPS/images/cover.jpg")."""


@dataclass(frozen=True)
class Script:
    chapters: tuple[Chapter, ...]
    directives: tuple[BlockOverrides, ...] = ()
    """Every ``<!-- cbx: ... -->`` directive as written, in source order, each with its own line."""
    warnings: tuple[str, ...] = ()
    """Text the script holds but cbx does not speak (an unclosed code fence, text inside HTML, ...), each with its
    line: the plan and the run's summary repeat them."""
    metadata: dict[str, str] = field(default_factory=dict)
    """``title`` and ``author`` (a Markdown script's front matter, a book's own), and a book's ``language``."""
    path: Path | None = None
    """The file the script was read from (None for text and stdin): no output may be written over it."""
    skipped: tuple[Skipped, ...] = ()
    """The parts of a book that are not read (front matter, notes, image descriptions, ...), in book order."""
    cover: Cover | None = None
    """A book's cover image."""

    @property
    def paragraphs(self) -> list[Paragraph]:
        return [p for c in self.chapters for p in c.paragraphs]

    def speakable_text(self) -> str:
        """All spoken text, paragraphs joined by single spaces."""
        return " ".join(p.text for p in self.paragraphs)

    def is_empty(self) -> bool:
        return not any(p.text.strip() for p in self.paragraphs)


def collapse(text: str) -> str:
    """``text`` with every run of whitespace made one space, and none at either end."""
    return " ".join(text.split())


def where(name: str | None, line: int) -> str:
    """The start of an error message about ``line`` of the script ``name`` ("chapter.md:12: ", "line 12: ")."""
    return f"{name}:{line}: " if name else f"line {line}: "


Part = tuple[str, int, float | None]
"""A piece of a block: (collapsed text, the line it starts on, seconds of pause after it or None)."""


class ScriptBuilder:
    """Collects chapters and paragraphs; attaches pauses to the paragraph before them."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name
        self.chapters: list[tuple[str | None, list[Paragraph]]] = []
        self.directives: list[BlockOverrides] = []
        self.warnings: list[str] = []
        self.metadata: dict[str, str] = {}
        self.skipped: list[Skipped] = []
        self.cover: Cover | None = None

    def warn(self, line: int | None, message: str) -> None:
        """Note text that is not spoken; ``line`` (None: the whole script) and the script's name start the note."""
        start = where(self.name, line) if line is not None else (f"{self.name}: " if self.name else "")
        self.warnings.append(start + message)

    def skip(self, part: str, reason: str, text: str) -> None:
        """Name a part that is not read, with its reason and words."""
        self.skipped.append(Skipped(part, reason, collapse(text)))

    def chapter(self, title: str | None) -> None:
        self.chapters.append((title, []))

    def add(self, para: Paragraph) -> None:
        if not self.chapters:
            self.chapters.append((None, []))
        self.chapters[-1][1].append(para)

    def pause(self, seconds: float) -> None:
        """Silence after the last paragraph so far; dropped when there is none yet."""
        for _, paras in reversed(self.chapters):
            if paras:
                last = paras[-1]
                paras[-1] = replace(last, pause_after=round((last.pause_after or 0.0) + seconds, 6))
                return

    def block(self, parts: list[Part], is_title: bool = False, overrides: BlockOverrides | None = None) -> None:
        """Add one block's parts (from `cbx_cli.parse.pauses.split_pauses`): a paragraph for each part with
        text, a pause for each empty one that has a pause."""
        for text, line, pause in parts:
            if text:
                self.add(Paragraph(text, line, is_title=is_title, overrides=overrides, pause_after=pause))
            elif pause is not None:
                self.pause(pause)

    def script(self) -> Script:
        chapters = tuple(Chapter(t, tuple(ps)) for t, ps in self.chapters if t is not None or ps)
        return Script(chapters, tuple(self.directives), tuple(self.warnings), dict(self.metadata),
                      skipped=tuple(self.skipped), cover=self.cover)
