"""Content-addressed takes. The key is everything that changes a take's audio; each entry carries a checksum.

An entry is one file, ``<root>/<key[:2]>/<key>.take``: a magic line, a JSON header line, then the float32 samples.
It is written to a temporary name (``.tmp-*``) and renamed into place, so a run killed at any moment leaves either
the whole entry or none of it. The header names the entry's key and the full text it speaks, and its checksum
covers both with the samples: an entry that is truncated, altered, or moved to another entry's place (two takes
swapped on disk) is corrupt, and its chunk is rendered again with a warning.

The cache trusts nothing in its folder that it did not write: it reads only regular files (never through a link,
never more than `MAX_ENTRY_BYTES`), and `TakeCache.clear` deletes only its entries and unfinished writes, known by
name and by header, never following a link out of the folder.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import signal
import stat
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cbx_cli import __version__
from cbx_cli.errors import OutputError
from cbx_cli.files import FileProblem, read_limited
from cbx_cli.plan.chunks import Chunk

log = logging.getLogger(__name__)

MAGIC = b"CBXTAKE2\n"
OLD_MAGICS = (b"CBXTAKE1\n",)
"""Entries an earlier cbx wrote (their checksum covers only the samples): read as absent, deleted by `clear`."""
SUFFIX = ".take"
MAX_ENTRY_BYTES = 64_000_000
"""The largest entry read: a take is at most 1,000 speech tokens, 40 s, about 4 MB of samples."""


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
_ENTRY_RE = re.compile(r"[0-9a-f]{64}" + re.escape(SUFFIX))
_TEMP_RE = re.compile(r"\.tmp-[a-z0-9_]{8}")
"""An unfinished entry: `tempfile.mkstemp`'s name with the cache's prefix."""


class _Header(BaseModel):
    """An entry's header line. Fields unknown to this version are refused: such an entry is not one it wrote."""

    model_config = ConfigDict(extra="forbid")

    key: str
    text: str
    samples: int = Field(ge=0)
    sample_rate: int = Field(gt=0, le=1_000_000)
    sha256: str
    tokens: int | None = None
    created: float
    heard: dict[str, dict] = Field(default_factory=dict)


def _checksum(key: str, text: str, body: bytes) -> str:
    """The digest an entry carries: of its key, its text and its samples, so no part can be swapped for another's."""
    digest = hashlib.sha256(key.encode("utf-8") + b"\0" + text.encode("utf-8", "surrogatepass") + b"\0")
    digest.update(body)
    return digest.hexdigest()


def _misplaced(root: Path) -> Iterator[Path]:
    """What sits where the cache keeps something else: anything but a folder at an entry folder's place (``ab``, a
    link to a folder included), anything but a regular file at an entry's place (``ab/ab….take``). `TakeCache.put`
    could not store a take there, or would store it through a link, outside the cache."""
    with os.scandir(root) as prefixes:
        for prefix in prefixes:
            if not _PREFIX_RE.fullmatch(prefix.name):
                continue
            if not prefix.is_dir(follow_symlinks=False):
                yield Path(prefix.path)
                continue
            with os.scandir(prefix.path) as entries:
                yield from (Path(e.path) for e in entries
                            if _ENTRY_RE.fullmatch(e.name) and not e.is_file(follow_symlinks=False))


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
        what = "a link" if bad.is_symlink() else "a folder" if bad.is_dir() else "a file" if bad.is_file() \
            else "something else"
        raise OutputError(
            f"Cache folder '{root}' has {what} at '{bad}', where the cache keeps its own files. Move or remove it "
            "(cbx deletes only the takes it wrote), or pass --no-cache."
        )


def _is_ours(path: Path) -> bool:
    """Whether ``path`` is a regular file (not a link) that starts as a cbx entry does."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        return stat.S_ISREG(os.fstat(fd).st_mode) and os.read(fd, len(MAGIC)) in (MAGIC, *OLD_MAGICS)
    finally:
        os.close(fd)


class TakeCache:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.corrupt = 0
        self.unstored = 0

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}{SUFFIX}"

    def path_of(self, key: str) -> Path:
        """Where the entry of ``key`` is (or would be) kept."""
        return self._path(key)

    def get(self, key: str, text: str | None = None) -> CachedTake | None:
        """The stored take of ``key`` (whose text is ``text``, when given), or None when absent or unusable. An
        entry that is damaged, or holds another key's or another text's take, is corrupt: counted, named in a
        warning, and rendered again (a damaged one is removed; what is not a cbx entry is left where it is)."""
        path = self._path(key)
        try:
            data = read_limited(path, MAX_ENTRY_BYTES, follow_links=False)
        except FileProblem as problem:
            if not problem.missing:
                self._corrupt(path, f"it {problem}")
            return None
        if data.startswith(OLD_MAGICS):
            return None  # an earlier version's entry: rendered again and replaced
        take, why = self._decode(data, key, text)
        if take is None:
            self._corrupt(path, why)
            if why.startswith("it is damaged") and data.startswith(MAGIC):
                path.unlink(missing_ok=True)
            return None
        os.utime(path, follow_symlinks=False)  # keep recently used entries through `cache clear --older-than`
        return take

    def _corrupt(self, path: Path, why: str) -> None:
        self.corrupt += 1
        log.warning("take cache entry %s cannot be used: %s; its chunk is rendered again", path.name, why)

    @staticmethod
    def _decode(data: bytes, key: str, text: str | None) -> tuple[CachedTake | None, str]:
        """The take in an entry's bytes, or None and why not."""
        damaged = "it is damaged (a truncated or altered file)"
        if not data.startswith(MAGIC):
            return None, "it is not a take cbx wrote"
        rest = data[len(MAGIC):]
        newline = rest.find(b"\n")
        if newline < 0:
            return None, damaged
        try:
            header = _Header.model_validate_json(rest[:newline])
        except ValidationError:
            return None, damaged
        body = rest[newline + 1:]
        if len(body) != header.samples * 4 or _checksum(header.key, header.text, body) != header.sha256:
            return None, damaged
        if header.key != key:
            return None, "it holds the take of another chunk (moved or copied from another entry)"
        if text is not None and header.text != text:
            return None, "it holds a take of another text"
        audio = np.frombuffer(body, dtype="<f4").astype(np.float32)
        return CachedTake(audio, header.sample_rate, header.tokens, header.heard), ""

    def put(self, key: str, audio: np.ndarray, sample_rate: int, tokens: int | None = None, text: str = "",
            heard: dict[str, dict] | None = None) -> None:
        """Store a take (and what speech recognition heard in it, by model name), replacing any entry of the key.
        What is in the entry's place and is not a cbx entry is left alone (the take is then not stored)."""
        body = np.ascontiguousarray(audio, dtype="<f4").tobytes()
        header = {
            "key": key,
            "text": text,
            "samples": len(body) // 4,
            "sample_rate": sample_rate,
            "sha256": _checksum(key, text, body),
            "tokens": tokens,
            "created": time.time(),
        }
        if heard:
            header["heard"] = heard
        data = MAGIC + json.dumps(header, ensure_ascii=False).encode("utf-8", "surrogatepass") + b"\n" + body
        path = self._path(key)
        with _signals_deferred():
            try:
                if path.parent.is_symlink():
                    raise OSError(f"'{path.parent}' is a link")
                path.parent.mkdir(parents=True, exist_ok=True)
                if os.path.lexists(path) and not _is_ours(path):
                    raise OSError(f"'{path}' is not a cbx entry")
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
        """The files named as entries, in real entry folders (links are not followed)."""
        if not self.root.is_dir():
            return []
        found = []
        with os.scandir(self.root) as prefixes:
            for prefix in prefixes:
                if _PREFIX_RE.fullmatch(prefix.name) and prefix.is_dir(follow_symlinks=False):
                    with os.scandir(prefix.path) as entries:
                        found += [Path(e.path) for e in entries
                                  if _ENTRY_RE.fullmatch(e.name) and e.is_file(follow_symlinks=False)]
        return found

    def info(self) -> CacheInfo:
        entries = self._entries()
        return CacheInfo(self.root, len(entries), sum(p.lstat().st_size for p in entries))

    def clear(self, older_than_days: float | None = None) -> int:
        """Remove the cache's entries, and the unfinished writes a killed run left, that were last used more than
        ``older_than_days`` days ago (all of them without it); returns how many entries. Only what the cache wrote
        goes: a regular file named as an entry (or a temporary write) that starts as an entry does, in an entry
        folder that is a real folder. Nothing is read or removed through a link."""
        cutoff = None if older_than_days is None else time.time() - older_than_days * 86400
        try:
            root = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return 0
        removed = 0
        try:
            for prefix in os.scandir(root):
                if not _PREFIX_RE.fullmatch(prefix.name) or not prefix.is_dir(follow_symlinks=False):
                    continue
                try:
                    folder = os.open(prefix.name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=root)
                except OSError:
                    continue
                try:
                    removed += _clear_folder(folder, prefix.name, cutoff)
                finally:
                    os.close(folder)
        finally:
            os.close(root)
        return removed


def _clear_folder(folder: int, prefix: str, cutoff: float | None) -> int:
    """Remove what `TakeCache.clear` may from one entry folder (an open descriptor); returns how many entries."""
    removed = 0
    for item in os.scandir(folder):
        entry = _ENTRY_RE.fullmatch(item.name) is not None and item.name.startswith(prefix)
        if not (entry or _TEMP_RE.fullmatch(item.name)):
            continue
        try:
            info = os.stat(item.name, dir_fd=folder, follow_symlinks=False)
            if not stat.S_ISREG(info.st_mode) or (cutoff is not None and info.st_mtime >= cutoff):
                continue
            fd = os.open(item.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=folder)
            try:
                start = os.read(fd, len(MAGIC))
            finally:
                os.close(fd)
            ours = start in (MAGIC, *OLD_MAGICS) or (not entry and MAGIC.startswith(start))  # a write cut short
            if ours:
                os.unlink(item.name, dir_fd=folder)
                removed += entry
        except OSError:
            continue
    return removed
