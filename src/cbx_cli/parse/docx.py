"""Word (.docx) → `Script`: headings by style start chapters; paragraphs, list items and table rows are read in order.

python-docx (MIT) opens the package: it finds the main document, its footnotes, endnotes, headers, footers and
comments through the package's relationships, resolves style names (a localised Word still names its built-in
styles "heading 1" inside the file) and reads the core properties (title, author, language); its XML parser expands
no entities. It is an extra (``pip install 'cbx-cli[docx]'``), with lxml under it. The text itself is read here from
the paragraphs' XML, because python-docx's ``Paragraph.text`` leaves out tracked insertions, fields and content
controls, and these hold words of the document too.

Read: paragraphs (a heading is spoken as a title: styles Title, Heading 1-9, or an outline level), list items, table
rows (cells joined by commas). Named in the plan and not read: footnotes and endnotes at their references (read at
the chapter's end with ``--notes end``), tables of contents and indexes (styles TOC n, Index n, or a table of
contents control) unless ``--matter read``, headers and footers, comments, text boxes, hidden text, deleted text is
not text of the document at all.
"""

from __future__ import annotations

import io
import re
from functools import cache

from cbx_cli.errors import InputError
from cbx_cli.parse.archive import MAX_ENTRY_BYTES, MAX_RATIO, MAX_READ_BYTES, Archive, Refused
from cbx_cli.parse.book import Block, BookBuilder, Item, Note, NoteRef, Skip, chapter_level
from cbx_cli.parse.script import Script, collapse

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
HEADING_STYLE_RE = re.compile(r"^heading\s*([1-9])$", re.IGNORECASE)
MATTER_STYLE_RE = re.compile(r"^(toc|index|table of figures)(\s*(heading|\d))?$", re.IGNORECASE)
MATTER_STYLES = {"toc": "table of contents", "index": "index", "table of figures": "list of illustrations"}
LEFT_OUT = {W + "del", W + "moveFrom", W + "txbxContent", MC + "Fallback", W + "instrText", W + "delText"}
"""Elements of a paragraph whose text is not the document's (or, for text boxes, is read apart)."""
NAMESPACES = {"w": W[1:-1]}
MISSING = "Reading Word files needs python-docx: pip install 'cbx-cli[docx]'"


def parse_docx(data: bytes, name: str | None = None, notes: str = "end", read_matter: bool = False) -> Script:
    """Read a .docx held in ``data``; ``name`` is the file's name for messages."""
    label = f"'{name}'" if name else "the Word file"
    archive = Archive.open(data, label, "Word (.docx)")
    _check_sizes(archive)
    try:
        import docx
        from docx.opc.constants import RELATIONSHIP_TYPE as RT
    except ImportError:
        raise InputError(f"{MISSING}.") from None
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises KeyError, ValueError or its own errors on a damaged package
        raise InputError(f"{label} is not a readable Word (.docx) file ({type(exc).__name__}: {exc}). Open it in "
                         "Word or LibreOffice and save it again as .docx.") from None
    book = BookBuilder(name, notes)
    reader = _Reader(_styles(document), read_matter)
    related = {rel.reltype: rel.target_part for rel in document.part.rels.values() if not rel.is_external}
    book.skipping = "note never referred to"
    for kind, reltype in (("footnote", RT.FOOTNOTES), ("endnote", RT.ENDNOTES)):
        if reltype in related:
            book.part = f"{kind}s"
            for note in _notes(related[reltype].blob, kind, reader):
                book.add(note)
    book.skipping = None
    book.part = name or "the document"
    items = reader.blocks(document.element.body)
    _chapters(book, items)
    _asides(document, related, RT, reader, book)
    core = document.core_properties
    for key, value in (("title", core.title), ("author", core.author), ("language", core.language)):
        if value and collapse(value):
            book.out.metadata[key] = collapse(value)[:200]
    script = book.script()
    if script.is_empty():
        raise InputError(f"{label} has no text to read.")
    return script


def _check_sizes(archive: Archive) -> None:
    """python-docx reads every part of the package whole: the archive's directory is checked for bombs first."""
    total = 0
    for info in archive.zip.infolist():
        total += info.file_size
        if info.file_size > MAX_ENTRY_BYTES or total > MAX_READ_BYTES or \
                (info.file_size > 2**20 and info.file_size > MAX_RATIO * max(info.compress_size, 1)):
            raise Refused(f"{archive.label} holds a part of {info.file_size / 2**20:.0f} MB ({info.filename}), "
                             f"{total / 2**20:.0f} MB in all, uncompressed: refused as an archive bomb.")


@cache
def _xp(expression: str):
    """A compiled XPath with the ``w:`` prefix (works on any element, whichever class lxml gave it)."""
    from lxml import etree

    return etree.XPath(expression, namespaces=NAMESPACES)


def _styles(document) -> dict[str, tuple[str, int | None]]:
    """Style id → (name, outline level from 0, inherited through based-on styles)."""
    own: dict[str, tuple[str, int | None, str | None]] = {}
    for style in document.styles:
        try:
            level = _xp("./w:pPr/w:outlineLvl/@w:val")(style.element)
            based = _xp("./w:basedOn/@w:val")(style.element)
            own[style.style_id] = (style.name or "", int(level[0]) if level else None, based[0] if based else None)
        except (ValueError, AttributeError):
            continue
    table = {}
    for style_id, (name, level, based) in own.items():
        seen = {style_id}
        while level is None and based in own and based not in seen:
            seen.add(based)
            _, level, based = own[based]
        table[style_id] = (name, level)
    return table


class _Reader:
    """A document's block content → book pieces (paragraphs with heading levels, rows, notes' references)."""

    def __init__(self, styles: dict[str, tuple[str, int | None]], read_matter: bool):
        self.styles = styles
        self.read_matter = read_matter

    def blocks(self, container) -> list[Item]:
        """The pieces of a body, a cell, a note or a header, in order, without recursion."""
        items: list[Item] = []
        stack = [iter(container)]
        while stack:
            element = next(stack[-1], None)
            if element is None:
                stack.pop()
                continue
            tag = element.tag
            if tag == W + "p":
                items += self.paragraph(element)
            elif tag == W + "tbl":
                items += self.table(element)
            elif tag == W + "sdt":
                gallery = _xp("./w:sdtPr/w:docPartObj/w:docPartGallery/@w:val")(element)
                if gallery and "contents" in gallery[0].lower() and not self.read_matter:
                    text = " ".join(self.text(p)[0] for p in element.iter(W + "p"))
                    items.append(Skip("table of contents", text, 0))
                else:
                    stack.append(iter(_xp("./w:sdtContent/*")(element)))
            elif tag in (W + "customXml", W + "ins", W + "moveTo", MC + "AlternateContent", MC + "Choice"):
                stack.append(iter(element))
            elif tag == W + "altChunk":
                items.append(Skip("embedded document (not read)", "", 0))
        return items

    def paragraph(self, p) -> list[Item]:
        text, items = self.text(p)
        style_id = next(iter(_xp("./w:pPr/w:pStyle/@w:val")(p)), "")
        style, inherited = self.styles.get(style_id, ("", None))
        direct = _xp("./w:pPr/w:outlineLvl/@w:val")(p)
        matter = MATTER_STYLE_RE.match(style.strip())
        if matter and not self.read_matter:
            return [*items, Skip(MATTER_STYLES[matter.group(1).lower()], text, 0)] if text else items
        level = 0
        heading = HEADING_STYLE_RE.match(style.strip())
        outline = int(direct[0]) if direct and direct[0].isdigit() else inherited
        if style.strip().lower() == "title":
            level = 1
        elif heading:
            level = int(heading.group(1)) + 1
        elif outline is not None and 0 <= outline < 9:
            level = outline + 2
        return [*items, Block(text, 0, level)] if text else items

    def table(self, tbl) -> list[Item]:
        items: list[Item] = []
        for row in tbl.iter(W + "tr"):
            if _xp("ancestor::w:tbl[1]")(row)[0] is not tbl:
                continue  # a nested table's rows are read with the cell that holds them
            cells = []
            for cell in _xp("./w:tc | ./w:sdt/w:sdtContent/w:tc")(row):
                texts = []
                for p in cell.iter(W + "p"):
                    text, found = self.text(p)
                    items += found
                    texts.append(text)
                cells.append(collapse(" ".join(texts)))
            row_text = ", ".join(c for c in cells if c)
            if row_text:
                items.append(Block(row_text, 0))
        return items

    def text(self, p) -> tuple[str, list[Item]]:
        """A paragraph's words (tracked insertions, fields and content controls included; deletions, field codes
        and text boxes not), and the pieces found beside them: note references, hidden text, text boxes."""
        pieces: list[str] = []
        found: list[Item] = []
        stack = [iter(p)]
        hidden_run = None
        hidden: list[str] = []
        while stack:
            element = next(stack[-1], None)
            if element is None:
                stack.pop()
                if len(stack) == hidden_run:
                    hidden_run = None
                continue
            tag = element.tag
            if tag in LEFT_OUT:
                if tag == W + "txbxContent":
                    boxed = " ".join(self.text(q)[0] for q in element.iter(W + "p"))
                    if collapse(boxed):
                        found.append(Skip("text box", boxed, 0))
                continue
            if tag == W + "p" and element is not p:
                continue  # a paragraph inside this one (a text box's, already read)
            target = hidden if hidden_run is not None else pieces
            if tag == W + "r" and _xp("./w:rPr/w:vanish[not(@w:val='0' or @w:val='false')]")(element):
                hidden_run = len(stack)
            elif tag == W + "t":
                target.append(element.text or "")
            elif tag in (W + "tab", W + "ptab", W + "br", W + "cr"):
                target.append(" ")
            elif tag == W + "noBreakHyphen":
                target.append("-")
            elif tag in (W + "footnoteReference", W + "endnoteReference"):
                kind = "footnote" if tag == W + "footnoteReference" else "endnote"
                found.append(NoteRef(f"{kind}:{element.get(W + 'id')}"))
            stack.append(iter(element))
        if collapse("".join(hidden)):
            found.append(Skip("hidden text", "".join(hidden), 0))
        return collapse("".join(pieces)), found


def _notes(blob: bytes, kind: str, reader: _Reader) -> list[Note]:
    from docx.oxml.parser import parse_xml

    root = parse_xml(blob)
    notes = []
    for note in root.iter(W + kind):
        if note.get(W + "type") in ("separator", "continuationSeparator", "continuationNotice"):
            continue
        blocks = tuple(Block(b.text, 0) for b in reader.blocks(note) if isinstance(b, Block) and b.text)
        notes.append(Note(f"{kind}:{note.get(W + 'id')}", blocks, 0))
    return notes


def _chapters(book: BookBuilder, items: list[Item]) -> None:
    """Chapters start at the headings of the rank `chapter_level` picks (a lone Title above them starts one too)."""
    level = chapter_level(i.level for i in items if isinstance(i, Block))
    if level is None:
        book.warn("no headings (styles Title or Heading 1-9): it is read as one chapter.")
    for item in items:
        if isinstance(item, Block) and level is not None and 0 < item.level <= level:
            book.chapter(item.text)
        book.add(item)


def _asides(document, related: dict, RT, reader: _Reader, book: BookBuilder) -> None:
    """Headers, footers and comments: named in the plan, not read."""
    from docx.oxml.parser import parse_xml

    parts = [("page header", rel.target_part) for rel in document.part.rels.values()
             if not rel.is_external and rel.reltype == RT.HEADER]
    parts += [("page footer", rel.target_part) for rel in document.part.rels.values()
              if not rel.is_external and rel.reltype == RT.FOOTER]
    if RT.COMMENTS in related:
        parts.append(("comment", related[RT.COMMENTS]))
    for reason, part in parts:
        try:
            root = parse_xml(part.blob)
        except Exception:  # a damaged header is named, not read
            book.skip(f"{reason} (unreadable)", "")
            continue
        book.part = str(part.partname).lstrip("/")
        units = root.iter(W + "comment") if reason == "comment" else [root]
        for unit in units:
            text = " ".join(reader.text(p)[0] for p in unit.iter(W + "p"))
            if collapse(text):
                book.skip(reason, text)
