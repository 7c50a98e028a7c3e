"""A script is chapters of paragraphs of speakable text, parsed from plain text or Markdown.

Besides text, a script carries directions for the narration:

- ``<!-- cbx: voice=hero exaggeration=0.8 -->`` on its own line (Markdown only): before a heading it applies to
  that heading's whole section, before a paragraph or list item to that paragraph only (merged over the section's).
- ``[pause 1.5s]``, ``[pause 500ms]``, ``[pause 2]`` (seconds, 0 to 30) inside text: the paragraph is split there
  and the part before it is followed by that much silence.
- Separator lines (``***``, ``* * *``, ``---``): a pause of `SEPARATOR_PAUSE` seconds after the previous paragraph.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace

from markdown_it import MarkdownIt
from markdown_it.token import Token

from cbx_cli.config.models import MODELS
from cbx_cli.errors import InputError

DIRECTIVE_KEYS = ("exaggeration", "model", "preset", "seed", "voice")
SEPARATOR_PAUSE = 1.5
"""Seconds of silence a separator line (``***``, ``---``) stands for."""
MAX_PAUSE = 30.0


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
class Script:
    chapters: tuple[Chapter, ...]
    directives: tuple[BlockOverrides, ...] = ()
    """Every ``<!-- cbx: ... -->`` directive as written, in source order, each with its own line."""

    @property
    def paragraphs(self) -> list[Paragraph]:
        return [p for c in self.chapters for p in c.paragraphs]

    def speakable_text(self) -> str:
        """All spoken text, paragraphs joined by single spaces."""
        return " ".join(p.text for p in self.paragraphs)

    def is_empty(self) -> bool:
        return not any(p.text.strip() for p in self.paragraphs)


TAG_RE = re.compile(r"\[[a-z][a-z _-]{0,30}\]")
"""A paralinguistic tag such as ``[laugh]`` or ``[clear throat]``."""

PAUSE_START_RE = re.compile(r"\[\s*pause\b", re.IGNORECASE)
PAUSE_RE = re.compile(r"\[\s*pause\b([^\[\]]*)\]", re.IGNORECASE)
PAUSE_VALUE_RE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(ms|s)?", re.IGNORECASE)
PAUSE_HINT = "Write [pause 1.5s], [pause 500ms] or [pause 2] (seconds, 0 to 30)."
SEPARATOR_RE = re.compile(r"([*\-_#=~])(?:\s*\1){2,}")
"""A plain-text paragraph that is only a separator: ``***``, ``* * *``, ``---``, ``###``."""

DIRECTIVE_START_RE = re.compile(r"<!--\s*cbx\s*:")
DIRECTIVE_RE = re.compile(r"<!--\s*cbx\s*:(.*?)-->", re.DOTALL)
COMMENT_RE = re.compile(r"<!--.*?-->", re.DOTALL)
SHOWN = "<!-- cbx: ... -->"


def _collapse(text: str) -> str:
    return " ".join(text.split())


def strip_tags(text: str) -> tuple[str, list[str]]:
    """Remove paralinguistic tags; return (whitespace-collapsed text, tags removed, brackets included)."""
    tags = TAG_RE.findall(text)
    return _collapse(TAG_RE.sub(" ", text)), tags


def _lines(source: str) -> list[str]:
    return source.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _where(name: str | None, line: int) -> str:
    return f"{name}:{line}: " if name else f"line {line}: "


# -- pauses ---------------------------------------------------------------------------------------


def _pause_seconds(tag: str, arg: str, at: str) -> float:
    m = PAUSE_VALUE_RE.fullmatch(arg.strip())
    if not m:
        raise InputError(f"{at}{tag} is not a pause. {PAUSE_HINT}")
    seconds = float(m.group(1)) / (1000.0 if (m.group(2) or "s").lower() == "ms" else 1.0)
    if seconds > MAX_PAUSE:
        raise InputError(f"{at}{tag} is too long: pauses are 0 to {MAX_PAUSE:g} s.")
    return seconds


def _split_pauses(
    text: str, line: int, name: str | None, code: Sequence[tuple[int, int]] = ()
) -> list[tuple[str, int, float | None]]:
    """Split ``text`` (a block starting at ``line``; newlines are line breaks) at ``[pause ...]`` tags.

    Returns (collapsed text, line where it starts, pause after it or None) for each part, in order; a part's
    text may be empty. Tags inside ``code`` spans (offsets) are text, not pauses.
    """

    def line_at(offset: int) -> int:
        return line + text.count("\n", 0, offset)

    def in_code(offset: int) -> bool:
        return any(a <= offset < b for a, b in code)

    parts: list[tuple[str, int, float | None]] = []
    pos = 0
    for start in PAUSE_START_RE.finditer(text):
        if start.start() < pos or in_code(start.start()):
            continue
        at = _where(name, line_at(start.start()))
        m = PAUSE_RE.match(text, start.start())
        if m is None:
            shown = text[start.start():].split("\n")[0][:24].rstrip()
            raise InputError(f"{at}'{shown}' is not a pause: it has no closing ']'. {PAUSE_HINT}")
        seconds = _pause_seconds(m.group(0), m.group(1), at)
        parts.append(_part(text, pos, m.start(), line_at, seconds))
        pos = m.end()
    parts.append(_part(text, pos, len(text), line_at, None))
    return parts


def _part(text: str, a: int, b: int, line_at, pause: float | None) -> tuple[str, int, float | None]:
    piece = text[a:b]
    lead = len(piece) - len(piece.lstrip())
    return _collapse(piece), line_at(a + lead), pause


class _Builder:
    """Collects chapters and paragraphs; attaches pauses to the paragraph before them."""

    def __init__(self) -> None:
        self.chapters: list[tuple[str | None, list[Paragraph]]] = []
        self.directives: list[BlockOverrides] = []

    def chapter(self, title: str) -> None:
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

    def block(self, parts, is_title: bool = False, overrides: BlockOverrides | None = None) -> list[str]:
        """Add one block's parts (from `_split_pauses`); returns the texts added."""
        added = []
        for text, line, pause in parts:
            if text:
                self.add(Paragraph(text, line, is_title=is_title, overrides=overrides, pause_after=pause))
                added.append(text)
            elif pause is not None:
                self.pause(pause)
        return added

    def script(self) -> Script:
        chapters = tuple(Chapter(t, tuple(ps)) for t, ps in self.chapters if t is not None or ps)
        return Script(chapters, tuple(self.directives))


# -- plain text -----------------------------------------------------------------------------------


def parse_plain(source: str, name: str | None = None) -> Script:
    """Parse plain text: blank-line-separated paragraphs in one untitled chapter.

    ``[pause ...]`` tags and separator paragraphs (``***``, ``---``) become pauses. ``name`` (the file name)
    prefixes error messages.
    """
    out = _Builder()
    block: list[str] = []
    start = 0
    for number, line in enumerate([*_lines(source), ""], start=1):
        if line.strip():
            if not block:
                start = number
            block.append(line)
        elif block:
            text = "\n".join(block)
            if SEPARATOR_RE.fullmatch(_collapse(text)):
                out.pause(SEPARATOR_PAUSE)
            else:
                out.block(_split_pauses(text, start, name))
            block = []
    return out.script()


# -- Markdown -------------------------------------------------------------------------------------


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
                    at = _where(name, line + "".join(text).count("\n"))
                    raise InputError(
                        f"{at}put {SHOWN} on a line of its own, before the heading or paragraph it applies to."
                    )
                piece = "\n" * tok.content.count("\n")  # keeps line numbers; HTML is not spoken
            text.append(piece)
            size += len(piece)

    walk(tokens)
    return "".join(text), code


def _parse_directive(body: str, line: int, name: str | None) -> BlockOverrides:
    at = _where(name, line)
    try:
        words = shlex.split(body)
    except ValueError:
        raise InputError(f"{at}unbalanced quotes in {SHOWN}. Quote a value with spaces as voice=\"my voice.wav\".") \
            from None
    if not words:
        raise InputError(f"{at}empty {SHOWN}. Write key=value settings, such as voice=narrator.")
    values: dict[str, object] = {}
    for word in words:
        key, eq, value = word.partition("=")
        key = key.strip()
        if not eq:
            raise InputError(f"{at}'{word}' in {SHOWN} is not key=value. Write, for example, voice=narrator.")
        if key not in DIRECTIVE_KEYS:
            raise InputError(f"{at}unknown directive '{key}' in {SHOWN}. Known: {', '.join(DIRECTIVE_KEYS)}.")
        if key in values:
            raise InputError(f"{at}'{key}' is set twice in one {SHOWN}. Keep one.")
        values[key] = _directive_value(key, value.strip(), at)
    return BlockOverrides(**values, line=line)


def _directive_value(key: str, value: str, at: str) -> object:
    if not value:
        raise InputError(f"{at}{key}= in {SHOWN} has no value. Write {key}=VALUE.")
    if key == "exaggeration":
        try:
            number = float(value)
        except ValueError:
            number = float("nan")
        if not 0.0 <= number <= 2.0:
            raise InputError(f"{at}exaggeration={value} in {SHOWN} is not a number from 0 to 2.")
        return number
    if key == "seed":
        if not value.isascii() or not value.isdigit():
            raise InputError(f"{at}seed={value} in {SHOWN} is not a whole number, 0 or more.")
        return int(value)
    if key == "model" and value not in MODELS:
        raise InputError(f"{at}model={value} in {SHOWN} is not a model. Known: {', '.join(sorted(MODELS))}.")
    return value


def _block_directives(content: str, line: int, name: str | None) -> list[BlockOverrides]:
    """The directives in an HTML block; the block must hold nothing else that would go unspoken."""
    if not DIRECTIVE_START_RE.search(content):
        return []
    found = []
    for m in DIRECTIVE_START_RE.finditer(content):
        at_line = line + content.count("\n", 0, m.start())
        full = DIRECTIVE_RE.match(content, m.start())
        if full is None:
            raise InputError(f"{_where(name, at_line)}{SHOWN} is not closed: end it with -->.")
        found.append(_parse_directive(full.group(1), at_line, name))
    rest = COMMENT_RE.sub("", content)
    if rest.strip():
        raise InputError(
            f"{_where(name, line)}put {SHOWN} on a line of its own: text next to it would not be spoken."
        )
    return found


def parse_markdown(source: str, name: str | None = None) -> Script:
    """Parse CommonMark: headings start chapters; code, HTML and thematic breaks are not spoken.

    ``<!-- cbx: ... -->`` directives set `Paragraph.overrides`; ``[pause ...]`` tags and thematic breaks set
    `Paragraph.pause_after`. ``name`` (the file name) prefixes error messages ("chapter.md:12: ...").
    """
    tokens = MarkdownIt("commonmark").parse(source)
    out = _Builder()
    pending: BlockOverrides | None = None
    section: BlockOverrides | None = None
    for i, tok in enumerate(tokens):
        line = (tok.map[0] if tok.map else 0) + 1
        if tok.type == "html_block":
            for directive in _block_directives(tok.content, line, name):
                out.directives.append(directive)
                pending = directive.merged_over(pending)
            continue
        if tok.type == "hr":
            out.pause(SEPARATOR_PAUSE)
            continue
        if tok.type not in ("heading_open", "paragraph_open"):
            continue
        text, code = _inline_source(tokens[i + 1].children or [], line, name)
        parts = _split_pauses(text, line, name, code)
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


def parse_source(source: str, kind: str, name: str | None = None) -> Script:
    """Parse ``source`` as ``kind``: "markdown" or "plain"."""
    if kind == "markdown":
        return parse_markdown(source, name)
    if kind == "plain":
        return parse_plain(source, name)
    raise ValueError(f"unknown source kind {kind!r}; expected 'markdown' or 'plain'")


# -- checks ---------------------------------------------------------------------------------------


def is_voice_path(value: str) -> bool:
    """A directive's voice that names a file or URL rather than a library voice."""
    return "/" in value or "\\" in value or value.lower().startswith(("http://", "https://"))


def check_voices(script: Script, known: set[str], name: str | None) -> None:
    """Fail on the first directive whose voice is neither a path, a URL nor one of ``known`` library names."""
    from cbx_cli.voices.audio import VOICE_NAME_RE

    for directive in script.directives:
        voice = directive.voice
        if voice is None or is_voice_path(voice) or voice in known:
            continue
        at = _where(name, directive.line)
        if VOICE_NAME_RE.fullmatch(voice):
            raise InputError(f"{at}unknown voice '{voice}'. Add it with: cbx voices add {voice} FILE")
        raise InputError(
            f"{at}unknown voice '{voice}'. Name a voice from 'cbx voices list', a file path with a folder "
            f"(./{voice}) or an http(s) URL."
        )
