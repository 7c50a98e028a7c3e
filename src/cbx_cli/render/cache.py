"""Content-addressed takes. The key is everything that changes a take's audio; each entry carries a checksum.

An entry is one file: a magic line, a JSON header line, then the float32 samples. It is written to a
temporary name and renamed into place, so a run killed at any moment leaves either the whole entry or
none of it; a truncated or altered entry fails its checksum, is removed, and is rendered again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cbx_cli import __version__
from cbx_cli.plan.chunks import Chunk

log = logging.getLogger(__name__)

MAGIC = b"CBXTAKE1\n"
SUFFIX = ".take"


@dataclass
class CachedTake:
    audio: np.ndarray
    sample_rate: int
    tokens: int | None


@dataclass
class CacheInfo:
    root: Path
    entries: int
    size_bytes: int


def take_key(engine_identity: str, voice_id: str, chunk: Chunk) -> str:
    """A digest of everything that shapes the chunk's audio: engine and checkpoint, voice, text, settings, seed.

    The engine and voice are joined as one field, as they were when the engine's identity named its voice, so
    takes cached before keep their keys.
    """
    blob = json.dumps(
        {
            "cbx": __version__,
            "engine": f"{engine_identity}:{voice_id}",
            "text": chunk.spoken,
            "params": chunk.params.model_dump(),
            "seed": chunk.seed,
            "max_tokens": chunk.max_tokens,
            "model": chunk.model,
            "language": chunk.language,
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@contextmanager
def _sigint_deferred():
    """Let an entry being written finish before Ctrl-C takes effect."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: pending.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if pending:
            raise KeyboardInterrupt


class TakeCache:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.corrupt = 0

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}{SUFFIX}"

    def get(self, key: str) -> CachedTake | None:
        """The stored take, or None when absent or damaged (a damaged entry is removed)."""
        path = self._path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("cache entry %s unreadable: %s", path, exc)
            return None
        take = self._decode(data)
        if take is None:
            self.corrupt += 1
            log.warning("cache entry %s is damaged; it will be rendered again", path.name)
            path.unlink(missing_ok=True)
            return None
        os.utime(path)  # keep recently used entries through `cache clear --older-than`
        return take

    @staticmethod
    def _decode(data: bytes) -> CachedTake | None:
        if not data.startswith(MAGIC):
            return None
        rest = data[len(MAGIC):]
        newline = rest.find(b"\n")
        if newline < 0:
            return None
        try:
            header = json.loads(rest[:newline])
            body = rest[newline + 1:]
            if len(body) != header["samples"] * 4 or hashlib.sha256(body).hexdigest() != header["sha256"]:
                return None
            audio = np.frombuffer(body, dtype="<f4").astype(np.float32)
            return CachedTake(audio, int(header["sample_rate"]), header.get("tokens"))
        except (ValueError, KeyError, TypeError):
            return None

    def put(self, key: str, audio: np.ndarray, sample_rate: int, tokens: int | None = None, text: str = "") -> None:
        body = np.ascontiguousarray(audio, dtype="<f4").tobytes()
        header = {
            "samples": len(body) // 4,
            "sample_rate": sample_rate,
            "sha256": hashlib.sha256(body).hexdigest(),
            "tokens": tokens,
            "text": text[:200],
            "created": time.time(),
        }
        data = MAGIC + json.dumps(header, ensure_ascii=False).encode("utf-8") + b"\n" + body
        path = self._path(key)
        with _sigint_deferred():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise

    def _entries(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return [p for p in self.root.glob(f"*/*{SUFFIX}") if p.is_file()]

    def info(self) -> CacheInfo:
        entries = self._entries()
        return CacheInfo(self.root, len(entries), sum(p.stat().st_size for p in entries))

    def clear(self, older_than_days: float | None = None) -> int:
        """Remove entries (only those unused for more than the given days, if given); returns how many."""
        cutoff = None if older_than_days is None else time.time() - older_than_days * 86400
        removed = 0
        for path in self._entries():
            if cutoff is None or path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                removed += 1
        for tmp in self.root.glob("*/.tmp-*") if self.root.is_dir() else []:
            tmp.unlink(missing_ok=True)
        return removed
