"""API keys: read from a file or the environment, held only as SHA-256 digests, compared in constant time; and the
per-key count of requests in flight.

A key file has one key per line: the key itself, or ``sha256:<hex digest>`` of it (so the file need not hold the
key); blank lines and lines starting with ``#`` are skipped. $CBX_API_KEYS adds keys, comma-separated.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import threading
from contextlib import contextmanager
from pathlib import Path

from cbx_cli.errors import InputError

KEYS_ENV = "CBX_API_KEYS"
_DIGEST_RE = re.compile(r"sha256:([0-9a-fA-F]{64})")


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def load_keys(path: Path | None) -> list[str]:
    """The digests of every key in ``path`` and $CBX_API_KEYS."""
    lines: list[str] = []
    if path is not None:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"Cannot read the API key file '{path}': {getattr(exc, 'strerror', None) or exc}.") \
                from None
    lines += os.environ.get(KEYS_ENV, "").split(",")
    digests = []
    for line in (raw.strip() for raw in lines):
        if not line or line.startswith("#"):
            continue
        match = _DIGEST_RE.fullmatch(line)
        digests.append(match.group(1).lower() if match else digest(line))
    if path is not None and not digests:
        raise InputError(f"The API key file '{path}' holds no key. Put one key (or sha256:<digest>) per line.")
    return digests


class Keys:
    """The accepted keys (as digests). ``check`` returns the key's id for limits and job ownership."""

    def __init__(self, digests: list[str]):
        self.digests = list(dict.fromkeys(digests))

    @property
    def required(self) -> bool:
        return bool(self.digests)

    def check(self, key: str) -> str | None:
        """The key's id (its digest's first 16 hex digits) if the key is accepted, else None."""
        given = digest(key)
        found = None
        for known in self.digests:  # every digest compared, so the time taken says nothing about which matched
            if hmac.compare_digest(given, known):
                found = known
        return found[:16] if found else None


class InFlight:
    """How many synchronous requests each key has running; refuses past ``limit``."""

    def __init__(self, limit: int):
        self.limit = limit
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def hold(self, key_id: str) -> Slot:
        """A place for one more request of ``key_id`` (429 when it has ``limit`` already); release it when done."""
        from cbx_cli.serve.service import RequestError

        with self._lock:
            if self._counts.get(key_id, 0) >= self.limit:
                raise RequestError(f"Too many requests in flight for this API key (at most {self.limit}); retry "
                                   "shortly, or queue the work with POST /v2/tts.", 429, {"Retry-After": "1"})
            self._counts[key_id] = self._counts.get(key_id, 0) + 1
        return Slot(self, key_id)

    @contextmanager
    def slot(self, key_id: str):
        held = self.hold(key_id)
        try:
            yield
        finally:
            held.release()

    def _free(self, key_id: str) -> None:
        with self._lock:
            self._counts[key_id] -= 1


class Slot:
    """One request's place; `release` may be called more than once (a stream and its cleanup both call it)."""

    def __init__(self, owner: InFlight, key_id: str):
        self._owner = owner
        self._key_id = key_id
        self._held = True
        self._lock = threading.Lock()

    def release(self) -> None:
        with self._lock:
            if not self._held:
                return
            self._held = False
        self._owner._free(self._key_id)
