"""Reading the user's YAML (presets, config, lexicons, a script's front matter) with bounded work.

PyYAML's ``safe_load`` runs nothing, but it expands aliases: a few lines of ``&a [*b, *b, ...]`` anchors (an
"alias bomb") grow into billions of nodes, minutes of work and gigabytes of memory; and its composer recurses
once per nesting level, so ``[[[[...]]]]`` ten thousand deep ends in a RecursionError. cbx's files are small
flat mappings that need neither, so the loader here refuses aliases and deep nesting, and caps the text's size,
before any of it is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.events import AliasEvent, CollectionStartEvent

from cbx_cli.errors import cut

MAX_DEPTH = 32
"""Nesting levels a cbx YAML file may use (a preset needs two)."""
MAX_CHARS = 1_000_000
"""Characters a preset, config or front matter may have; a lexicon may have `LEXICON_MAX_CHARS`."""
LEXICON_MAX_CHARS = 20_000_000


class YamlProblem(ValueError):
    """The text is not YAML cbx reads; ``str()`` says where and what to do ("line 2 is not valid YAML. Fix ...")."""


class _BoundedLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` that refuses aliases and nesting deeper than `MAX_DEPTH`."""

    def __init__(self, stream: str, first_line: int = 1) -> None:
        super().__init__(stream)
        self._depth = 0
        self._first = first_line

    def compose_node(self, parent, index):  # mirrors yaml.composer.Composer.compose_node (PyYAML 6)
        event = self.peek_event()
        line = event.start_mark.line + self._first
        if isinstance(event, AliasEvent):
            raise YamlProblem(f"line {line} uses a YAML alias (*{cut(event.anchor, 40)}), which cbx does not expand. "
                              "Write the value out instead.")
        if not isinstance(event, CollectionStartEvent):
            return Composer.compose_node(self, parent, index)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise YamlProblem(f"line {line} nests deeper than {MAX_DEPTH} levels. Flatten it.")
            return Composer.compose_node(self, parent, index)
        finally:
            self._depth -= 1


def load_yaml(text: str, max_chars: int = MAX_CHARS, first_line: int = 1) -> Any:
    """The one document in ``text``; `YamlProblem` for a syntax error, an alias, deep nesting or a huge text.
    Messages count lines from ``first_line`` (the text's first line in its file)."""
    if len(text) > max_chars:
        raise YamlProblem(f"it is larger than {max_chars:,} characters. Use a smaller file.")
    loader = _BoundedLoader(text, first_line)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + first_line} " if mark is not None else ""
        raise YamlProblem(f"{where}is not valid YAML. Fix the syntax and run again.") from None
    except YamlProblem:
        raise
    except ValueError:  # a value YAML reads but Python will not build, such as a 5,000-digit number
        raise YamlProblem("holds a value too large to read (a number of thousands of digits?). Fix the file.") \
            from None
    finally:
        loader.dispose()


def read_yaml(path: Path, max_chars: int = MAX_CHARS) -> Any:
    """`load_yaml` on the file ``path``, a regular file read no further than ``max_chars`` characters' worth of
    bytes; `YamlProblem` when it cannot be read."""
    from cbx_cli.files import FileProblem, read_limited

    try:
        text = read_limited(path, 4 * max_chars).decode("utf-8")
    except FileProblem as problem:
        if problem.too_large:
            raise YamlProblem(f"it is larger than {max_chars:,} characters. Use a smaller file.") from None
        raise YamlProblem(f"cannot be read ({problem}). Fix or remove the file.") from None
    except UnicodeDecodeError:
        raise YamlProblem("cannot be read (not UTF-8 text). Fix or remove the file.") from None
    return load_yaml(text, max_chars)
