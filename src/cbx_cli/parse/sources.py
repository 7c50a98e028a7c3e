"""Reading the user's text: a literal argument, a file (Markdown, text, EPUB, Word, HTML, PDF), or stdin.

A file's kind is told by its content first (a zip archive holding an EPUB or a Word document, a PDF's signature, an
HTML document's opening), then by its extension; a kind cbx cannot read (an old .doc, a Kindle file, RTF, ODT) is
named with what to save it as.
"""

from __future__ import annotations

import re
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

from cbx_cli.errors import InputError, cut
from cbx_cli.files import FileProblem, read_limited, size_text
from cbx_cli.parse.markdown import parse_markdown
from cbx_cli.parse.plain import parse_plain
from cbx_cli.parse.script import Script

MARKDOWN_SUFFIXES = {".md", ".markdown", ".mdown", ".mkd"}
TEXT_SUFFIXES = {".txt", ".text", ""}
BOOK_SUFFIXES = {".epub": "epub", ".docx": "docx", ".html": "html", ".htm": "html", ".xhtml": "html", ".pdf": "pdf"}
"""Book formats by extension (each is also told by its content)."""
MAX_BOOK_BYTES = 512_000_000
"""Largest book file read (a script in Markdown or text has its own, smaller limit)."""
FORMATS = ".md, .txt, .epub, .docx, .html or .pdf"
CFB = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
"""The signature of an OLE compound file: an old .doc, or an Office file encrypted with a password."""
ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
HTML_START_RE = re.compile(rb"\A(\xef\xbb\xbf)?\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*<(!doctype\s+html|html[\s>])",
                           re.IGNORECASE | re.DOTALL)
MAX_SCRIPT_BYTES = 50_000_000
"""The largest script read, from a file or stdin: about sixty hours of narration (a long novel is 1 MB)."""
SPLIT_SCRIPT = "Split it into several scripts (cbx batch narrates them in one run)."
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
    return _utf8(read_bytes(path, MAX_SCRIPT_BYTES), f"Script '{path}'", f"Convert it with: iconv -t UTF-8 {path}")


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
        hint = " (the file may be UTF-16: convert it with iconv -f UTF-16 -t UTF-8)" if code == 0 else ""
        raise InputError(f"{what} has a control character {_control_label(code)} on line {line}, which is not "
                         f"text{hint}. Remove it and run again.")


def check_book_text(script: Script, name: str | None) -> None:
    """What a book's reader found to be read must be text too: a paragraph with a control character (NUL, ESC) in
    it is refused, never handed to the model."""
    what = f"Script '{name}'" if name else "Standard input"
    for chapter in script.chapters:
        for paragraph in chapter.paragraphs:
            bad = _CONTROL_RE.search(paragraph.text)
            if bad is not None:
                start = cut(_CONTROL_RE.sub(" ", paragraph.text).strip(), 40)
                raise InputError(f"{what} has a control character {_control_label(ord(bad.group()))} in the paragraph "
                                 f"that begins '{start}', which is not text. Remove it from the book and run again.")


def _control_label(code: int) -> str:
    return f"U+{code:04X}" + (f" ({_CONTROL_NAMES[code]})" if code in _CONTROL_NAMES else "")


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


def load_book(arg: str, stdin=None, reading=None) -> tuple[Script, str]:
    """`cbx book`: a script or book file, or '-' for stdin (Markdown, or a book told by its content). ``reading``
    (`cbx_cli.config.params.ReadingOptions`) says how a book's notes and front matter are read. Returns the script
    and its name."""
    if arg == "-":
        stream = stdin if stdin is not None else sys.stdin.buffer
        data = stream.read(MAX_BOOK_BYTES + 1)
        if isinstance(data, str):
            return script_from_text(data, markdown=True), "stdin"
        if len(data) > MAX_BOOK_BYTES:
            raise InputError(f"Standard input is larger than {size_text(MAX_BOOK_BYTES)}, the most cbx reads. Split "
                             "the book into several files.")
        kind = sniff(data, "", "Standard input")
        if kind in ("markdown", "text"):
            if len(data) > MAX_SCRIPT_BYTES:
                raise InputError(f"Standard input is larger than {size_text(MAX_SCRIPT_BYTES)}, the most cbx reads of "
                                 "a script. Split the text into several scripts.")
            text = _utf8(data, "Standard input", "Convert it with iconv -t UTF-8.")
            return script_from_text(text, markdown=True), "stdin"
        return read_book(data, kind, None, reading), "stdin"
    path = Path(arg)
    suffix = path.suffix.lower()
    data = read_bytes(path, MAX_SCRIPT_BYTES if suffix in MARKDOWN_SUFFIXES | TEXT_SUFFIXES else MAX_BOOK_BYTES)
    kind = sniff(data, suffix, f"Script '{path}'")
    if kind in ("markdown", "text"):
        text = _utf8(data, f"Script '{path}'", f"Convert it with: iconv -t UTF-8 {path}")
        script = script_from_text(text, markdown=kind == "markdown", name=path.name)
    else:
        script = read_book(data, kind, path.name, reading)
    return replace(script, path=path), path.name


def read_bytes(path: Path, limit: int = MAX_BOOK_BYTES) -> bytes:
    """A script or book file's bytes: a regular file of at most ``limit`` bytes (`MAX_SCRIPT_BYTES` for a name that
    says Markdown or text), checked before it is read; a FIFO, a device or a socket is refused, never read."""
    try:
        return read_limited(path, limit)
    except FileProblem as problem:
        if problem.missing:
            raise InputError(f"Script '{path}' does not exist. Check the path.") from None
        if path.is_dir():
            raise InputError(f"Script '{path}' is a folder. Pass a {FORMATS} file.") from None
        if problem.too_large:
            hint = SPLIT_SCRIPT if limit == MAX_SCRIPT_BYTES else "Split the book into several files."
        else:
            hint = f"Pass a {FORMATS} file."
        raise InputError(f"Script '{path}' {problem}. {hint}") from None


def _utf8(data: bytes, label: str, fix: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{label} is not UTF-8 text (bad byte at offset {exc.start}). {fix}") from None


def sniff(data: bytes, suffix: str, label: str) -> str:
    """What a file holds: epub, docx, pdf, html, markdown or text; InputError for a kind cbx does not read."""
    head = data[:1024]
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_kind(data, label)
    if b"%PDF-" in head:
        return "pdf"
    if head.startswith(CFB):
        if ENCRYPTED_PACKAGE in data[:1_000_000]:
            raise InputError(f"{label} is a Word file protected by a password: cbx reads only unprotected files. "
                             "Save a copy without the password.")
        raise InputError(f"{label} is an old Word (.doc) or other Office file. Save it as .docx (or .epub) and "
                         "narrate that.")
    if head.startswith(b"{\\rtf"):
        raise InputError(f"{label} is an RTF file. Save it as .docx (or .epub) and narrate that.")
    if data[60:68] in (b"BOOKMOBI", b"TEXtREAd"):
        raise InputError(f"{label} is a Kindle (MOBI/AZW) book. Convert it to EPUB (Calibre does) and narrate that.")
    if BOOK_SUFFIXES.get(suffix) == "html" or HTML_START_RE.match(head):
        return "html"
    if suffix in BOOK_SUFFIXES:
        raise InputError(f"{label} is not the {suffix} file its name says: its content is not one. Check the file.")
    if suffix in MARKDOWN_SUFFIXES:
        return "markdown"
    if suffix in TEXT_SUFFIXES:
        return "text"
    raise InputError(f"{label} is not a {FORMATS} file. Rename it or pipe it in with '-'.")


def _zip_kind(data: bytes, label: str) -> str:
    import io

    try:
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except (zipfile.BadZipFile, ValueError, EOFError):
        raise InputError(f"{label} is a broken zip archive (an EPUB or Word file?). Export it again.") from None
    mimetype = ""
    if "mimetype" in names:
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                mimetype = archive.open("mimetype").read(100).decode("ascii", "replace").strip()
        except (zipfile.BadZipFile, ValueError, OSError, RuntimeError, NotImplementedError):
            mimetype = ""
    if mimetype == "application/epub+zip" or "META-INF/container.xml" in names:
        return "epub"
    if "word/document.xml" in names or ("[Content_Types].xml" in names and any(n.startswith("word/") for n in names)):
        return "docx"
    if mimetype.startswith("application/vnd.oasis.opendocument"):
        raise InputError(f"{label} is an OpenDocument (.odt) file. Save it as .docx (or .epub) and narrate that.")
    raise InputError(f"{label} is a zip archive but not an EPUB or Word (.docx) file. Pass a {FORMATS} file.")


def read_book(data: bytes, kind: str, name: str | None, reading=None) -> Script:
    """A book's bytes (``kind`` as `sniff` tells it) → its script."""
    from cbx_cli.config.params import ReadingOptions

    reading = reading or ReadingOptions()
    if kind == "epub":
        from cbx_cli.parse.epub import parse_epub as parse
    elif kind == "docx":
        from cbx_cli.parse.docx import parse_docx as parse
    elif kind == "pdf":
        from cbx_cli.parse.pdf import parse_pdf as parse
    else:
        from cbx_cli.parse.html import parse_html as parse
    script = parse(data, name, notes=reading.notes, read_matter=reading.matter == "read")
    check_book_text(script, name)
    if script.is_empty():
        raise InputError(f"'{name or 'stdin'}' has no text to read. `cbx plan` lists what it holds and why it is "
                         "not read.")
    return script
