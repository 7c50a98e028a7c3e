"""Reading a file cbx is given or reads back, with bounds checked before a byte is read.

A path may name a FIFO (reading blocks until a writer comes, maybe never), a device (``/dev/zero`` never ends), a
folder, or a sparse file of hundreds of megabytes that takes no disk space. `read_limited` opens without
blocking, checks on the open descriptor that it is a regular file no larger than the caller's limit, and reads no
further than that limit, so what is checked is what is read. Each reader (scripts, YAML, manifests, retake files,
the voice library's records, cache entries, voice recordings) states its own limit and words its own message
around the `FileProblem` raised here.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from pydantic import BaseModel

M = TypeVar("M", bound="BaseModel")

KINDS = {stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device", stat.S_IFIFO: "a FIFO (named pipe)",
         stat.S_IFSOCK: "a socket", stat.S_IFDIR: "a folder", stat.S_IFLNK: "a symbolic link"}
"""What a path that is not a regular file is, in words."""


class FileProblem(Exception):
    """Why a file cannot be read, as the end of a sentence about it: "does not exist", "is a FIFO (named pipe), not
    a regular file", "is 300 MB; at most 50 MB is read"."""

    def __init__(self, reason: str, missing: bool = False, too_large: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.missing = missing
        self.too_large = too_large

    def __str__(self) -> str:
        return self.reason


def size_text(n: int) -> str:
    """A byte count for messages: "300 MB", "64 kB", "12 bytes"."""
    if n >= 1_000_000:
        return f"{n / 1_000_000:.3g} MB"
    if n >= 1000:
        return f"{n / 1000:.3g} kB"
    return f"{n} bytes"


def kind(mode: int) -> str | None:
    """What a non-regular file is ("a FIFO (named pipe)"), or None for a regular file."""
    return None if stat.S_ISREG(mode) else KINDS.get(stat.S_IFMT(mode), "not a regular file")


def read_limited(path: str | Path, limit: int, *, follow_links: bool = True) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them; `FileProblem` for anything else (missing,
    a folder, a FIFO, a device, a socket, larger than ``limit``, unreadable). With ``follow_links`` False a symbolic
    link is refused too (the take cache: what it reads must be what it wrote, in its own folder)."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | (0 if follow_links else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise FileProblem("does not exist", missing=True) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow_links:
            raise FileProblem("is a symbolic link, not a regular file") from None
        if exc.errno == errno.ENXIO:  # a socket, or a FIFO opened for reading never gets here
            raise FileProblem("is a socket, not a regular file") from None
        raise FileProblem(f"cannot be read ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        what = kind(info.st_mode)
        if what is not None:
            raise FileProblem(f"is {what}, not a regular file")
        if info.st_size > limit:
            raise FileProblem(f"is {size_text(info.st_size)}; at most {size_text(limit)} is read", too_large=True)
        os.set_blocking(fd, True)
        chunks, total = [], 0
        while total <= limit:
            try:
                chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            except OSError as exc:
                raise FileProblem(f"cannot be read ({exc.strerror or exc})") from None
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:  # it grew while being read
            raise FileProblem(f"is larger than {size_text(limit)}, the most that is read", too_large=True)
    finally:
        os.close(fd)
    return b"".join(chunks)


def check_regular(path: str | Path, limit: int | None = None) -> os.stat_result:
    """The ``stat`` of ``path`` (links followed) when it is a regular file within ``limit`` bytes; else
    `FileProblem`. For readers that hand the path to a library (a voice recording to libsndfile): nothing is opened,
    so a FIFO cannot block."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise FileProblem("does not exist", missing=True) from None
    except OSError as exc:
        raise FileProblem(f"cannot be read ({exc.strerror or exc})") from None
    what = kind(info.st_mode)
    if what is not None:
        raise FileProblem(f"is {what}, not a regular file")
    if limit is not None and info.st_size > limit:
        raise FileProblem(f"is {size_text(info.st_size)}; at most {size_text(limit)} is read", too_large=True)
    return info


def parse_json(data: bytes) -> Any:
    """JSON as the standard library reads it, with what it lets through refused: NaN and Infinity (not JSON), and
    nesting deep enough to exhaust the recursion limit. ValueError, with a short reason, for anything it refuses."""

    def no_constants(name: str) -> Any:
        raise ValueError(f"it holds {name}, which is not a JSON number")

    try:
        return json.loads(data, parse_constant=no_constants)
    except RecursionError:
        raise ValueError("it nests too deep") from None
    except UnicodeDecodeError:
        raise ValueError("it is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"it is not valid JSON (line {exc.lineno}, column {exc.colno})") from None
    except ValueError as exc:  # a number of thousands of digits, or no_constants
        reason = str(exc)
        raise ValueError(reason if reason.startswith("it holds") else "it holds a number too long to read") from None


def read_record(path: str | Path, schema: type[M], limit: int, what: str, hint: str) -> M:
    """A JSON file cbx wrote and reads back (a manifest, a retake file, a voice's record), read within ``limit``
    bytes and validated by ``schema``; anything else is an `InputError` of one line naming the file (``what`` and
    the path) and, for a bad value, the field, ending with ``hint`` (what to do)."""
    from pydantic import ValidationError

    from cbx_cli.config.params import describe_validation_error
    from cbx_cli.errors import InputError

    label = f"{what} '{path}'"
    try:
        data = parse_json(read_limited(path, limit))
    except FileProblem as problem:
        raise InputError(f"{label} {problem}. {hint}") from None
    except ValueError as exc:
        raise InputError(f"{label} cannot be read: {exc}. {hint}") from None
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise InputError(f"{describe_validation_error(exc, label)} {hint}") from None
