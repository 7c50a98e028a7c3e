"""Temporary files on their way to becoming outputs (or cached downloads), known while they exist.

An atomic write removes its own temporary file when it fails or is interrupted. The one exit that skips that
clean-up is the immediate one a second Ctrl-C asks for (`cbx_cli.cli.signals`): it removes these first, so no
``.part`` file outlives any run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_open: set[str] = set()


@contextmanager
def tracked(path: str | Path) -> Iterator[None]:
    """Know ``path`` as a partial file while the block runs."""
    _open.add(str(path))
    try:
        yield
    finally:
        _open.discard(str(path))


def remove_all() -> None:
    """Remove every partial file still known (safe to call from a signal handler)."""
    for name in list(_open):
        try:
            os.unlink(name)
        except OSError:
            pass
