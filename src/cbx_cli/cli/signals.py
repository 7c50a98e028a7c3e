"""Ctrl-C and SIGTERM: the first stops the run cleanly; any later one ends the process at once. Exit 130 either way.

The first signal raises KeyboardInterrupt in the main thread (SIGTERM too), so the render keeps what is finished,
temporary files are removed and the one-line message is printed. Worker threads (S3Gen's per-chunk decoders,
torch's pools) may still be busy then: a second KeyboardInterrupt raised while the interpreter waits for them at
exit, or tears them down, ends in a traceback or in C++'s "terminate called without an active exception"
(SIGABRT, exit 134). So once a signal has been handled, nothing is torn down: a later signal, and the exit after
the first, leave through ``os._exit`` after removing partial files (`cbx_cli.files`). The take cache stays
consistent: an entry appears by an atomic rename, and one being written defers the signal until it is in place.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

EXIT_INTERRUPTED = 130
HANDLED = (signal.SIGINT, signal.SIGTERM)


class _State:
    received: int | None = None
    """The first signal handled in this run, if any."""


def received() -> int | None:
    """The first of SIGINT/SIGTERM this run received, or None."""
    return _State.received


def stopped_by() -> str:
    """How a message names what stopped the run: "interrupted" (Ctrl-C) or "terminated" (SIGTERM)."""
    return "terminated" if _State.received == signal.SIGTERM else "interrupted"


def _handler(signum: int, frame) -> None:
    if _State.received is None:
        _State.received = signum
        raise KeyboardInterrupt
    exit_now(EXIT_INTERRUPTED, f"cbx: error: {stopped_by()} again: stopping now; finished takes are in the cache.\n")


def exit_now(code: int, message: str = "") -> None:
    """Leave without tearing anything down: partial files removed, standard streams flushed, ``os._exit``."""
    from cbx_cli.files import remove_all

    remove_all()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    if message:
        try:
            os.write(2, message.encode("utf-8", "replace"))
        except OSError:
            pass
    os._exit(code)


@contextmanager
def handled() -> Iterator[None]:
    """Install the handlers for a command's run (main thread only; an ignored signal stays ignored, as under
    ``nohup``), and put back what was there afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _State.received = None
    previous = {sig: signal.getsignal(sig) for sig in HANDLED}
    for sig, old in previous.items():
        if old is not signal.SIG_IGN:
            signal.signal(sig, _handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old if old is not None else signal.SIG_DFL)
