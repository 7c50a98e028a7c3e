"""What a voice argument is, by its form alone: a voice library name or an http(s) URL (anything else is a path).

The parser checks the voices a script's directives name, the voice library stores voices under names, and the
server takes names from requests: all by these two rules, kept here, below every one of them.
"""

from __future__ import annotations

import re

VOICE_NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,40}")
"""What a voice library name may be: letters, digits, '-' and '_', 1 to 40 characters."""


def is_url(value: str) -> bool:
    """Whether a voice argument is a URL to download (http or https)."""
    return value.lower().startswith(("http://", "https://"))
