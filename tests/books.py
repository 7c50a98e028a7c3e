"""Books made at test time, as their own tools make them: EPUB 2 and 3 written with zipfile (the format is a zip of
XML and XHTML), Word files with python-docx, PDFs with reportlab, a cover image in PNG."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from html import escape
from pathlib import Path


def png(width: int = 16, height: int = 16) -> bytes:
    """A small red and blue PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\0" + (b"\xc8\x00\xff" if y < height // 2 else b"\xc8\x00\x00") * width for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


@dataclass
class Doc:
    """One XHTML document of an EPUB: its file name, its body's markup, its table of contents entry."""

    name: str
    body: str
    label: str | None = None
    """The entry the table of contents gives it; None: not listed."""
    linear: bool = True
    body_type: str | None = None
    """``epub:type`` of its ``<body>``."""
    entries: list[tuple[str, str]] = field(default_factory=list)
    """More entries into it: (label, fragment)."""


def xhtml(body: str, body_type: str | None = None, title: str = "x") -> str:
    typed = f' epub:type="{body_type}"' if body_type else ""
    return ('<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html>\n'
            '<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops" lang="en">\n'
            f"<head><title>{escape(title)}</title></head>\n<body{typed}>\n{body}\n</body>\n</html>\n")


def epub(docs: list[Doc], *, version: int = 3, title: str = "The Lighthouse Keeper", author: str = "Ann Author",
         language: str = "en", cover: bytes | None = None, guide: list[tuple[str, str]] = (),
         nav_in_spine: bool = False, extra: dict[str, bytes] | None = None, opf: str | None = None) -> bytes:
    """An EPUB (``version`` 2: NCX and guide; 3: nav document) whose spine is ``docs`` in order; the manifest lists
    them in reverse, so a reader that follows the manifest reads the book backwards."""
    files: dict[str, str | bytes] = {}
    items, spine = [], []
    for n, doc in enumerate(docs):
        files[f"OEBPS/{doc.name}"] = xhtml(doc.body, doc.body_type, doc.name)
        items.append(f'<item id="d{n}" href="{doc.name}" media-type="application/xhtml+xml"/>')
        linear = "" if doc.linear else ' linear="no"'
        spine.append(f'<itemref idref="d{n}"{linear}/>')
    items.reverse()
    entries = [(d.label, d.name) for d in docs if d.label] + \
        [(label, f"{d.name}#{frag}") for d in docs for label, frag in d.entries]
    order = {d.name: i for i, d in enumerate(docs)}
    entries.sort(key=lambda e: order[e[1].partition("#")[0]])
    if cover is not None:
        files["OEBPS/images/cover.png"] = cover
        props = ' properties="cover-image"' if version == 3 else ""
        items.append(f'<item id="cover-img" href="images/cover.png" media-type="image/png"{props}/>')
    if version == 3:
        links = "".join(f'<li><a href="{href}">{escape(label)}</a></li>' for label, href in entries)
        files["OEBPS/nav.xhtml"] = xhtml(f'<nav epub:type="toc" id="toc"><h1>Contents</h1><ol>{links}</ol></nav>')
        items.append('<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>')
        if nav_in_spine:
            spine.insert(0, '<itemref idref="nav"/>')
        meta = (f'<dc:title>{escape(title)}</dc:title><dc:creator id="c1">{escape(author)}</dc:creator>'
                '<meta refines="#c1" property="role" scheme="marc:relators">aut</meta>'
                f'<dc:language>{language}</dc:language><meta property="dcterms:modified">2024-01-01T00:00:00Z</meta>')
        toc_attr = ""
    else:
        points = "".join(f'<navPoint id="p{i}" playOrder="{i + 1}"><navLabel><text>{escape(label)}</text></navLabel>'
                         f'<content src="{href}"/></navPoint>' for i, (label, href) in enumerate(entries))
        files["OEBPS/toc.ncx"] = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE ncx PUBLIC "-//NISO//DTD ncx 2005-1//EN" '
            '"http://www.daisy.org/z3986/2005/ncx-2005-1.dtd">\n<ncx xmlns="http://www.daisy.org/z3986/2005/ncx/" '
            f'version="2005-1"><head/><docTitle><text>{escape(title)}</text></docTitle><navMap>{points}</navMap></ncx>')
        items.append('<item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>')
        meta = (f'<dc:title>{escape(title)}</dc:title><dc:creator opf:role="edt">Ed Editor</dc:creator>'
                f'<dc:creator opf:role="aut">{escape(author)}</dc:creator><dc:language>{language}</dc:language>'
                + ('<meta name="cover" content="cover-img"/>' if cover is not None else ""))
        toc_attr = ' toc="ncx"'
    guide_xml = "".join(f'<reference type="{t}" href="{h}" title="{t}"/>' for t, h in guide)
    files["OEBPS/content.opf"] = opf or (
        f'<?xml version="1.0" encoding="utf-8"?>\n<package xmlns="http://www.idpf.org/2007/opf" '
        f'xmlns:opf="http://www.idpf.org/2007/opf" version="{version}.0" unique-identifier="id">'
        f'<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier id="id">urn:uuid:1</dc:identifier>'
        f'{meta}</metadata><manifest>{"".join(items)}</manifest><spine{toc_attr}>{"".join(spine)}</spine>'
        + (f"<guide>{guide_xml}</guide>" if guide_xml else "") + "</package>")
    files["META-INF/container.xml"] = (
        '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
        '<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
        "</rootfiles></container>")
    files.update(extra or {})
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip")
        for name, data in files.items():
            archive.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def novel(version: int = 3, cover: bytes | None = None) -> bytes:
    """A small novel: a cover page, a copyright page, a contents page and three chapters (the third split across two
    files), a footnote, an image, and a table."""
    return epub([
        Doc("cover.xhtml", '<div><img src="images/cover.png" alt="A lighthouse at dusk"/></div>', "Cover",
            body_type="cover" if version == 3 else None),
        Doc("rights.xhtml", "<p>Copyright \u00a9 2024 Ann Author. All rights reserved.</p>"
            "<p>ISBN 978-0-00-000000-0</p>", "Copyright"),
        Doc("contents.xhtml", '<h1>Contents</h1><p><a href="c1.xhtml">Arrival</a></p><p><a href="c2.xhtml">The Log</a>'
            "</p>", None),
        Doc("c1.xhtml", "<h1>Chapter One: Arrival</h1><p>The boat left her at the rock at noon.</p>"
            '<p>She climbed the stairs<a epub:type="noteref" href="#fn1">1</a> one by one.</p>'
            '<p><img src="images/cover.png" alt="The stairs from below"/></p>'
            '<aside epub:type="footnote" id="fn1"><p>There were one hundred and twelve.</p></aside>', "Arrival"),
        Doc("c2.xhtml", "<h1>Chapter Two: The Log</h1><p>The log book was older than the lamp.</p>"
            "<table><tr><th>Day</th><th>Ships</th></tr><tr><td>Monday</td><td>three</td></tr></table>", "The Log"),
        Doc("c3a.xhtml", "<h1>Chapter Three: North Window</h1><p>The fog came in at six.</p>", "North Window"),
        Doc("c3b.xhtml", "<p>By morning it had gone.</p>"),
    ], version=version, cover=cover,
        guide=[("cover", "cover.xhtml"), ("copyright-page", "rights.xhtml")] if version == 2 else ())


def word_file(path: Path, footnotes: dict[int, str] | None = None, title: str = "Harbour Notes",
              author: str = "Wanda Writer") -> Path:
    """A Word file by python-docx: a Title, a contents entry, two chapters (Heading 1) with a section (Heading 2),
    a list and a table, a running header; ``footnotes`` (id → text) are referred to from the first chapter."""
    import docx
    from docx.enum.style import WD_STYLE_TYPE
    from docx.opc.constants import RELATIONSHIP_TYPE as RT
    from docx.opc.packuri import PackURI
    from docx.opc.part import Part
    from docx.oxml import parse_xml

    document = docx.Document()
    document.styles.add_style("toc 1", WD_STYLE_TYPE.PARAGRAPH)
    document.core_properties.title = title
    document.core_properties.author = author
    document.core_properties.language = "en-GB"
    document.add_paragraph(title, style="Title")
    document.add_paragraph("Chapter One 1", style="toc 1")
    document.add_heading("Chapter One", level=1)
    first = document.add_paragraph("The harbour was quiet.")
    document.add_paragraph("Nets, drying.", style="List Bullet")
    document.add_heading("On the quay", level=2)
    table = document.add_table(rows=2, cols=2)
    for (r, c), text in {(0, 0): "Boat", (0, 1): "Catch", (1, 0): "Mary Ann", (1, 1): "herring"}.items():
        table.cell(r, c).text = text
    document.add_heading("Chapter Two", level=1)
    document.add_paragraph("The tide turned at dusk.")
    document.sections[0].header.paragraphs[0].text = "Harbour Notes, a running head"
    if footnotes:
        w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
        for note_id in footnotes:
            run = first.add_run()
            run._r.append(parse_xml(f'<w:footnoteReference xmlns:w="{w}" w:id="{note_id}"/>'))
        notes = "".join(f'<w:footnote w:id="{i}"><w:p><w:r><w:t>{escape(t)}</w:t></w:r></w:p></w:footnote>'
                        for i, t in footnotes.items())
        xml = (f'<w:footnotes xmlns:w="{w}"><w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/>'
               f"</w:r></w:p></w:footnote>{notes}</w:footnotes>").encode()
        part = Part(PackURI("/word/footnotes.xml"),
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml", xml,
                    document.part.package)
        document.part.relate_to(part, RT.FOOTNOTES)
    document.save(str(path))
    return path


def pdf_file(path: Path, outline: bool = True, password: str | None = None) -> Path:
    """A five-page PDF by reportlab: a running header and page numbers on every page, three chapters in large
    type (each in the outline when ``outline``), a word hyphenated across two lines, a raised note mark and its
    note at the page's foot."""
    from reportlab.lib.pagesizes import A5
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path), pagesize=A5, encrypt=password)
    width, height = A5
    pages = [
        ("Chapter One", ["The keeper wrote in the log every night at", "nine, before the lamp was trimmed.", "",
                         "Ships passed to the north and the south, some close, some far out."]),
        (None, ["Some nights the fog hid them all, and the horn sounded until it lifted again over the water."]),
        ("Chapter Two", ["The supply boat was late that spring. The keeper waited on the rock with a tele-",
                         "scope and counted the gulls."]),
        (None, ["Nothing came for eleven days, and then three boats came at once."]),
        ("Chapter Three", ["The last entry in the log is short."]),
    ]
    for number, (heading, lines) in enumerate(pages, start=1):
        pdf.setFont("Helvetica", 8)
        pdf.drawString(40, height - 30, "THE KEEPER'S LOG")
        pdf.drawCentredString(width / 2, 25, str(number))
        y = height - 80
        if heading:
            pdf.setFont("Helvetica-Bold", 18)
            pdf.drawString(40, y, heading)
            if outline:
                pdf.bookmarkPage(heading)
                pdf.addOutlineEntry(heading, heading, level=0)
            y -= 36
        pdf.setFont("Times-Roman", 11)
        for line in lines:
            if line:
                pdf.drawString(40, y, line)
                if number == 1 and line.endswith("at"):
                    pdf.setFont("Times-Roman", 7)
                    pdf.drawString(40 + pdf.stringWidth(line, "Times-Roman", 11) + 1, y + 4, "1")
                    pdf.setFont("Times-Roman", 11)
            y -= 14 if line else 14
        if number == 1:  # the note the raised mark refers to, in small type at the page's foot
            pdf.setFont("Times-Roman", 5)
            pdf.drawString(40, 64, "1")
            pdf.setFont("Times-Roman", 8)
            pdf.drawString(44, 60, "The log is kept in the tower.")
        pdf.showPage()
    pdf.setTitle("The Keeper's Log")
    pdf.setAuthor("Kim Keeper")
    pdf.save()
    return path
