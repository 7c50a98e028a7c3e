"""PDF → `Script`: the text in reading order, page furniture removed, chapters from the outline (bookmarks).

pypdf (BSD, pure Python) reads the file: it gives each piece of text with its position and type size (what headings,
running headers and note marks are told by), the outline with the page each entry points at, and decrypts files
locked only against editing (AES needs the ``cryptography`` package); it bounds how far any stream may decompress,
so a compressed-stream bomb is refused rather than inflated. It is an extra (``pip install 'cbx-cli[pdf]'``).
(PyMuPDF reads PDFs well but is AGPL; pdfminer.six lays pages out more carefully but inflates streams unbounded.)

Text is taken in the order the page draws it, which is reading order for what word processors and typesetters
export. Lines are joined into paragraphs by spacing and indentation, and a word hyphenated at a line's end is joined
again. Page numbers and running headers and footers (lines repeated at the top or bottom of pages) are removed and
named in the plan, as are raised note marks; small-type notes at a page's foot are read at the chapter's end (or
skipped, ``--notes skip``). Chapters start at the outline's entries; a PDF without an outline is said to have none,
and its chapters start at its largest headings, or it is one chapter.
"""

from __future__ import annotations

import io
import math
import re
from collections import Counter
from dataclasses import dataclass, field

from cbx_cli.errors import InputError
from cbx_cli.parse.book import Block, BookBuilder, Note, chapter_level
from cbx_cli.parse.html import NOTE_MARK_RE
from cbx_cli.parse.script import Script, collapse

MAX_OUTLINE_DEPTH = 3
BAND = 0.09
"""Share of the page's height at its top and bottom where running headers, footers and page numbers stand."""
PAGE_NUMBER_RE = re.compile(r"^[\s\-\u2013\u2014\[(]*(page\s+)?(\d{1,4}|[ivxlcdm]{1,7})(\s*(of|/)\s*\d{1,4})?"
                            r"[\s\-\u2013\u2014\])]*$", re.IGNORECASE)
SENTENCE_END = tuple('.!?\u2026:;"\u201d\u2019)]')
HEADING_RATIO = 1.15
"""Type this much larger than the body's is a heading."""
NOTE_RATIO = 0.88
"""Type this much smaller than the body's, at a page's foot and opening with a mark, is a note."""
MAX_HEADING_WORDS = 20
PLACEHOLDERS = {"untitled", "anonymous", "unknown", "none"}
"""Metadata values that PDF writers fill in when they know nothing."""
MISSING = "Reading PDF files needs pypdf: pip install 'cbx-cli[pdf]'"


@dataclass
class Line:
    text: str
    x: float
    y: float
    size: float
    page: int
    marks: list[str] = field(default_factory=list)
    """Raised note marks taken out of the line."""
    opens_with_mark: bool = False
    """Whether the line began with one (a footnote's own number)."""


@dataclass
class _Para:
    lines: list[Line]

    @property
    def size(self) -> float:
        return self.lines[0].size

    def text(self) -> str:
        out = ""
        for line in self.lines:
            piece = line.text.strip()
            if out.endswith("\u00ad"):
                out = out[:-1] + piece
            elif out.endswith("-") and len(out) > 1 and out[-2].isalpha() and piece[:1].islower():
                out = out[:-1] + piece  # a word hyphenated at the line's end
            else:
                out = f"{out} {piece}" if out else piece
        return collapse(out)


def parse_pdf(data: bytes, name: str | None = None, notes: str = "end", read_matter: bool = False) -> Script:
    """Read a PDF held in ``data``; ``name`` is the file's name for messages."""
    label = f"'{name}'" if name else "the PDF"
    reader = _open(data, label)
    book = BookBuilder(name, notes)
    pages = []
    for number, page in enumerate(reader.pages, start=1):
        try:
            pages.append(_page_lines(page, number))
        except Exception as exc:  # pypdf raises many kinds on a damaged page; the page is named, the rest read
            book.part = f"page {number}"
            book.skip("unreadable page", "")
            book.warn(f"page {number} cannot be read ({type(exc).__name__}); it is left out.")
            pages.append(([], 0.0, 1.0))
    if not any(lines for lines, _, _ in pages):
        raise InputError(f"{label} has no text to read: its pages are images (a scan?). cbx reads text; run OCR "
                         "first (for example ocrmypdf), then narrate the result.")
    lines = _without_furniture(pages, book)
    starts = _chapter_starts(_outline(reader, book), lines)
    body = _body_size(lines)
    paragraphs = _paragraphs(lines, {index for index, _ in starts})
    _emit(book, paragraphs, starts, body, pages)
    _metadata(reader, book)
    return book.script()


def _open(data: bytes, label: str):
    try:
        from pypdf import PdfReader
        from pypdf.errors import DependencyError, PdfReadError
    except ImportError:
        raise InputError(f"{MISSING}.") from None
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                unlocked = reader.decrypt("")
            except DependencyError:
                raise InputError(f"{label} is encrypted with AES; reading it needs the cryptography package: pip "
                                 "install 'cbx-cli[pdf]'.") from None
            except NotImplementedError as exc:
                raise InputError(f"{label} is protected by DRM ({exc}): cbx reads only unprotected PDFs. Use an "
                                 "unprotected copy.") from None
            if not unlocked:
                raise InputError(f"{label} is protected by a password: cbx reads only unprotected PDFs. Save a copy "
                                 "without the password.")
        len(reader.pages)
    except InputError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise InputError(f"{label} is not a readable PDF ({type(exc).__name__}: {exc}). The file is damaged; "
                         "export it again.") from None
    return reader


def _page_lines(page, number: int) -> tuple[list[Line], float, float]:
    """The page's lines in drawing order, each with its position and type size; and the page's bottom and height."""
    box = page.mediabox
    bottom, height = float(box.bottom), float(box.height) or 1.0
    lines: list[Line] = []
    current: list[tuple[str, float, float, float]] = []

    def end_line() -> None:
        if not current:
            return
        sizes = Counter()
        for text, _, _, size in current:
            sizes[round(size, 1)] += len(text.strip())
        size = sizes.most_common(1)[0][0] if sizes else current[0][3]
        first = next(p for p in current if p[0].strip())
        line = Line("", first[1], _baseline(current), size, number)
        for text, _, y, piece_size in current:
            if NOTE_MARK_RE.match(text.strip()) and piece_size <= 0.8 * size and y - _baseline(current) > 0.15 * size:
                line.marks.append(text.strip())  # a raised, smaller mark: a note reference
                line.opens_with_mark = line.opens_with_mark or not line.text.strip()
            else:
                line.text += text
        if line.text.strip():
            lines.append(line)
        current.clear()

    def visit(text, cm, tm, font, font_size) -> None:
        m = _multiply(tm, cm)
        size = abs(font_size) * math.hypot(m[2], m[3]) or abs(font_size)
        parts = text.split("\n")
        for i, part in enumerate(parts):
            if part.strip() or current:
                current.append((part, m[4], m[5], size))
            if i < len(parts) - 1:
                end_line()

    page.extract_text(visitor_text=visit)
    end_line()
    return _rejoined(lines), bottom, height


def _rejoined(lines: list[Line]) -> list[Line]:
    """A raised note mark that came out as a line of its own goes back to its line as a mark; pieces of one line
    (same baseline) are joined."""
    out: list[Line] = []
    leading: list[str] = []
    for i, line in enumerate(lines):
        prev = out[-1] if out else None
        after = lines[i + 1] if i + 1 < len(lines) else None
        mark = NOTE_MARK_RE.match(line.text.strip())
        if mark and after is not None and line.size <= 0.8 * after.size and 0 < line.y - after.y < after.size and \
                line.x <= after.x:
            leading.append(line.text.strip())  # a note's own number, raised before its first line
            continue
        if leading:
            line.marks[:0], line.opens_with_mark, leading = leading, True, []
        if prev is not None and mark and line.size <= 0.8 * prev.size and \
                0 < line.y - prev.y < prev.size:
            prev.marks.append(line.text.strip())
        elif prev is not None and abs(line.y - prev.y) < 0.3 * prev.size and line.x > prev.x and \
                abs(line.size - prev.size) < 0.5:
            prev.text = f"{prev.text.rstrip()} {line.text.lstrip()}"
            prev.marks += line.marks
        else:
            out.append(line)
    return out


def _baseline(pieces: list[tuple[str, float, float, float]]) -> float:
    """The lowest y of a line's pieces in the line's own type size: its baseline (a raised mark sits above it)."""
    size = max(p[3] for p in pieces)
    return min((p[2] for p in pieces if p[3] >= 0.8 * size and p[0].strip()), default=pieces[0][2])


def _multiply(a, b) -> tuple[float, ...]:
    """Two PDF matrices (a, b, c, d, e, f), ``a`` applied first."""
    a0, a1, a2, a3, a4, a5 = (float(v) for v in a)
    b0, b1, b2, b3, b4, b5 = (float(v) for v in b)
    return (a0 * b0 + a1 * b2, a0 * b1 + a1 * b3, a2 * b0 + a3 * b2, a2 * b1 + a3 * b3,
            a4 * b0 + a5 * b2 + b4, a4 * b1 + a5 * b3 + b5)


def _key(text: str) -> str:
    return re.sub(r"\d+", "#", collapse(text).casefold())


def _without_furniture(pages, book: BookBuilder) -> list[Line]:
    """Every page's lines but its page numbers and running headers and footers (named as skipped)."""
    repeated: Counter[str] = Counter()
    for lines, bottom, height in pages:
        repeated.update({_key(line.text) for line in lines if _in_band(line, bottom, height)})
    need = 2 if len(pages) <= 4 else 3
    kept = []
    for lines, bottom, height in pages:
        for line in lines:
            book.part = f"page {line.page}"
            for mark in line.marks:
                book.skip("note reference", mark)
            if _in_band(line, bottom, height):
                if PAGE_NUMBER_RE.match(line.text.strip()):
                    book.skip("page number", line.text)
                    continue
                if repeated[_key(line.text)] >= need:
                    book.skip("running header or footer", line.text)
                    continue
            kept.append(line)
    return kept


def _in_band(line: Line, bottom: float, height: float) -> bool:
    return line.y > bottom + (1 - BAND) * height or line.y < bottom + BAND * height


def _body_size(lines: list[Line]) -> float:
    """The type size most of the text is set in."""
    sizes: Counter[float] = Counter()
    for line in lines:
        sizes[round(line.size * 2) / 2] += len(line.text)
    return sizes.most_common(1)[0][0] if sizes else 10.0


def _paragraphs(lines: list[Line], breaks: set[int]) -> list[tuple[int, _Para]]:
    """Lines → paragraphs (each with the index of its first line): a paragraph ends at a wider gap than its lines'
    usual spacing, an indented line, a change of type size, or a line index in ``breaks`` (a chapter starts)."""
    gaps: dict[float, list[float]] = {}
    for a, b in zip(lines, lines[1:], strict=False):
        if a.page == b.page and abs(a.size - b.size) < 0.5 and 0 < a.y - b.y < 4 * a.size:
            gaps.setdefault(round(a.size), []).append(a.y - b.y)
    usual = {size: Counter(round(g * 2) / 2 for g in found).most_common(1)[0][0] for size, found in gaps.items()}
    paragraphs: list[tuple[int, _Para]] = []
    left = 0.0
    for index, line in enumerate(lines):
        prev = paragraphs[-1][1].lines[-1] if paragraphs else None
        if prev is None or index in breaks or _starts_paragraph(prev, line, left, usual):
            paragraphs.append((index, _Para([line])))
            left = line.x
        else:
            paragraphs[-1][1].lines.append(line)
            left = min(left, line.x)
    return paragraphs


def _starts_paragraph(prev: Line, line: Line, left: float, usual: dict[float, float]) -> bool:
    if abs(prev.size - line.size) >= 0.5:
        return True
    ends_sentence = prev.text.rstrip().endswith(SENTENCE_END)
    if line.page != prev.page or line.y > prev.y:  # a new page or column: the paragraph runs on unless it ended
        return ends_sentence or not line.text.lstrip()[:1].islower()
    gap = prev.y - line.y
    if gap > 1.45 * usual.get(round(line.size), 1.2 * line.size):
        return True
    indent = line.x - left
    return ends_sentence and 0.8 * line.size <= indent <= 10 * line.size


def _outline(reader, book: BookBuilder) -> list[tuple[int, float | None, str]]:
    """(page number, top of the entry's place on the page or None, title) of each outline entry, in order."""
    entries: list[tuple[int, float | None, str]] = []
    try:
        stack = [(item, 1) for item in reversed(reader.outline or [])]
        while stack:
            item, depth = stack.pop()
            if isinstance(item, list):
                stack.extend((child, depth + 1) for child in reversed(item))
            elif depth <= MAX_OUTLINE_DEPTH:
                page = reader.get_destination_page_number(item)
                top = item.get("/Top")
                if page is not None and page >= 0:
                    entries.append((page + 1, float(top) if top is not None else None, collapse(str(item.title))))
    except Exception as exc:  # a damaged outline: chapters from headings instead
        book.warn(f"the outline cannot be read ({type(exc).__name__}); chapters come from the headings.")
        return []
    return entries


def _chapter_starts(entries: list[tuple[int, float | None, str]], lines: list[Line]) -> list[tuple[int, str]]:
    """(index of the line a chapter starts at, title) for each outline entry: the first line on its page at or below
    its place (or the next page's first, when the page has none)."""
    starts = []
    for page, top, title in entries:
        index = next((i for i, line in enumerate(lines) if line.page > page or
                      (line.page == page and (top is None or line.y <= top + 2))), len(lines))
        starts.append((index, title))
    return sorted(starts, key=lambda s: s[0])


def _emit(book: BookBuilder, paragraphs: list[tuple[int, _Para]], starts: list[tuple[int, str]], body: float,
          pages) -> None:
    """Paragraphs into chapters: at the outline's entries, else at the largest headings."""
    heading_sizes = sorted({round(p.size * 2) / 2 for _, p in paragraphs if _is_heading(p, body)}, reverse=True)
    rank = {size: i + 1 for i, size in enumerate(heading_sizes)}
    level_of = {id(p): rank.get(round(p.size * 2) / 2, 0) if _is_heading(p, body) else 0 for _, p in paragraphs}
    split = None
    if not starts:
        split = chapter_level(level_of.values())
        book.warn("no outline (bookmarks): " + ("chapters start at the headings in the largest type." if split else
                                                "no headings in larger type either, so it is read as one chapter."))
    pending = list(starts)
    notes = 0
    for index, para in paragraphs:
        first = para.lines[0]
        titles = []
        while pending and pending[0][0] <= index:
            titles.append(pending.pop(0)[1])
        if titles:
            book.chapter(": ".join(dict.fromkeys(t for t in titles if t)) or None)
        book.part = f"page {first.page}"
        text = para.text()
        level = level_of[id(para)]
        if split is not None and 0 < level <= split:
            book.chapter(text)
        if _is_note(para, body, pages):
            notes += 1
            book.add(Note(f"pdf-note-{notes}", (Block(text, first.page),), first.page))
            continue
        book.add(Block(text, first.page, level))


def _is_heading(para: _Para, body: float) -> bool:
    return para.size >= HEADING_RATIO * body and len(para.text().split()) <= MAX_HEADING_WORDS


def _is_note(para: _Para, body: float, pages) -> bool:
    first = para.lines[0]
    lines, bottom, height = pages[first.page - 1]
    return para.size <= NOTE_RATIO * body and first.y < bottom + 0.4 * height and \
        (first.opens_with_mark or bool(re.match(r"^([*\u2020\u2021]|\d{1,3}[.)]?\s)", para.text())))


def _metadata(reader, book: BookBuilder) -> None:
    try:
        info = reader.metadata or {}
        values = {"title": info.get("/Title"), "author": info.get("/Author")}
        values["language"] = reader.trailer["/Root"].get("/Lang")
    except Exception:  # metadata is optional; a damaged one is ignored
        return
    for key, value in values.items():
        if value and collapse(str(value)) and collapse(str(value)).casefold() not in PLACEHOLDERS:
            book.out.metadata[key] = collapse(str(value))[:200]

