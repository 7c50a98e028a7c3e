"""The server's HTTP connections: uvicorn's h11 protocol with a deadline on each request's head.

uvicorn bounds only the wait between requests (``timeout_keep_alive``): a client that opens a connection and sends
its request line and headers a byte at a time, or never finishes them, holds the connection (and its memory) for as
long as it likes. Here every request's head (request line and headers) must be complete within ``head_seconds`` of
the connection opening or of the previous answer ending, or the connection is closed. The body has its own deadline,
kept by the app's middleware (`app.Guard`), which reads it.

h11 rather than httptools: its parser is pure Python and its state (`h11.Connection.their_state`) says when a head
is complete, which is what the deadline needs.
"""

from __future__ import annotations

import asyncio
import logging

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)

HEAD_SECONDS = 10.0


class HeadDeadline(H11Protocol):
    """`H11Protocol` that closes a connection whose request head is not complete within `head_seconds`."""

    head_seconds = HEAD_SECONDS

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._head_timer: asyncio.TimerHandle | None = None
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11.IDLE:  # a head arrived (or the connection is ending or upgraded)
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._arm()  # the next request's head, if one comes, must be in time too

    def _arm(self) -> None:
        self._disarm()
        self._head_timer = self.loop.call_later(self.head_seconds, self._late)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _late(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
        started = bool(self.conn.trailing_data[0])
        log.warning("closed the connection from %s: %s within %g s", client,
                    "its request line and headers did not arrive" if started else "it sent no request",
                    self.head_seconds)
        self.transport.close()


def protocol(head_seconds: float) -> type[HeadDeadline]:
    """The protocol class to give uvicorn (``http=``) for a server with this head deadline."""
    return type("HeadDeadline", (HeadDeadline,), {"head_seconds": head_seconds})
