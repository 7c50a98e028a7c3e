"""``<!-- cbx: key=value ... -->`` directives: parsing them, and checking the voices they name.

A directive is an HTML comment on a line of its own, so the Markdown still renders clean. Values are
checked here, where the line is known, so a bad one is reported as "chapter.md:12: ...".
"""

from __future__ import annotations

import re
import shlex

from cbx_cli.config.models import MODELS
from cbx_cli.config.names import VOICE_NAME_RE, is_url
from cbx_cli.config.ranges import RANGES
from cbx_cli.errors import InputError, cut
from cbx_cli.parse.script import BlockOverrides, Script, where

DIRECTIVE_KEYS = ("exaggeration", "model", "preset", "seed", "voice")
DIRECTIVE_START_RE = re.compile(r"<!--\s*cbx\s*:")
SHOWN = "<!-- cbx: ... -->"
"""How messages show a directive."""
MAX_SEED = int(RANGES["seed"].high)
"""The largest seed, as --seed allows."""


def strip_comments(content: str) -> tuple[str, bool]:
    """``content`` without its HTML comments, cut where a comment opens that is never closed; and whether one was
    left open. One pass: a pattern such as ``<!--.*?-->`` would rescan to the end from every unclosed opening."""
    kept: list[str] = []
    pos = 0
    while (start := content.find("<!--", pos)) >= 0:
        kept.append(content[pos:start])
        end = content.find("-->", start + 4)
        if end < 0:
            return "".join(kept), True
        pos = end + 3
    kept.append(content[pos:])
    return "".join(kept), False


def parse_directive(body: str, line: int, name: str | None) -> BlockOverrides:
    """The settings in a directive's ``body`` (what stands between ``cbx:`` and ``-->``), found at ``line``."""
    at = where(name, line)
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
        if not value.isascii() or not value.isdigit() or len(value) > 19 or int(value) > MAX_SEED:
            raise InputError(f"{at}seed={cut(value, 30)} in {SHOWN} is not a whole number from 0 to {MAX_SEED}.")
        return int(value)
    if key == "model" and value not in MODELS:
        raise InputError(f"{at}model={value} in {SHOWN} is not a model. Known: {', '.join(sorted(MODELS))}.")
    return value


def block_directives(content: str, line: int, name: str | None) -> list[BlockOverrides]:
    """The directives in an HTML block starting at ``line``; the block must hold nothing else that would go
    unspoken."""
    if not DIRECTIVE_START_RE.search(content):
        return []
    found = []
    lines_before, counted = 0, 0
    for m in DIRECTIVE_START_RE.finditer(content):
        lines_before += content.count("\n", counted, m.start())
        counted = m.start()
        at_line = line + lines_before
        close = content.find("-->", m.end())
        if close < 0:
            raise InputError(f"{where(name, at_line)}{SHOWN} is not closed: end it with -->.")
        found.append(parse_directive(content[m.end() : close], at_line, name))
    rest, _ = strip_comments(content)
    if rest.strip():
        raise InputError(
            f"{where(name, line)}put {SHOWN} on a line of its own: text next to it would not be spoken."
        )
    return found


def misplaced_directive(name: str | None, line: int) -> InputError:
    """The error for a directive written inside a paragraph's text, at ``line``."""
    return InputError(
        f"{where(name, line)}put {SHOWN} on a line of its own, before the heading or paragraph it applies to."
    )


def is_voice_path(value: str) -> bool:
    """A directive's voice that names a file or URL rather than a library voice."""
    return "/" in value or "\\" in value or is_url(value)


def check_voices(script: Script, known: set[str], name: str | None) -> None:
    """Fail on the first directive whose voice is neither a path, a URL nor one of ``known`` library names."""
    for directive in script.directives:
        voice = directive.voice
        if voice is None or is_voice_path(voice) or voice in known:
            continue
        at = where(name, directive.line)
        if VOICE_NAME_RE.fullmatch(voice):
            raise InputError(f"{at}unknown voice '{voice}'. Add it with: cbx voices add {voice} FILE")
        raise InputError(
            f"{at}unknown voice '{voice}'. Name a voice from 'cbx voices list', a file path with a folder "
            f"(./{voice}) or an http(s) URL."
        )
