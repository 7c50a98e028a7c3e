"""Markdown → `Script`: headings start chapters; tables are read row by row; front matter is metadata.

markdown-it-py parses CommonMark exactly (so a script renders as it reads on any Markdown viewer), with GitHub's
tables; it gives each block its source lines (for "chapter.md:12: ..." messages) and keeps inline code apart from
text (a ``[pause 1s]`` inside backticks is text, not a pause).

Every word is accounted for: what Markdown hides from speech (code blocks, an unclosed fence, text inside HTML, a
comment never closed, front matter that is not YAML) is named in a warning with its line. markdown-it stops at
its nesting limit and drops the rest of the document; here a container nested past `DEEP_LEVEL` is parsed as a
document of its own instead (`_deep`), so any depth is read, without deep recursion.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock
from markdown_it.token import Token

from cbx_cli.parse.directives import DIRECTIVE_START_RE, block_directives, misplaced_directive, strip_comments
from cbx_cli.parse.pauses import SEPARATOR_PAUSE, split_pauses
from cbx_cli.parse.script import BlockOverrides, Script, ScriptBuilder

DEEP_LEVEL = 100
"""Token nesting level (a list adds two, a block quote one) past which a container's content is parsed on its
own: markdown-it recurses about twice per level, so this stays far below Python's recursion limit."""

FRONT_MATTER_RE = re.compile(r"\A(---|\+\+\+)[ \t]*\r?\n(.*?)^(?:\1|\.\.\.)[ \t]*$", re.DOTALL | re.MULTILINE)
"""YAML front matter between ``---`` lines (or ``---`` and ``...``), or TOML between ``+++`` lines."""
FRONT_MATTER_KEY_RE = {"---": re.compile(r"\s*[\w-]+\s*:"), "+++": re.compile(r"\s*[\w-]+\s*=")}
TAG_RE = re.compile(r"<[^<>]*>")


def _deep(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    """A block rule tried first: past `DEEP_LEVEL`, take the rest of the container as one ``cbx_deep`` token whose
    content is its lines with the container's markers and indentation removed."""
    if state.level < DEEP_LEVEL:
        return False
    if silent:
        return True
    line = start
    while line < end and (state.isEmpty(line) or state.sCount[line] >= state.blkIndent):
        line += 1  # the lines the nested tokenizer would have read: up to the first one outdented past the container
    token = state.push("cbx_deep", "", 0)
    token.map = [start, line]
    token.content = state.getLines(start, line, state.blkIndent, True)
    state.line = line
    return True


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"maxNesting": DEEP_LEVEL + 20}).enable("table")
    md.block.ruler.before("table", "cbx_deep", _deep)
    return md


def block_tokens(source: str) -> list[Token]:
    """The tokens of ``source`` in document order at any nesting depth: each ``cbx_deep`` token is replaced by the
    tokens of its content (lines renumbered), with a stack instead of recursion."""
    found: list[Token] = []
    stack = [iter(_parser().parse(source))]
    while stack:
        token = next(stack[-1], None)
        if token is None:
            stack.pop()
        elif token.type == "cbx_deep":
            inner = _parser().parse(token.content)
            for t in inner:
                t.map = [t.map[0] + token.map[0], t.map[1] + token.map[0]] if t.map else None
            stack.append(iter(inner))
        else:
            found.append(token)
    return found


def _inline_source(tokens: list[Token], line: int, name: str | None) -> tuple[str, list[tuple[int, int]]]:
    """An inline block's speakable text with a newline per line break, and the spans of its code."""
    text: list[str] = []
    code: list[tuple[int, int]] = []
    size = 0

    def walk(toks: list[Token]) -> None:
        nonlocal size
        for tok in toks:
            piece = ""
            if tok.type == "text":
                piece = tok.content
            elif tok.type == "code_inline":
                piece = tok.content
                code.append((size, size + len(piece)))
            elif tok.type in ("softbreak", "hardbreak"):
                piece = "\n"
            elif tok.type == "image":
                walk(tok.children or [])
            elif tok.type == "html_inline":
                if DIRECTIVE_START_RE.search(tok.content):
                    raise misplaced_directive(name, line + "".join(text).count("\n"))
                piece = "\n" * tok.content.count("\n")  # keeps line numbers; HTML is not spoken
            text.append(piece)
            size += len(piece)

    walk(tokens)
    return "".join(text), code


def front_matter(source: str, out: ScriptBuilder) -> str:
    """Read a leading front matter block into ``out.metadata`` (title, author) and return the source with its lines
    blanked, so it is neither spoken nor taken for a heading, and later line numbers stay true."""
    m = FRONT_MATTER_RE.match(source)
    if m is None or not FRONT_MATTER_KEY_RE[m.group(1)].match(m.group(2)):
        return source
    try:
        data = _front_matter_data(m.group(1), m.group(2))
    except ValueError as exc:
        out.warn(1, f"front matter is not read, and not spoken: {exc}")
        data = {}
    for key in ("title", "author"):
        value = data.get(key)
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        if value is not None and str(value).strip():
            out.metadata[key] = " ".join(str(value).split())[:200]
    return "\n" * m.group(0).count("\n") + source[m.end():]


def _front_matter_data(fence: str, text: str) -> dict:
    """The front matter's mapping; ValueError (a short reason) when it is not one."""
    from cbx_cli.config.yamlfile import YamlProblem, load_yaml

    if fence == "+++":
        try:
            import tomllib  # the standard library's TOML reader, from Python 3.11

            return tomllib.loads(text[:1_000_000])
        except ImportError:
            raise ValueError("TOML front matter needs Python 3.11 or later") from None
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"it is not valid TOML ({exc})") from None
    data = load_yaml(text, first_line=2)
    if not isinstance(data, dict):
        raise YamlProblem("it is not a mapping of keys to values")
    return data


class _Walker:
    """Turns the token stream into the builder's chapters and paragraphs, keeping directives and hidden text."""

    def __init__(self, out: ScriptBuilder, name: str | None):
        self.out = out
        self.name = name
        self.pending: BlockOverrides | None = None
        self.section: BlockOverrides | None = None
        self.opened: tuple[str, int] | None = None
        self.table: BlockOverrides | None = None
        self.row: list[tuple[str, list[tuple[int, int]]]] | None = None
        self.row_line = 0
        self.code_lines: list[int] = []

    def token(self, tok: Token) -> None:
        line = (tok.map[0] if tok.map else 0) + 1
        kind = tok.type
        if kind == "inline":
            self.inline(tok)
        elif kind in ("heading_open", "paragraph_open"):
            self.opened = (kind, line)
        elif kind == "html_block":
            self.html(tok, line)
        elif kind == "hr":
            self.out.pause(SEPARATOR_PAUSE)
        elif kind in ("fence", "code_block"):
            self.code(tok, line)
        elif kind == "table_open":
            self.table, self.pending = self.overrides(), None
        elif kind == "tr_open":
            self.row, self.row_line = [], line
        elif kind == "tr_close":
            self.end_row()

    def overrides(self) -> BlockOverrides | None:
        return self.pending.merged_over(self.section) if self.pending else self.section

    def inline(self, tok: Token) -> None:
        if self.row is not None:
            self.row.append(_inline_source(tok.children or [], self.row_line, self.name))
            return
        if self.opened is None:
            return
        kind, line = self.opened
        self.opened = None
        text, code = _inline_source(tok.children or [], line, self.name)
        parts = split_pauses(text, line, self.name, code)
        if kind == "heading_open":
            self.section, self.pending = self.pending, None
            title = " ".join(t for t, _, _ in parts if t)
            if title:
                self.out.chapter(title)
            self.out.block(parts, is_title=True, overrides=self.section)
        else:
            overrides, self.pending = self.overrides(), None
            self.out.block(parts, overrides=overrides)

    def end_row(self) -> None:
        """A table row is spoken as one paragraph: its cells' text, comma-separated, without the pipes."""
        text, code = "", []
        for cell, spans in self.row or []:
            if not cell.strip():
                continue
            if text:
                text += ", "
            code += [(a + len(text), b + len(text)) for a, b in spans]
            text += cell
        self.row = None
        self.out.block(split_pauses(text, self.row_line, self.name, code), overrides=self.table)

    def html(self, tok: Token, line: int) -> None:
        for directive in block_directives(tok.content, line, self.name):
            self.out.directives.append(directive)
            self.pending = directive.merged_over(self.pending)
        rest, unclosed = strip_comments(tok.content)
        if unclosed:
            lines = tok.map[1] - tok.map[0] - 1 if tok.map else 0
            self.out.warn(line, f"an HTML comment opened here is never closed, so the {lines} line(s) after it are "
                                "not spoken. Close it with -->.")
        hidden = " ".join(html.unescape(TAG_RE.sub(" ", rest)).split())
        if hidden:
            shown = hidden if len(hidden) <= 40 else hidden[:39] + "…"
            self.out.warn(line, f"text inside an HTML block is not spoken ('{shown}'); write it as Markdown, outside "
                                "the HTML, to have it spoken.")

    def code(self, tok: Token, line: int) -> None:
        content_lines = tok.content.count("\n")
        if tok.type == "fence" and tok.map and tok.map[1] - tok.map[0] == content_lines + 1:
            self.out.warn(line, f"this code fence is never closed, so the {content_lines} line(s) after it are read "
                                f"as code and not spoken. Close it with {tok.markup}.")
        elif tok.content.strip():
            self.code_lines.append(line)

    def finish(self) -> None:
        if self.code_lines:
            shown = ", ".join(str(n) for n in self.code_lines[:10]) + (", …" if len(self.code_lines) > 10 else "")
            where = "line" if len(self.code_lines) == 1 else "lines"
            self.out.warn(None, f"{len(self.code_lines)} code block(s) are not spoken ({where} {shown}).")


def parse_markdown(source: str, name: str | None = None) -> Script:
    """Parse Markdown: headings start chapters; tables are read row by row; code, HTML and thematic breaks are not
    spoken, and text hidden that way is named in `Script.warnings`; front matter fills `Script.metadata`.

    ``<!-- cbx: ... -->`` directives set `Paragraph.overrides`: before a heading for its whole section, before
    a paragraph, list item or table for that block (merged over the section's). ``[pause ...]`` tags and thematic
    breaks set `Paragraph.pause_after`. ``name`` (the file name) prefixes messages ("chapter.md:12: ...").
    """
    out = ScriptBuilder(name)
    walker = _Walker(out, name)
    for tok in block_tokens(front_matter(source, out)):
        walker.token(tok)
    walker.finish()
    return out.script()
