"""What every outbound request cbx makes shares: a deadline that ends it, however slowly the far end answers.

A read timeout alone does not end a far end that sends a byte every few seconds (each read within its own limit), so
`Deadline` watches the sockets a request opens and, when its time is up, shuts every one of them down: a read blocked
on one returns at once. Used by the server's fetches (`serve.urls`) and by voice downloads (`voices.fetch`).
"""

from __future__ import annotations

import socket
import threading
import time


class Deadline:
    """The time one request may take in all (``seconds``), and each network step in it (``per_read``; None: no
    limit of its own). Start it before connecting, `watch` each socket opened, `cancel` when done."""

    def __init__(self, seconds: float, per_read: float | None = None):
        self.seconds = seconds
        self.per_read = per_read
        self.end = time.monotonic() + seconds
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()
        self._expired = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def timeout(self) -> float:
        """The time the next network step may take: its own limit, or what is left of the whole; TimeoutError when
        nothing is left."""
        left = self.end - time.monotonic()
        if left <= 0:
            raise TimeoutError
        return left if self.per_read is None else min(self.per_read, left)

    @property
    def passed(self) -> bool:
        """Whether the time is up (and the sockets watched have been, or are being, shut down)."""
        return self._expired or time.monotonic() >= self.end

    def watch(self, sock: socket.socket) -> None:
        """Shut ``sock`` down when the time is up (at once if it already is)."""
        with self._lock:
            self._socks.append(sock)
            if self._expired:
                shutdown(sock)

    def _expire(self) -> None:
        with self._lock:
            self._expired = True
            for sock in self._socks:
                shutdown(sock)

    def cancel(self) -> None:
        """The request has ended: stop the timer."""
        self._timer.cancel()


def shutdown(sock: socket.socket) -> None:
    """Shut ``sock`` down at the socket level (a TLS socket's too, without touching its TLS state, which the thread
    reading it may be using); a socket already closed is left as it is."""
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass
