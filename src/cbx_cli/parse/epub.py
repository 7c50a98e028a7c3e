"""EPUB 2 and 3 → `Script`: the spine's documents in reading order, chapters from the table of contents, the book's
title, author, language and cover.

No EPUB library: the format is a zip archive (the standard library's zipfile, read within the bounds of
`cbx_cli.parse.archive`), a few XML files (the container, the package, an EPUB 2 NCX: defusedxml) and XHTML
documents (read like any HTML by `cbx_cli.parse.html`, forgiving of the malformed XHTML real books carry). The
EPUB libraries that exist are AGPL (ebooklib), and would add nothing this needs.

Chapters start where the table of contents points (EPUB 3's nav document, else EPUB 2's NCX; entries up to
`MAX_TOC_DEPTH` deep), titled by its entries. A document the table does not list continues the chapter before it
unless it opens with a heading; a book without a usable table has a chapter per document, titled by its first
heading. Front and back matter (cover, copyright page, table of contents, index, ...) is recognised by its type
(``epub:type``, the landmarks, the EPUB 2 guide), else by its name or content, and skipped unless ``--matter read``;
so are documents outside the reading order (``linear="no"``), except the notes in them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from xml.etree.ElementTree import Element

from cbx_cli.errors import InputError
from cbx_cli.parse.archive import MAX_IMAGE_BYTES, Archive, Refused, join, local, parse_xml
from cbx_cli.parse.book import Anchor, Block, BookBuilder, Item, Note, Skip, chapter_level
from cbx_cli.parse.html import MATTER, Node, decode, elements, parse_tree, read_document, text_of
from cbx_cli.parse.script import Cover, Script, collapse

MAX_TOC_DEPTH = 3
"""Table of contents entries deeper than this (sections of sections) do not start chapters."""
FONT_OBFUSCATION = {"http://www.idpf.org/2008/embedding", "http://ns.adobe.com/pdf/enc#RC"}
"""Encryption algorithms that only obfuscate embedded fonts: not DRM."""
DRM_FILES = {"META-INF/rights.xml": "Adobe ADEPT", "META-INF/license.lcpl": "Readium LCP",
             "META-INF/sinf.xml": "Apple FairPlay"}
DOCUMENT_TYPES = {"application/xhtml+xml", "text/html", "application/xml", "text/xml", ""}
MATTER_NAME_RE = re.compile(r"^(cover|copyright|toc|contents|colophon)(?:[-_ .]?(?:page|\d+))?$", re.IGNORECASE)
MATTER_NAMES = {"cover": "cover page", "copyright": "copyright page", "toc": "table of contents",
                "contents": "table of contents", "colophon": "colophon"}
MATTER_HEADINGS = {"contents": "table of contents", "table of contents": "table of contents",
                   "copyright": "copyright page", "copyright page": "copyright page", "index": "index"}
GUIDE_TYPES = {"cover": "cover page", "toc": "table of contents", "copyright-page": "copyright page",
               "index": "index", "colophon": "colophon", "loi": "list of illustrations",
               "lot": "list of tables", "bibliography": "bibliography"}
COPYRIGHT_RE = re.compile(r"\u00a9|\(c\)|\bcopyright\b", re.IGNORECASE)
RIGHTS_RE = re.compile(r"all rights reserved|\bisbn\b|published by|first published|printed in", re.IGNORECASE)
NOT_READ_LINEAR = 'outside the reading order (linear="no")'


@dataclass
class Package:
    """The package document: the book's metadata, its files and their reading order."""

    path: str
    metadata: dict[str, str] = field(default_factory=dict)
    items: dict[str, tuple[str, str, set[str]]] = field(default_factory=dict)
    """Manifest id → (entry name, media type, properties)."""
    spine: list[tuple[str, bool]] = field(default_factory=list)
    """(entry name, linear) of each document in reading order."""
    ncx: str | None = None
    nav: str | None = None
    cover_id: str | None = None
    guide: dict[str, str] = field(default_factory=dict)
    """Entry name (with #fragment when it has one) → reason it is not read, from the EPUB 2 guide."""


@dataclass(frozen=True)
class TocEntry:
    label: str
    doc: str
    fragment: str
    depth: int


def parse_epub(data: bytes, name: str | None = None, notes: str = "end", read_matter: bool = False) -> Script:
    """Read an EPUB (2 or 3) held in ``data``; ``name`` is the file's name for messages."""
    label = f"'{name}'" if name else "the EPUB"
    archive = Archive.open(data, label, "EPUB")
    _check_drm(archive)
    package = _package(archive, _rootfile(archive))
    book = BookBuilder(name, notes)
    toc = _table_of_contents(archive, package, book)
    matter = {} if read_matter else {**package.guide, **_landmarks(archive, package, book)}
    _read_spine(archive, package, toc, matter, book, read_matter)
    for key in ("title", "author", "language"):
        if package.metadata.get(key):
            book.out.metadata[key] = package.metadata[key][:200]
    book.out.cover = _cover(archive, package, book)
    script = book.script()
    if script.is_empty():
        raise InputError(f"{label} has no text to read (only images, or only parts cbx skips); `cbx plan` with "
                         "--matter read shows what it holds.")
    return script


def _check_drm(archive: Archive) -> None:
    for path, scheme in DRM_FILES.items():
        if archive.find(path):
            raise InputError(f"{archive.label} is protected by DRM ({scheme}): cbx reads only DRM-free books. Use a "
                             "DRM-free copy of the book.")
    entry = archive.find("META-INF/encryption.xml")
    if entry is None:
        return
    root = parse_xml(archive.read(entry), f"{archive.label} ({entry})")
    for node in root.iter():
        if local(node.tag) != "EncryptedData":
            continue
        algorithm = next((m.get("Algorithm", "") for m in node.iter() if local(m.tag) == "EncryptionMethod"), "")
        if algorithm not in FONT_OBFUSCATION:
            raise InputError(f"{archive.label} is protected by DRM (its content is encrypted): cbx reads only "
                             "DRM-free books. Use a DRM-free copy of the book.")


def _rootfile(archive: Archive) -> str:
    container = archive.find("META-INF/container.xml")
    if container is not None:
        root = parse_xml(archive.read(container), f"{archive.label} (META-INF/container.xml)")
        for node in root.iter():
            if local(node.tag) == "rootfile" and node.get("full-path") and \
                    node.get("media-type", "application/oebps-package+xml") == "application/oebps-package+xml":
                found = archive.find(node.get("full-path", "").lstrip("/"))
                if found:
                    return found
    found = next((n for n in archive.names() if n.lower().endswith(".opf")), None)
    if found is None:
        raise InputError(f"{archive.label} is not a readable EPUB: it has no package document (.opf). Export it "
                         "again from the program that made it.")
    return found


def _package(archive: Archive, path: str) -> Package:
    root = parse_xml(archive.read(path), f"{archive.label} ({path})")
    package = Package(path)
    sections = {local(child.tag): child for child in root}
    _metadata(sections.get("metadata"), package)
    for item in sections.get("manifest", Element("manifest")):
        if local(item.tag) != "item" or not item.get("id"):
            continue
        entry, _ = join(path, item.get("href", ""))
        properties = set(item.get("properties", "").split())
        package.items[item.get("id", "")] = (entry, item.get("media-type", ""), properties)
        if "nav" in properties:
            package.nav = entry
        if "cover-image" in properties:
            package.cover_id = item.get("id")
    spine = sections.get("spine", Element("spine"))
    ncx = spine.get("toc")
    if ncx in package.items:
        package.ncx = package.items[ncx][0]
    else:
        package.ncx = next((e for e, t, _ in package.items.values() if t == "application/x-dtbncx+xml"), None)
    for ref in spine:
        if local(ref.tag) == "itemref" and ref.get("idref") in package.items:
            entry, kind, _ = package.items[ref.get("idref", "")]
            package.spine.append((entry, ref.get("linear", "yes").strip().lower() != "no"))
    for ref in sections.get("guide", Element("guide")):
        kind = ref.get("type", "").lower()
        if local(ref.tag) == "reference" and kind in GUIDE_TYPES:
            entry, fragment = join(path, ref.get("href", ""))
            package.guide[f"{entry}#{fragment}" if fragment else entry] = GUIDE_TYPES[kind]
    if not package.spine:
        raise InputError(f"{archive.label} is not a readable EPUB: its spine lists no documents. Export it again.")
    return package


def _metadata(metadata: Element | None, package: Package) -> None:
    """Title (the main one, when titles are typed), creators (authors first), language, the EPUB 2 cover id."""
    if metadata is None:
        return
    refines: dict[str, dict[str, str]] = {}
    for meta in metadata:
        if local(meta.tag) == "meta" and meta.get("refines") and meta.get("property"):
            refines.setdefault(meta.get("refines", "").lstrip("#"), {})[meta.get("property", "")] = \
                collapse(meta.text or "")
        elif local(meta.tag) == "meta" and meta.get("name") == "cover":
            package.cover_id = package.cover_id or meta.get("content")
    titles, creators, languages = [], [], []
    for node in metadata:
        text = collapse("".join(node.itertext()))
        if not text:
            continue
        props = refines.get(node.get("id", ""), {})
        role = props.get("role") or next((v for k, v in node.attrib.items() if local(k) == "role"), "aut")
        kind = local(node.tag)
        if kind == "title":
            titles.append((props.get("title-type", "main") != "main", text))
        elif kind == "creator":
            creators.append((role != "aut", text))
        elif kind == "language":
            languages.append(text)
    if titles:
        package.metadata["title"] = sorted(titles, key=lambda t: t[0])[0][1]
    authors = [name for other, name in sorted(creators, key=lambda c: c[0]) if not other] or \
        [name for _, name in creators[:1]]
    if authors:
        package.metadata["author"] = ", ".join(dict.fromkeys(authors))
    if languages:
        package.metadata["language"] = languages[0]


def _table_of_contents(archive: Archive, package: Package, book: BookBuilder) -> list[TocEntry]:
    """The nav document's toc (EPUB 3), else the NCX's (EPUB 2), flattened in order."""
    entries: list[TocEntry] = []
    if package.nav and archive.find(package.nav):
        entries = _nav_toc(archive, package.nav, book)
    if not entries and package.ncx and archive.find(package.ncx):
        entries = _ncx_toc(archive, package.ncx, book)
    in_spine = {doc for doc, _ in package.spine}
    return [e for e in entries if e.doc in in_spine and e.depth <= MAX_TOC_DEPTH]


def _nav_tree(archive: Archive, path: str, book: BookBuilder) -> Node | None:
    try:
        return parse_tree(decode(archive.read(archive.find(path) or path), path), f"{archive.label} ({path})")
    except InputError as exc:
        book.warn(f"the navigation document is not read: {exc}")
        return None


def _navs(root: Node, kind: str):
    return [n for n, _ in elements(root) if n.tag == "nav" and kind in n.tokens("epub:type")]


def _nav_toc(archive: Archive, path: str, book: BookBuilder) -> list[TocEntry]:
    root = _nav_tree(archive, path, book)
    if root is None:
        return []
    navs = _navs(root, "toc") or [n for n, _ in elements(root) if n.tag == "nav"][:1]
    entries = []
    for nav in navs[:1]:
        for node, _ in elements(nav):
            if node.tag == "a" and node.attrs.get("href"):
                depth, up = 0, node.parent
                while up is not None and up is not nav:
                    depth += up.tag == "ol"
                    up = up.parent
                doc, fragment = join(path, node.attrs["href"])
                entries.append(TocEntry(text_of(node), doc, fragment, max(depth, 1)))
    return entries


def _ncx_toc(archive: Archive, path: str, book: BookBuilder) -> list[TocEntry]:
    try:
        root = parse_xml(archive.read(archive.find(path) or path), f"{archive.label} ({path})")
    except InputError as exc:
        book.warn(f"the table of contents (NCX) is not read: {exc}")
        return []
    nav_map = next((n for n in root.iter() if local(n.tag) == "navMap"), None)
    entries: list[TocEntry] = []
    stack = [(child, 1) for child in reversed(list(nav_map or []))]
    while stack:
        node, depth = stack.pop()
        if local(node.tag) != "navPoint":
            continue
        label = next((collapse("".join(n.itertext())) for n in node if local(n.tag) == "navLabel"), "")
        src = next((n.get("src", "") for n in node if local(n.tag) == "content"), "")
        if src:
            doc, fragment = join(path, src)
            entries.append(TocEntry(label, doc, fragment, depth))
        stack.extend((child, depth + 1) for child in reversed(list(node)))
    return entries


def _landmarks(archive: Archive, package: Package, book: BookBuilder) -> dict[str, str]:
    """Entry (with #fragment) → reason, for the nav document's landmarks that are front or back matter."""
    if not package.nav or not archive.find(package.nav):
        return {}
    root = _nav_tree(archive, package.nav, book)
    found = {}
    for nav in _navs(root, "landmarks") if root is not None else []:
        for node, _ in elements(nav):
            kinds = node.tokens("epub:type") & set(MATTER)
            if node.tag == "a" and kinds and node.attrs.get("href"):
                doc, fragment = join(package.nav, node.attrs["href"])
                found[f"{doc}#{fragment}" if fragment else doc] = MATTER[sorted(kinds)[0]]
    return found


def _read_spine(archive: Archive, package: Package, toc: list[TocEntry], matter: dict[str, str],
                book: BookBuilder, read_matter: bool) -> None:
    starts: dict[str, list[TocEntry]] = {}
    for entry in toc:
        starts.setdefault(entry.doc, []).append(entry)
    use_toc = len(toc) >= 2 or (len(toc) == 1 and sum(linear for _, linear in package.spine) == 1)
    note_targets: dict[str, set[str]] = {}
    """Entry name → ids that note references (in the documents read so far) point at in it."""
    for position, (doc, linear) in enumerate(package.spine):
        book.part = doc
        found = archive.find(doc)
        kind = next((t for e, t, _ in package.items.values() if e == doc), "")
        if found is None or kind not in DOCUMENT_TYPES:
            book.skip("unreadable part" if found is None else f"not a text document ({kind})", "")
            continue
        text = decode(archive.read(found), doc, book.out.warnings)
        wanted = {e.fragment for e in starts.get(doc, []) if e.fragment}

        def key(href: str, base: str = doc) -> str:
            target, fragment = join(base, href)
            return f"{target}#{fragment}"

        try:
            items, info = read_document(text, f"{archive.label} ({doc})", key, note_targets.get(doc, set()), wanted,
                                        read_matter)
        except Refused:
            raise
        except InputError as exc:  # a damaged document is named, and the rest of the book read
            book.skip("unreadable part", "")
            book.warn(str(exc))
            continue
        for href in info.refs:
            target, _, fragment = key(href).partition("#")
            note_targets.setdefault(target, set()).add(fragment)
        items = _notes_page(items)
        split = None if use_toc else _split_level(info)
        reason = None if read_matter else \
            _matter_of(doc, info, package, matter, position) or (None if linear else NOT_READ_LINEAR)
        book.skipping = reason
        if reason is None:
            _start_chapters(book, items, starts.get(doc, []), use_toc, info)
        for item in items:
            if isinstance(item, Anchor):
                if reason is None:
                    labels = [e.label for e in starts.get(doc, []) if e.fragment == item.id]
                    if labels:
                        book.chapter(": ".join(dict.fromkeys(labels)))
                continue
            if reason is None and split is not None and isinstance(item, Block) and 0 < item.level <= split:
                book.chapter(item.text)
            book.add(item)
        book.skipping = None


def _notes_page(items: list[Item]) -> list[Item]:
    """A document of notes whose only other text is headings ("Notes", "Chapter 1"): those headings name the notes
    section, and are not read (the notes are, where they belong)."""
    blocks = [i for i in items if isinstance(i, Block)]
    if not any(isinstance(i, Note) for i in items) or not blocks or any(b.level == 0 for b in blocks):
        return items
    return [Skip("notes section", i.text, i.line) if isinstance(i, Block) else i for i in items]


def _start_chapters(book: BookBuilder, items: list[Item], entries: list[TocEntry], use_toc: bool, info) -> None:
    """Where a document's first chapter starts: at its top when the table lists it (or an anchor it names is not
    found); else, with a table, only if it opens with a heading; without one, at every document."""
    found = {i.id for i in items if isinstance(i, Anchor)}
    top = [e.label for e in entries if not e.fragment or e.fragment not in found]
    if use_toc and top:
        book.chapter(": ".join(dict.fromkeys(top)))
        return
    first = next((i for i in items if isinstance(i, Block) and i.text), None)
    opens_with_heading = first is not None and first.level > 0
    if use_toc:
        if opens_with_heading and not found:
            book.chapter(first.text)
        elif not book.chapters:
            book.chapter(None)
        return
    if not _split_level(info):
        book.chapter(next((t for _, t in info.headings if t), None))


def _split_level(info) -> int | None:
    """Without a table of contents, a document holding several headings of one rank is split at them."""
    level = chapter_level(lv for lv, _ in info.headings)
    return level if level is not None and sum(lv == level for lv, _ in info.headings) > 1 else None


def _matter_of(doc: str, info, package: Package, matter: dict[str, str], position: int) -> str | None:
    """Why a whole document is not read: its landmark or guide type, being the navigation document, its file
    name, its heading, or its content (a short page of rights notices, a page of links)."""
    body_ids = {ident for ident in info.by_id}
    for target, reason in matter.items():
        name, _, fragment = target.partition("#")
        if name == doc and (not fragment or fragment in body_ids and _is_top(info.by_id[fragment])):
            return reason
    if doc == package.nav:
        return "table of contents"
    stem = PurePosixPath(doc).stem
    named = MATTER_NAME_RE.match(stem)
    if named:
        return MATTER_NAMES[named.group(1).lower()]
    first = next((t for _, t in info.headings if t), "").casefold().strip(" .:")
    if first in MATTER_HEADINGS and (MATTER_HEADINGS[first] != "index" or position >= len(package.spine) * 2 // 3):
        return MATTER_HEADINGS[first]
    if info.words <= 400 and COPYRIGHT_RE.search(info.text_sample) and RIGHTS_RE.search(info.text_sample):
        return "copyright page"
    if info.words >= 3 and info.link_words >= 0.6 * info.words:
        return "table of contents"
    return None


def _is_top(node: Node) -> bool:
    """An element that stands for its whole document (the body, or a section right under it)."""
    return node.tag == "body" or (node.parent is not None and node.parent.tag == "body")


def _cover(archive: Archive, package: Package, book: BookBuilder) -> Cover | None:
    """The cover image: the manifest's cover-image (EPUB 3), the cover meta (EPUB 2), the image of the guide's cover
    page, or an image named as a cover."""
    candidates = []
    if package.cover_id:
        item = package.items.get(package.cover_id)
        by_href = next((e for e, _, _ in package.items.values() if e.endswith(package.cover_id)), None)
        candidates.append(item[0] if item else by_href)
    cover_page = next((name.partition("#")[0] for name, reason in package.guide.items() if reason == "cover page"),
                      None)
    if cover_page and archive.find(cover_page):
        try:
            root = parse_tree(decode(archive.read(archive.find(cover_page) or cover_page), cover_page), cover_page)
            for node, _ in elements(root):
                src = node.attrs.get("src") if node.tag == "img" else \
                    node.attrs.get("xlink:href") or node.attrs.get("href") if node.tag == "image" else None
                if src:
                    candidates.append(join(cover_page, src)[0])
                    break
        except InputError:
            pass
    candidates += [e for i, (e, t, _) in package.items.items() if t.startswith("image/") and
                   ("cover" in i.lower() or "cover" in PurePosixPath(e).stem.lower())]
    for candidate in candidates:
        entry = archive.find(candidate) if candidate else None
        if entry is None:
            continue
        try:
            data = archive.read(entry, MAX_IMAGE_BYTES)
            if data.lstrip()[:1] == b"<":
                book.warn("its cover is an SVG image, which audio files cannot carry; give --cover FILE for one.")
                return None
            return Cover(data, entry)
        except InputError as exc:
            book.warn(f"its cover image is not used: {exc}")
            return None
    return None
