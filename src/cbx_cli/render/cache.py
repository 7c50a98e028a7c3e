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
import re
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cbx_cli import __version__
from cbx_cli.errors import OutputError
from cbx_cli.plan.chunks import Chunk

log = logging.getLogger(__name__)

MAGIC = b"CBXTAKE1\n"
SUFFIX = ".take"


@dataclass
class CachedTake:
    audio: np.ndarray
    sample_rate: int
    tokens: int | None
    heard: dict[str, dict] = field(default_factory=dict)
    """What speech recognition heard in the take, by model name (`cbx_cli.verify.asr.Heard.to_json`)."""


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


DEFERRED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def _signals_deferred():
    """Let an entry being written finish before Ctrl-C (or SIGTERM) takes effect; the signal then goes to the
    handler that was in place (Python's own raises KeyboardInterrupt)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, frame: pending.append(signum)) for sig in DEFERRED_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        if pending:
            _deliver(pending[0], previous[pending[0]])


def _deliver(signum: int, handler) -> None:
    if callable(handler):
        handler(signum, None)
    elif handler in (signal.SIG_DFL, None):
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        signal.raise_signal(signum)


_PREFIX_RE = re.compile(r"[0-9a-f]{2}")


def _misplaced(root: Path) -> Iterator[Path]:
    """What sits where the cache keeps something else: a non-folder at an entry folder's place (``ab``), a folder
    or other non-file at an entry's place (``ab/ab….take``). `TakeCache.put` could not store a take there."""
    with os.scandir(root) as prefixes:
        for prefix in prefixes:
            if not _PREFIX_RE.fullmatch(prefix.name):
                continue
            if not prefix.is_dir():
                yield Path(prefix.path)
                continue
            with os.scandir(prefix.path) as entries:
                yield from (Path(e.path) for e in entries if e.name.endswith(SUFFIX) and not e.is_file())


def check_cache(root: Path) -> None:
    """The take cache's folder, checked before any model loads: a folder cbx can write in (made if missing), with
    nothing but takes where takes belong. Otherwise an OutputError saying what to do."""
    root = Path(root)
    hint = "Pass --cache-dir FOLDER, or --no-cache."
    if os.path.lexists(root) and not root.is_dir():
        raise OutputError(f"Cache folder '{root}' is not a folder. {hint}")
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".tmp-", dir=root)
        os.close(fd)
        os.unlink(probe)
        bad = next(_misplaced(root), None)
    except OSError as exc:
        raise OutputError(f"Cache folder '{root}' cannot be written: {exc.strerror or exc}. {hint}") from None
    if bad is not None:
        what = "a folder" if bad.is_dir() else "a file" if bad.is_file() else "something else"
        raise OutputError(
            f"Cache folder '{root}' has {what} at '{bad}', where the cache keeps its own files. Run 'cbx cache "
            "clear' to repair it, or pass --no-cache."
        )


class TakeCache:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.corrupt = 0
        self.unstored = 0

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
            heard = header.get("heard") or {}
            return CachedTake(audio, int(header["sample_rate"]), header.get("tokens"),
                              heard if isinstance(heard, dict) else {})
        except (ValueError, KeyError, TypeError):
            return None

    def put(self, key: str, audio: np.ndarray, sample_rate: int, tokens: int | None = None, text: str = "",
            heard: dict[str, dict] | None = None) -> None:
        """Store a take (and what speech recognition heard in it, by model name), replacing any entry of the key."""
        body = np.ascontiguousarray(audio, dtype="<f4").tobytes()
        header = {
            "samples": len(body) // 4,
            "sample_rate": sample_rate,
            "sha256": hashlib.sha256(body).hexdigest(),
            "tokens": tokens,
            "text": text[:200],
            "created": time.time(),
        }
        if heard:
            header["heard"] = heard
        data = MAGIC + json.dumps(header, ensure_ascii=False).encode("utf-8") + b"\n" + body
        path = self._path(key)
        with _signals_deferred():
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
            except OSError as exc:
                self._not_stored(exc)
                return
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, path)
            except BaseException as exc:
                Path(tmp).unlink(missing_ok=True)
                if not isinstance(exc, OSError):
                    raise
                self._not_stored(exc)

    def _not_stored(self, exc: OSError) -> None:
        """A take that cannot be stored (a full disk, something in its place) costs a re-render next time, not
        this run: the take itself is in memory."""
        self.unstored += 1
        if self.unstored == 1:
            log.warning("the take cache in %s cannot store takes (%s); a later run renders them again",
                        self.root, exc.strerror or exc)

    def _entries(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return [p for p in self.root.glob(f"*/*{SUFFIX}") if p.is_file()]

    def info(self) -> CacheInfo:
        entries = self._entries()
        return CacheInfo(self.root, len(entries), sum(p.stat().st_size for p in entries))

    def clear(self, older_than_days: float | None = None) -> int:
        """Remove entries (only those unused for more than the given days, if given); returns how many. Whatever
        sits where the cache keeps its own files, and unfinished entries, go too."""
        cutoff = None if older_than_days is None else time.time() - older_than_days * 86400
        removed = 0
        for path in self._entries():
            if cutoff is None or path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                removed += 1
        if not self.root.is_dir():
            return removed
        for bad in list(_misplaced(self.root)):
            if bad.is_dir() and not bad.is_symlink():
                shutil.rmtree(bad, ignore_errors=True)
            else:
                bad.unlink(missing_ok=True)
        for tmp in self.root.glob("*/.tmp-*"):
            tmp.unlink(missing_ok=True)
        return removed
