"""Markdown → `Script`: headings start chapters; code, HTML and thematic breaks are not spoken.

markdown-it-py parses CommonMark exactly (so a script renders as it reads on any Markdown viewer), gives each
block its source lines (for "chapter.md:12: ..." messages) and keeps inline code apart from text (a
``[pause 1s]`` inside backticks is text, not a pause).
"""

from __future__ import annotations

from markdown_it import MarkdownIt
from markdown_it.token import Token

from cbx_cli.parse.directives import DIRECTIVE_START_RE, block_directives, misplaced_directive
from cbx_cli.parse.pauses import SEPARATOR_PAUSE, split_pauses
from cbx_cli.parse.script import BlockOverrides, Script, ScriptBuilder


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


def parse_markdown(source: str, name: str | None = None) -> Script:
    """Parse CommonMark: headings start chapters; code, HTML and thematic breaks are not spoken.

    ``<!-- cbx: ... -->`` directives set `Paragraph.overrides`: before a heading for its whole section, before
    a paragraph or list item for that paragraph (merged over the section's). ``[pause ...]`` tags and thematic
    breaks set `Paragraph.pause_after`. ``name`` (the file name) prefixes error messages ("chapter.md:12: ...").
    """
    tokens = MarkdownIt("commonmark").parse(source)
    out = ScriptBuilder()
    pending: BlockOverrides | None = None
    section: BlockOverrides | None = None
    for i, tok in enumerate(tokens):
        line = (tok.map[0] if tok.map else 0) + 1
        if tok.type == "html_block":
            for directive in block_directives(tok.content, line, name):
                out.directives.append(directive)
                pending = directive.merged_over(pending)
            continue
        if tok.type == "hr":
            out.pause(SEPARATOR_PAUSE)
            continue
        if tok.type not in ("heading_open", "paragraph_open"):
            continue
        text, code = _inline_source(tokens[i + 1].children or [], line, name)
        parts = split_pauses(text, line, name, code)
        if tok.type == "heading_open":
            section, pending = pending, None
            title = " ".join(t for t, _, _ in parts if t)
            if title:
                out.chapter(title)
            out.block(parts, is_title=True, overrides=section)
        else:
            overrides = pending.merged_over(section) if pending else section
            pending = None
            out.block(parts, overrides=overrides)
    return out.script()
