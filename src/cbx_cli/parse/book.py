"""What the book readers (`epub`, `docx`, `html`, `pdf`) share: the pieces a document is read into, and the
`BookBuilder` that turns them into a `Script`.

A reader walks its document and hands the builder, in reading order: `Block`s of text (a heading has a level),
`Skip`s (text that is not read, with the reason), `NoteRef`s and `Note`s (footnote and endnote bodies, kept out of
the text), `Anchor`s and `Pause`s. Where chapters start is each reader's own rule; what becomes of notes
(`--notes end`: read at the end of the chapter that first refers to them; `skip`: named in the plan) and of the
parts a reader skips whole is decided here, once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from cbx_cli.parse.script import Paragraph, Script, ScriptBuilder, collapse

SEPARATOR_PAUSE = 1.5
"""Seconds of silence for a scene break (``<hr>``, a ``* * *`` paragraph), as in a Markdown script."""


@dataclass(frozen=True)
class Block:
    """A paragraph, list item, table row or heading: its text, whitespace collapsed."""

    text: str
    line: int
    level: int = 0
    """0 for body text; 1-9 for a heading of that rank (1 highest)."""


@dataclass(frozen=True)
class Skip:
    """Text that is not read, and why ("image description", "note reference", "hidden text", ...)."""

    reason: str
    text: str
    line: int


@dataclass(frozen=True)
class NoteRef:
    """A reference to a note (its marker is not read: a `Skip` names it)."""

    key: str


@dataclass(frozen=True)
class Note:
    """A footnote or endnote body, kept out of the text where it stands."""

    key: str
    blocks: tuple[Block, ...]
    line: int


@dataclass(frozen=True)
class Anchor:
    """An element id a table of contents points at: a chapter may start here."""

    id: str


@dataclass(frozen=True)
class Pause:
    seconds: float


Item = Block | Skip | NoteRef | Note | Anchor | Pause


def is_scene_break(text: str) -> bool:
    """A paragraph of symbols only (``* * *``, ``⁂``, ``~~~``): a pause, not words."""
    return bool(text) and not any(ch.isalnum() for ch in text)


def chapter_level(levels: Iterable[int]) -> int | None:
    """The heading rank that starts chapters: the highest rank used more than once (a single top heading is the
    book's title), else the highest used; None when there are no headings."""
    counts = Counter(level for level in levels if level > 0)
    if not counts:
        return None
    repeated = [level for level, n in counts.items() if n > 1]
    return min(repeated) if repeated else min(counts)


@dataclass
class _StoredNote:
    note: Note
    chapter: int
    """Index of the chapter it stands in; -1 when it stands in a part that is not read."""
    part: str
    skipped_as: str | None
    """The reason of the skipped part it stands in."""


class BookBuilder:
    """Collects a book's pieces into chapters; notes are placed, or named, when the script is made."""

    def __init__(self, name: str | None, notes: str = "end"):
        self.out = ScriptBuilder(name)
        self.notes_mode = notes
        self.part = name or "the book"
        """Where the pieces now added come from ("OEBPS/ch1.xhtml"), for the plan's list of skipped parts."""
        self.skipping: str | None = None
        """While set, the reason every `Block` added is skipped (a whole document that is not read)."""
        self._refs: dict[int, list[str]] = {}
        self._notes: dict[str, _StoredNote] = {}

    def where(self, line: int | None) -> str:
        return f"{self.part}:{line}" if line else self.part

    @property
    def chapters(self) -> int:
        return len(self.out.chapters)

    def chapter(self, title: str | None) -> None:
        """Start a chapter (a title None: untitled)."""
        self.out.chapter(collapse(title) if title else None)

    def current_title(self) -> str | None:
        return self.out.chapters[-1][0] if self.out.chapters else None

    def is_fresh(self) -> bool:
        """Whether the current chapter has no paragraph yet (or there is none)."""
        return not self.out.chapters or not self.out.chapters[-1][1]

    def add(self, item: Item) -> None:
        if isinstance(item, Block):
            self.block(item)
        elif isinstance(item, Skip):
            self.skip(item.reason, item.text, item.line)
        elif isinstance(item, NoteRef):
            if not self.out.chapters:
                self.out.chapter(None)
            self._refs.setdefault(len(self.out.chapters) - 1, []).append(item.key)
        elif isinstance(item, Note):
            self.note(item)
        elif isinstance(item, Pause) and self.skipping is None:
            self.out.pause(item.seconds)

    def block(self, block: Block) -> None:
        if not block.text:
            return
        if self.skipping is not None:
            self.skip(self.skipping, block.text, block.line)
        elif is_scene_break(block.text):
            self.skip("scene break", block.text, block.line)
            self.out.pause(SEPARATOR_PAUSE)
        else:
            self.out.add(Paragraph(block.text, block.line, is_title=block.level > 0))

    def skip(self, reason: str, text: str, line: int | None = None) -> None:
        self.out.skip(self.where(line), reason, text)

    def note(self, note: Note) -> None:
        if self.notes_mode == "skip":
            self.skip("note (--notes skip)", " ".join(b.text for b in note.blocks), note.line)
            return
        if note.key in self._notes:  # the same id twice: read once
            self.skip("note (repeated id)", " ".join(b.text for b in note.blocks), note.line)
            return
        chapter = -1 if self.skipping is not None or not self.out.chapters else len(self.out.chapters) - 1
        self._notes[note.key] = _StoredNote(note, chapter, self.where(note.line), self.skipping)

    def warn(self, message: str) -> None:
        self.out.warn(None, message)

    def script(self) -> Script:
        """The chapters with their notes placed; chapters left with nothing to read are dropped."""
        self._place_notes()
        self.out.chapters = [(title, paras) for title, paras in self.out.chapters if paras]
        return self.out.script()

    def _place_notes(self) -> None:
        """Each note at the end of the chapter that first refers to it; a note never referred to, at the end of the
        chapter it stands in (or named as skipped with the part it stands in)."""
        placed: set[str] = set()
        endings: dict[int, list[Note]] = {}
        for chapter in sorted(self._refs):
            for key in self._refs[chapter]:
                if key in self._notes and key not in placed:
                    placed.add(key)
                    endings.setdefault(chapter, []).append(self._notes[key].note)
        for key, stored in self._notes.items():
            if key in placed:
                continue
            if stored.chapter < 0:
                text = " ".join(b.text for b in stored.note.blocks)
                self.out.skipped.append(_skipped(stored.part, stored.skipped_as or "note outside any chapter", text))
            else:
                endings.setdefault(stored.chapter, []).append(stored.note)
        for chapter, notes in endings.items():
            paras = self.out.chapters[chapter][1]
            for note in notes:
                paras += [Paragraph(b.text, b.line) for b in note.blocks if b.text]


def _skipped(part: str, reason: str, text: str):
    from cbx_cli.parse.script import Skipped

    return Skipped(part, reason, collapse(text))
