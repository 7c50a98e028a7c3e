"""Tags are hidden from the rules: each becomes a placeholder of private-use characters, put back at the end."""

from __future__ import annotations

import re
from collections.abc import Callable

from cbx_cli.parse.tags import BRACKET_TAG_RE


def protect_tags(text: str) -> tuple[str, Callable[[str], str]] | None:
    """``text`` with every bracketed tag replaced by a placeholder, and the function that puts them back; None
    when the text already uses every private-use character a placeholder could be made of."""
    tags: list[str] = []
    sentinel = next((chr(c) for c in range(0xE000, 0xF900) if chr(c) not in text), None)
    if sentinel is None:
        return None

    def hide(match: re.Match[str]) -> str:
        if len(tags) >= 0xFFFE:
            return match.group(0)
        tags.append(match.group(0))
        return f"{sentinel}{chr(0xF0000 + len(tags) - 1)}{sentinel}"

    hidden = BRACKET_TAG_RE.sub(hide, text)
    placeholder = re.compile(f"{re.escape(sentinel)}([\U000f0000-\U000ffffd]){re.escape(sentinel)}")

    def restore(result: str) -> str:
        def put_back(match: re.Match[str]) -> str:
            index = ord(match.group(1)) - 0xF0000
            return tags[index] if index < len(tags) else match.group(0)

        return placeholder.sub(put_back, result)

    return hidden, restore
