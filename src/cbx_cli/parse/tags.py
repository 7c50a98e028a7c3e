"""Bracketed tags inside text, and what each kind of tag is matched by.

Two patterns with two jobs:

- `PARALINGUISTIC_TAG_RE`: a tag the turbo model speaks (``[laugh]``, ``[clear throat]``); the planner strips
  these for the other models, the sentence splitter never cuts inside one, subtitles do not show them.
- `BRACKET_TAG_RE`: anything tag-like in brackets (those, ``[pause 1.5s]``, ``[Music]``); the normalizer leaves
  them as written and the name hints skip them.

``[pause ...]`` tags themselves are parsed by `cbx_cli.parse.pauses`.
"""

from __future__ import annotations

import re

from cbx_cli.parse.script import collapse

PARALINGUISTIC_TAG_RE = re.compile(r"\[[a-z][a-z _-]{0,30}\]")
"""A paralinguistic tag such as ``[laugh]`` or ``[clear throat]``: lowercase words, at most 31 characters."""

BRACKET_TAG_RE = re.compile(r"\[[A-Za-z][^\[\]\n]{0,60}\]")
"""Any bracketed tag (``[laugh]``, ``[clear throat]``, ``[pause 1.5s]``): a letter, then up to 60 characters on
one line."""


def strip_tags(text: str) -> tuple[str, list[str]]:
    """Remove paralinguistic tags; return (whitespace-collapsed text, tags removed, brackets included)."""
    tags = PARALINGUISTIC_TAG_RE.findall(text)
    return collapse(PARALINGUISTIC_TAG_RE.sub(" ", text)), tags
