"""Webhook deliveries, apart from the job queue: a job that ends hands its webhook to `Deliveries` and goes on; a
few threads POST them, each retried with a growing wait, so a slow or failing receiver holds up only its own
deliveries (at most `senders` at once), never a job.

A delivery waiting for its retry holds no thread: it sits in a heap by the time it is due.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from cbx_cli.errors import CbxError

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Cbx-Signature"
ATTEMPTS = 3
TIMEOUT = 10.0
"""Seconds one try may take, from connecting to the end of the answer."""
SENDERS = 4
"""Deliveries in flight at once."""


def sign(secret: bytes, body: bytes) -> str:
    """The signature header's value: ``sha256=`` and the hex HMAC-SHA256 of the body with the server's secret."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


@dataclass
class Delivery:
    """One POST to make: its URL, JSON body and extra headers; ``on_attempt(n)`` before try n, ``on_done(ok)`` once at
    the end."""

    url: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    https_only: bool = False
    on_attempt: Callable[[int], None] | None = None
    on_done: Callable[[bool], None] | None = None
    attempt: int = 0


class Deliveries:
    """The webhook queue and its sender threads. ``post(delivery)`` returns the HTTP status or raises `CbxError`
    (`urls.fetch` in the server)."""

    def __init__(self, post: Callable[[Delivery], int], secret: bytes, senders: int = SENDERS,
                 attempts: int = ATTEMPTS, backoff: float = 1.0):
        self.post = post
        self.secret = secret
        self.attempts = attempts
        self.backoff = backoff
        self._heap: list[tuple[float, int, Delivery]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._stopping = False
        self._threads = [threading.Thread(target=self._send, name=f"cbx-webhook-{n}", daemon=True)
                         for n in range(senders)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        """Stop after the deliveries in flight; the rest are dropped (a terminal one is sent again at the next start,
        see `JobStore.undelivered`)."""
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout)

    def add(self, delivery: Delivery, delay: float = 0.0) -> None:
        delivery.headers = {"Content-Type": "application/json", "User-Agent": "cbx-serve",
                            SIGNATURE_HEADER: sign(self.secret, delivery.body), **delivery.headers}
        with self._wake:
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._order), delivery))
            self._wake.notify()

    def pending(self) -> int:
        with self._wake:
            return len(self._heap)

    def _next(self) -> Delivery | None:
        with self._wake:
            while not self._stopping:
                if self._heap and self._heap[0][0] <= time.monotonic():
                    return heapq.heappop(self._heap)[2]
                self._wake.wait(timeout=(self._heap[0][0] - time.monotonic()) if self._heap else None)
            return None

    def _send(self) -> None:
        while (delivery := self._next()) is not None:
            delivery.attempt += 1
            _note(delivery.on_attempt, delivery.attempt, delivery)
            try:
                status = self.post(delivery)
                ok = 200 <= status < 300
                reason = f"HTTP {status}"
            except CbxError as exc:
                ok, reason = False, exc.message
            except Exception as exc:  # noqa: BLE001 - a sender thread must outlive any one delivery
                ok, reason = False, f"{type(exc).__name__}: {exc}"
            if ok:
                self._done(delivery, True)
            elif delivery.attempt < self.attempts:
                log.warning("webhook %s, attempt %d of %d: %s", delivery.url, delivery.attempt, self.attempts, reason)
                self.add(delivery, self.backoff * 2 ** (delivery.attempt - 1))
            else:
                log.warning("webhook %s not delivered after %d attempts: %s", delivery.url, self.attempts, reason)
                self._done(delivery, False)

    @staticmethod
    def _done(delivery: Delivery, ok: bool) -> None:
        _note(delivery.on_done, ok, delivery)


def _note(callback: Callable | None, value: int | bool, delivery: Delivery) -> None:
    """Tell ``callback`` (a delivery's attempt or its end) ``value``: one that fails (the job database gone) is a log
    line, never the end of a sender thread."""
    if callback is None:
        return
    try:
        callback(value)
    except Exception as exc:  # noqa: BLE001 - the senders serve every other delivery too
        log.error("webhook %s: recording its state failed: %s", delivery.url, getattr(exc, "message", None) or exc)
