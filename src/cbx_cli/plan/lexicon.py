"""The user's pronunciation lexicon: ``word or phrase: respelling`` lines in a YAML file (``--lexicon``).

YAML because the rest of cbx's user files (presets, config) are YAML, and a flat mapping of quoted or unquoted
strings is the least a user has to learn; `cbx_cli.config.yamlfile` reads it without running anything, and with
bounded work.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from cbx_cli.config.yamlfile import LEXICON_MAX_CHARS, YamlProblem, read_yaml
from cbx_cli.errors import InputError, shown


def _phrase_pattern(phrase: str) -> str:
    # Any run of whitespace inside a phrase matches any run of whitespace in the text.
    return r"\s+".join(re.escape(part) for part in phrase.split())


class Lexicon:
    """Pronunciation respellings: ``word or phrase -> respelling``.

    :meth:`apply` replaces whole words and phrases, case-insensitively, longest phrase first; text outside
    the matches is kept as it is.
    """

    def __init__(self, entries: Mapping[str, str] | None = None):
        self._entries: dict[str, str] = {}
        for key, value in (entries or {}).items():
            phrase = " ".join(str(key).split())
            if phrase:
                self._entries[phrase] = str(value)
        self._lookup = {k.casefold(): v for k, v in self._entries.items()}
        self._pattern: re.Pattern[str] | None = None
        if self._entries:
            keys = sorted(self._entries, key=lambda k: (-len(k), k))
            alternatives = "|".join(_phrase_pattern(k) for k in keys)
            self._pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)

    @classmethod
    def load(cls, path: Path) -> Lexicon:
        """Read a YAML file holding a flat mapping of ``word or phrase: respelling`` strings.

        Raises :class:`~cbx_cli.errors.InputError` (one line naming the file) when the file is missing,
        unreadable, not YAML, not a mapping, or has an entry that is not a string mapped to a string.
        An empty file is an empty lexicon.
        """
        path = Path(path)
        if not path.exists():
            raise InputError(f"{path}: lexicon file not found. Check the path.")
        if not path.is_file():
            raise InputError(f"{path}: lexicon is not a file. Pass a YAML file of 'word: respelling' lines.")
        try:
            data = read_yaml(path, LEXICON_MAX_CHARS)
        except YamlProblem as exc:
            raise InputError(f"{path}: {exc}") from None
        if data is None:
            return cls({})
        if not isinstance(data, dict):
            raise InputError(
                f"{path}: lexicon must be a mapping of 'word or phrase: respelling' lines, not a {_yaml_kind(data)}."
            )
        entries: dict[str, str] = {}
        for key, value in data.items():
            if not isinstance(key, str) or not key.strip():
                raise InputError(f"{path}: entry {shown(str(key))} must be a word or phrase; put it in quotes.")
            if not isinstance(value, str) or not value.strip():
                raise InputError(f"{path}: entry {shown(key)} must map to a respelling string.")
            entries[key] = value.strip()
        return cls(entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Lexicon({len(self)} entries)"

    def apply(self, text: str) -> str:
        """Replace every whole word or phrase found in the lexicon by its respelling."""
        if self._pattern is None:
            return text
        return self._pattern.sub(self._replacement, text)

    def _replacement(self, match: re.Match[str]) -> str:
        return self._lookup.get(" ".join(match.group(0).split()).casefold(), match.group(0))

    def known_words(self) -> set[str]:
        """Every entry and every word of every entry, casefolded: names the lexicon already respells."""
        known: set[str] = set()
        for key in self._lookup:
            known.add(key)
            known.update(key.split())
        return known


def _yaml_kind(data: object) -> str:
    if isinstance(data, list):
        return "list"
    if isinstance(data, str):
        return "string"
    return type(data).__name__
