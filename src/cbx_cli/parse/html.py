"""HTML and XHTML → the pieces of a book (`cbx_cli.parse.book`); a web page or a saved HTML book → `Script`.

The standard library's ``html.parser`` reads the markup: it is forgiving (real books' XHTML is often not
well-formed, and web pages never are), it expands no entity a document declares and loads nothing, and it streams,
so a document is turned into a small tree here without recursion, its nesting bounded (`MAX_DEPTH`). EPUB chapters
(`cbx_cli.parse.epub`) are read with the same walker.

What is read: headings (spoken as titles), paragraphs, list items, table rows (cells joined by commas), captions.
What is not, and named with its reason: image descriptions (``alt``), SVG and MathML, note reference marks, note
bodies (moved: `BookBuilder`), hidden text, ruby annotations, and, unless ``--matter read``, front and back matter
marked as such (``epub:type`` or ARIA role: cover, table of contents, copyright page, index, ...). Scripts and
styles are code, not text.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from cbx_cli.errors import InputError
from cbx_cli.parse.archive import MAX_DEPTH, Refused, join
from cbx_cli.parse.book import (
    SEPARATOR_PAUSE,
    Anchor,
    Block,
    BookBuilder,
    Item,
    Note,
    NoteRef,
    Pause,
    Skip,
    chapter_level,
)
from cbx_cli.parse.script import Script, collapse

VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())
BLOCK = frozenset(
    "address article aside blockquote body caption center dd details dialog dir div dl dt fieldset figcaption "
    "figure footer form h1 h2 h3 h4 h5 h6 header hgroup html legend li main menu nav ol p pre section summary "
    "table tbody tfoot thead ul".split()
)
CODE = frozenset("script style template head".split())
"""Elements whose content is code or metadata, not text of the book."""
OWN_REASONS = {
    "svg": "image", "math": "formula", "rt": "ruby annotation", "rp": "ruby annotation", "noscript": "script fallback",
    "object": "media fallback", "video": "media fallback", "audio": "media fallback", "iframe": "media fallback",
    "canvas": "media fallback",
}
"""Elements whose text is not read, whatever their attributes, and the reason named in the plan."""
MATTER = {
    "cover": "cover page", "toc": "table of contents", "landmarks": "landmarks", "page-list": "list of pages",
    "loi": "list of illustrations", "lot": "list of tables", "loa": "list of audio", "lov": "list of videos",
    "copyright-page": "copyright page", "index": "index", "colophon": "colophon", "imprint": "imprint",
    "bibliography": "bibliography",
}
"""Front and back matter by ``epub:type`` (or ARIA ``doc-`` role) that is skipped unless --matter read."""
BOILERPLATE_CLASSES = {"pg-boilerplate", "pgheader", "pgfooter"}
BOILERPLATE_IDS = {"pg-header", "pg-footer"}
NOTE_TYPES = {"footnote", "endnote", "rearnote", "note"}
NOTE_ROLES = {"doc-footnote", "doc-endnote"}
NOTES_TYPES = {"footnotes", "endnotes", "rearnotes"}
NOTES_CLASSES = {"footnotes", "endnotes", "footnote-section"}
NOTE_MARK_RE = re.compile(r"^[\[(]?\s*(\d{1,4}|[*\u2020\u2021\u00a7\u00b6#]{1,3}|[a-z]|[ivxlc]{1,6})\s*[\])]?[.:]?$",
                          re.IGNORECASE)
"""The text of a note reference mark: 1, [12], (a), *, †, iv."""
BACKLINK_RE = re.compile(r"^(\u21a9\ufe0e?|\u2191|\^|back|return|\u21a9\ufe0f)$", re.IGNORECASE)
HEADING_RE = re.compile(r"^h([1-6])$")
CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
XML_ENCODING_RE = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_.:-]+)["']""")
ROW_SEPARATOR = ", "


class Node:
    """An element: tag, attributes (names lowercase), children (elements and text), parent, line."""

    __slots__ = ("tag", "attrs", "children", "parent", "line")

    def __init__(self, tag: str, attrs: dict[str, str], parent: Node | None, line: int):
        self.tag = tag
        self.attrs = attrs
        self.children: list[Node | str] = []
        self.parent = parent
        self.line = line

    def tokens(self, name: str) -> set[str]:
        return set(self.attrs.get(name, "").lower().split())

    @property
    def id(self) -> str | None:
        return self.attrs.get("id") or (self.attrs.get("name") if self.tag == "a" else None)


class _TreeBuilder(HTMLParser):
    """html.parser's events → a `Node` tree; end tags that were left out (``<p>`` before ``<p>``, ``<li>`` before
    ``<li>``) are closed as a browser would, closely enough for reading."""

    def __init__(self, where: str):
        super().__init__(convert_charrefs=True)
        self.where = where
        self.root = Node("#document", {}, None, 1)
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        self._implied_ends(tag)
        node = Node(tag, {k: v or "" for k, v in attrs}, self.stack[-1], self.getpos()[0])
        self.stack[-1].children.append(node)
        if tag not in VOID:
            if len(self.stack) > MAX_DEPTH:
                raise Refused(f"{self.where} nests elements more than {MAX_DEPTH} deep: refused.")
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return
            if self.stack[i].tag in ("table", "body", "html") and tag not in ("body", "html"):
                return  # an end tag with no open element in scope is ignored

    def handle_data(self, data):
        children = self.stack[-1].children
        if children and isinstance(children[-1], str):
            children[-1] += data
        else:
            children.append(data)

    def _implied_ends(self, tag: str) -> None:
        if tag in BLOCK or tag in ("p", "li", "dt", "dd", "tr", "td", "th"):
            closes = {"li": ("li",), "dt": ("dt", "dd"), "dd": ("dt", "dd"), "tr": ("tr",),
                      "td": ("td", "th"), "th": ("td", "th")}.get(tag, ("p",))
            scope = {"li": ("ul", "ol"), "dt": ("dl",), "dd": ("dl",), "tr": ("table",), "td": ("tr", "table"),
                     "th": ("tr", "table")}.get(tag, ("table", "td", "th", "button"))
            for i in range(len(self.stack) - 1, 0, -1):
                name = self.stack[i].tag
                if name in closes:
                    del self.stack[i:]
                    return
                if name in scope or (tag not in ("td", "th", "tr") and name in ("td", "th")):
                    return


def parse_tree(text: str, where: str) -> Node:
    """The document's tree (the root is a ``#document`` node)."""
    builder = _TreeBuilder(where)
    try:
        builder.feed(text)
        builder.close()
    except AssertionError as exc:  # html.parser's way of giving up on a malformed declaration
        raise InputError(f"{where} cannot be read as HTML ({exc}). The file is damaged.") from None
    return builder.root


def decode(data: bytes, where: str, warnings: list[str] | None = None) -> str:
    """HTML bytes as text: by byte-order mark, else the declared encoding (XML declaration or ``<meta charset>``),
    else UTF-8, else Windows-1252 (what browsers assume of old pages; a warning says so)."""
    boms = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
    for bom, codec in boms:
        if data.startswith(bom):
            return data.decode(codec, errors="replace")
    head = data[:2048]
    declared = XML_ENCODING_RE.match(head) or CHARSET_RE.search(head)
    if declared:
        name = declared.group(1).decode("ascii", "replace")
        try:
            return data.decode(codecs.lookup(name).name)
        except LookupError:
            pass
        except UnicodeDecodeError:
            if warnings is not None:
                warnings.append(f"{where} is not the {name} it declares; read as UTF-8 where it can be.")
            return data.decode("utf-8", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        if warnings is not None:
            warnings.append(f"{where} declares no encoding and is not UTF-8: read as Windows-1252.")
        return data.decode("cp1252", errors="replace")


def text_of(node: Node) -> str:
    """All text under ``node`` with images' descriptions, whitespace collapsed; code is left out."""
    pieces: list[str] = []
    stack: list[Node | str] = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            pieces.append(item)
        elif item.tag == "img":
            pieces.append(" " + item.attrs.get("alt", "") + " ")
        elif item.tag == "br":
            pieces.append(" ")
        elif item.tag not in CODE or item is node:
            if item.tag in BLOCK:
                pieces.append(" ")
            stack.extend(reversed(item.children))
    return collapse("".join(pieces))


def elements(root: Node):
    """Every element under ``root``, in document order, with whether it is inside a ``<sup>``."""
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, in_sup = stack.pop()
        yield node, in_sup
        inner = in_sup or node.tag == "sup"
        stack.extend((c, inner) for c in reversed(node.children) if isinstance(c, Node))


def is_noteref(node: Node, in_sup: bool) -> bool:
    """A link that marks a note: typed so (``epub:type="noteref"``, ``role="doc-noteref"``), or a short mark such
    as 1, [2] or * linking to a fragment, raised (inside ``<sup>``), bracketed or classed as a note."""
    if node.tag != "a":
        return False
    if "noteref" in node.tokens("epub:type") or node.attrs.get("role") == "doc-noteref":
        return True
    href = node.attrs.get("href", "")
    if "#" not in href:
        return False
    mark = text_of(node)
    if not NOTE_MARK_RE.match(mark):
        return False
    classes = " ".join(node.tokens("class") | {node.attrs.get("id", "").lower()})
    contains_sup = any(isinstance(c, Node) and c.tag == "sup" for c in node.children)
    return in_sup or contains_sup or mark[:1] in "[(" or bool(re.search(r"note|fn|ftn", classes))


def note_holder(node: Node) -> Node:
    """The element that holds a note whose reference points at ``node``: the node itself if it is a block, else its
    nearest block ancestor (an anchor or label inside the note's paragraph)."""
    while node.tag not in BLOCK and node.parent is not None and node.parent.tag != "#document":
        node = node.parent
    return node


@dataclass
class DocInfo:
    """What a first look at a document finds."""

    by_id: dict[str, Node] = field(default_factory=dict)
    refs: list[str] = field(default_factory=list)
    """Each note reference's href, in order."""
    headings: list[tuple[int, str]] = field(default_factory=list)
    words: int = 0
    link_words: int = 0
    """Words inside links to other documents (a table of contents is mostly these)."""
    text_sample: str = ""
    """The document's first words (for telling a copyright page)."""
    lang: str | None = None
    title: str | None = None
    author: str | None = None


def survey(root: Node) -> DocInfo:
    """Ids, note references, headings and word counts of a document, without recursion."""
    info = DocInfo()
    sample: list[str] = []
    for node, in_sup in elements(root):
        ident = node.id
        if ident and ident not in info.by_id:
            info.by_id[ident] = node
        tag = node.tag
        if tag == "html" and node.attrs.get("lang", node.attrs.get("xml:lang")):
            info.lang = node.attrs.get("lang") or node.attrs.get("xml:lang")
        elif tag == "title" and info.title is None:
            info.title = text_of(node) or None
        elif tag == "meta" and node.attrs.get("name", "").lower() in ("author", "dc.creator"):
            info.author = info.author or collapse(node.attrs.get("content", "")) or None
        elif is_noteref(node, in_sup):
            info.refs.append(node.attrs.get("href", ""))
        elif tag == "a" and node.attrs.get("href") and not node.attrs["href"].startswith("#"):
            info.link_words += len(text_of(node).split())
        if HEADING_RE.match(tag):
            info.headings.append((int(tag[1]), text_of(node)))
        if tag in CODE and tag != "head":
            continue
        for child in node.children:
            if isinstance(child, str) and node.tag not in CODE:
                info.words += len(child.split())
                if len(sample) < 200:
                    sample += child.split()
    info.text_sample = " ".join(sample[:200])
    return info


@dataclass
class _Sink:
    items: list[Item]
    note_key: str | None = None
    note_line: int = 0
    notes_section: bool = False


class Walker:
    """Turns a document's tree into the pieces of a book, in reading order, without recursion.

    ``key`` turns an href into a note key; ``notes`` are the keys of this document's elements that other
    documents' (or its own) references point at; ``anchors`` the ids a table of contents points at."""

    def __init__(self, key, notes: set[str], anchors: set[str], read_matter: bool = False):
        self.key = key
        self.note_keys = notes
        self.anchors = anchors
        self.read_matter = read_matter
        self.sinks = [_Sink([])]
        self.buffer: list[str] = []
        self.line = 1
        self.level = 0
        self.rows: list[list[list[str]]] = []
        self.note_nodes: dict[int, str] = {}

    def walk(self, root: Node, info: DocInfo) -> list[Item]:
        for ident in self.note_keys:
            node = info.by_id.get(ident)
            if node is not None:
                holder = note_holder(node)
                if _could_be_note(holder):
                    self.note_nodes[id(holder)] = ident
        stack: list[tuple[Node, int]] = [(root, 0)]
        while stack:
            node, index = stack[-1]
            if index == len(node.children):
                stack.pop()
                self.leave(node)
                continue
            stack[-1] = (node, index + 1)
            child = node.children[index]
            if isinstance(child, str):
                self.text(child)
            elif self.enter(child, any(n.tag == "sup" for n, _ in stack[-3:])):
                stack.append((child, 0))
        self.flush()
        return self.sinks[0].items

    # what each element does on the way in (True: walk its children) and out

    def enter(self, node: Node, in_sup: bool) -> bool:
        tag = node.tag
        if node.id and node.id in self.anchors:
            self.flush()
            self.emit(Anchor(node.id))
        if tag in CODE:
            return False
        reason = self._skipped_as(node)
        if reason is not None:
            text = text_of(node)
            if text:
                self.emit(Skip(reason, text, node.line))
            return False
        if tag == "img":
            alt = collapse(node.attrs.get("alt", ""))
            if alt:
                self.emit(Skip("image description", alt, node.line))
            return False
        if tag == "br":
            self.buffer.append(" ")
            return False
        if tag == "hr":
            self.flush()
            self.emit(Pause(SEPARATOR_PAUSE))
            return False
        link = node if is_noteref(node, in_sup) else _noteref_inside(node) if tag == "sup" else None
        if link is not None:
            self.emit(NoteRef(self.key(link.attrs.get("href", ""))))
            mark = text_of(node)
            if mark:
                self.emit(Skip("note reference", mark, node.line))
            return False
        if self.sinks[-1].note_key is not None and tag == "a" and self._is_backlink(node):
            text = text_of(node)
            if text:
                self.emit(Skip("note back-link", text, node.line))
            return False
        ident = self.note_nodes.get(id(node)) or (node.id if self._typed_note(node) else None)
        if ident is not None or self._typed_note(node):
            self.flush()
            self.sinks.append(_Sink([], self.key("#" + (ident or f"line-{node.line}")), node.line))
            return True
        if self._notes_section(node):
            self.flush()
            self.sinks.append(_Sink([], notes_section=True))
            return True
        if tag == "tr":
            self.flush()
            self.rows.append([])
            return True
        if tag in ("td", "th") and self.rows:
            self.rows[-1].append([])
            return True
        if tag in BLOCK:
            if self.rows:
                self.text(" ")
                return True
            self.flush()
            self.line = node.line
            match = HEADING_RE.match(tag)
            self.level = int(match.group(1)) if match else 0
        return True

    def leave(self, node: Node) -> None:
        tag = node.tag
        if tag == "tr" and self.rows:
            cells = [collapse("".join(cell).replace("\u00ad", "")) for cell in self.rows.pop()]
            if not self.rows:
                self.buffer_to_cells(cells)
            self.emit(Block(ROW_SEPARATOR.join(c for c in cells if c), node.line))
            return
        if tag in BLOCK and not self.rows:
            self.flush()
        if len(self.sinks) > 1 and (id(node) in self.note_nodes or self._typed_note(node)):
            self.flush()
            sink = self.sinks.pop()
            blocks = tuple(i for i in sink.items if isinstance(i, Block) and i.text)
            for item in sink.items:
                if not isinstance(item, (Block, Pause)):
                    self.emit(item)
            self.emit(Note(sink.note_key or "", blocks, sink.note_line))
        elif len(self.sinks) > 1 and self.sinks[-1].notes_section and self._notes_section(node):
            self.flush()
            sink = self.sinks.pop()
            for item in sink.items:
                if isinstance(item, Block):
                    self.emit(Skip("notes section", item.text, item.line))
                elif not isinstance(item, Pause):
                    self.emit(item)

    def buffer_to_cells(self, cells: list[str]) -> None:
        """Text of the row that stood outside its cells joins the row, first."""
        stray = collapse("".join(self.buffer))
        self.buffer = []
        if stray:
            cells.insert(0, stray)

    def text(self, data: str) -> None:
        if self.rows and self.rows[-1]:
            self.rows[-1][-1].append(data)
        else:
            self.buffer.append(data)

    def flush(self) -> None:
        text = collapse("".join(self.buffer).replace("\u00ad", ""))  # soft hyphens only say where a word may break
        self.buffer = []
        if text:
            self.emit(Block(text, self.line, self.level))
        self.level = 0

    def emit(self, item: Item) -> None:
        self.sinks[-1].items.append(item)

    # what an element is

    def _skipped_as(self, node: Node) -> str | None:
        tag = node.tag
        if tag in OWN_REASONS:
            return OWN_REASONS[tag]
        attrs = node.attrs
        if "hidden" in attrs or attrs.get("aria-hidden", "").lower() == "true" or \
                re.search(r"display\s*:\s*none|visibility\s*:\s*hidden", attrs.get("style", ""), re.IGNORECASE):
            return "hidden text"
        types = node.tokens("epub:type")
        role = attrs.get("role", "")
        if "pagebreak" in types or role == "doc-pagebreak":
            return "page number"
        if self.read_matter:
            return None
        for kind in types | {role.removeprefix("doc-")}:
            if kind in MATTER:
                return MATTER[kind]
        if tag == "nav":
            return "navigation"
        if node.tokens("class") & BOILERPLATE_CLASSES or attrs.get("id") in BOILERPLATE_IDS:
            return "Project Gutenberg licence"
        return None

    @staticmethod
    def _typed_note(node: Node) -> bool:
        return bool(node.tokens("epub:type") & NOTE_TYPES) or node.attrs.get("role") in NOTE_ROLES

    @staticmethod
    def _notes_section(node: Node) -> bool:
        return bool(node.tokens("epub:type") & NOTES_TYPES) or node.attrs.get("role") == "doc-endnotes" or \
            (node.tag in ("section", "div", "aside", "ol") and bool(node.tokens("class") & NOTES_CLASSES))

    @staticmethod
    def _is_backlink(node: Node) -> bool:
        if node.attrs.get("role") == "doc-backlink" or "backlink" in node.tokens("epub:type"):
            return True
        if "#" not in node.attrs.get("href", ""):
            return False
        mark = text_of(node)
        return bool(NOTE_MARK_RE.match(mark) or BACKLINK_RE.match(mark) or not mark)


MAX_NOTE_WORDS = 1000


def _could_be_note(node: Node) -> bool:
    """Whether an element a note reference points at can be a note: not the whole document, no heading in it, not
    longer than `MAX_NOTE_WORDS` (a link to a chapter's section is not a note)."""
    if node.tag in ("body", "html", "#document"):
        return False
    if any(HEADING_RE.match(n.tag) for n, _ in elements(node)):
        return False
    return len(text_of(node).split()) <= MAX_NOTE_WORDS


def _noteref_inside(sup: Node) -> Node | None:
    """The note reference a ``<sup>`` holds (``<sup><a href="#n1">1</a></sup>``), if any."""
    return next((c for c in sup.children if isinstance(c, Node) and is_noteref(c, True)), None)


def read_document(text: str, where: str, key, notes: set[str], anchors: set[str] = frozenset(),
                  read_matter: bool = False) -> tuple[list[Item], DocInfo]:
    """One HTML document's pieces in reading order, and what `survey` found in it. ``key`` turns an href into a
    note key ("doc#id"); ``notes`` are ids in this document that earlier documents' note references point at (its
    own references' targets are added here)."""
    root = parse_tree(text, where)
    info = survey(root)
    here = key("#").partition("#")[0]
    own = {fragment for target, _, fragment in (key(href).partition("#") for href in info.refs) if target == here}
    return Walker(key, notes | own, anchors, read_matter).walk(root, info), info


def parse_html(data: bytes, name: str | None = None, notes: str = "end", read_matter: bool = False) -> Script:
    """A web page or a book saved as one HTML file: chapters start at headings of the rank `chapter_level` picks;
    the page's title, ``<meta name="author">`` and ``lang`` are its tags."""
    where = name or "stdin"
    book = BookBuilder(name, notes)
    text = decode(data, where, book.out.warnings)
    items, info = read_document(text, where, lambda href: "#".join(join("", href)), set(), set(), read_matter)
    level = chapter_level(lv for lv, _ in info.headings)
    for item in items:
        if isinstance(item, Block) and level is not None and 0 < item.level <= level:
            book.chapter(item.text)
        book.add(item)
    title = info.title or next((t for lv, t in info.headings if lv == 1 and t), None)
    for tag, value in (("title", title), ("author", info.author), ("language", info.lang)):
        if value:
            book.out.metadata[tag] = collapse(value)[:200]
    return book.script()
