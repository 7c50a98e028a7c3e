"""Files cbx writes, atomically, and files it reads, within bounds.

Writing. Every file cbx writes (outputs, manifests, subtitles, retake picks, a server's jobs) goes through
`write_atomic`: a temporary file beside the target, moved into place only when complete, never over what is not a
regular file. The checks here (`check_output_path`, `probe_folder`) run before any synthesis, so a path that cannot
be written fails at once. An atomic write removes its own temporary file when it fails or is interrupted. The one
exit that skips that clean-up is the immediate one a second Ctrl-C asks for (`cbx_cli.cli.signals`): it removes
these first, so no ``.part`` file outlives any run.

Reading. A path may name a FIFO (reading blocks until a writer comes, maybe never), a device (``/dev/zero`` never
ends), a folder, or a sparse file of hundreds of megabytes that takes no disk space. `read_limited` opens without
blocking, checks on the open descriptor that it is a regular file no larger than the caller's limit, and reads no
further than that limit, so what is checked is what is read. Each reader (scripts, YAML, manifests, retake files,
the voice library's records, cache entries, voice recordings) states its own limit and words its own message
around the `FileProblem` raised here.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from cbx_cli.errors import OutputError, cut

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


def check_output_path(path: str, flag: str = "-o") -> None:
    """Fail before any synthesis if the output cannot be written there: a missing or read-only folder, a name too
    long for the file system (or for the temporary name beside it), a folder or a non-regular file in its place."""
    if path == "-":
        return
    try:
        _check_output_path(Path(path), flag)
    except OSError as exc:  # a path the system refuses outright (too long, a loop of links)
        raise OutputError(f"{flag} '{cut(path, 120)}' cannot be used: {exc.strerror or exc}. Choose another path.") \
            from None


def _check_output_path(target: Path, flag: str) -> None:
    path = str(target)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.exists():
        raise OutputError(f"Output folder '{folder}' does not exist. Create it first (mkdir -p {folder}).")
    if not folder.is_dir():
        raise OutputError(f"Output folder '{folder}' is not a folder.")
    _check_name(folder, target.name, flag)
    if target.is_dir():
        raise OutputError(f"Output '{path}' is a folder. Give a file name such as {path.rstrip('/')}/out.wav.")
    check_regular(target, flag)
    if not os.access(folder, os.W_OK):
        raise OutputError(f"Output folder '{folder}' is not writable. Choose another {flag} path.")
    probe_folder(folder, target.name, flag)


KINDS = {stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device", stat.S_IFIFO: "a FIFO (named pipe)",
         stat.S_IFSOCK: "a socket", stat.S_IFDIR: "a folder", stat.S_IFLNK: "a symbolic link"}
"""What a path that is not a regular file is, in words."""


def kind(mode: int) -> str | None:
    """What a non-regular file is ("a FIFO (named pipe)"), or None for a regular file."""
    return None if stat.S_ISREG(mode) else KINDS.get(stat.S_IFMT(mode), "not a regular file")


def check_regular(path: Path, flag: str = "-o") -> None:
    """An output may be a regular file or not exist yet, never a device, FIFO, socket or folder: replacing one with a
    file destroys it (as root, ``-o /dev/null``), and streaming goes through ``-o -``. Links are followed."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise OutputError(f"{flag} '{path}' cannot be used: {exc.strerror or exc}. Choose another path.") from None
    what = kind(mode)
    if what is not None:
        raise OutputError(
            f"{flag} '{path}' is {what}, not a regular file: cbx writes whole files and will not replace it. "
            "Use -o - to stream the audio to stdout."
        )


def _temp_prefix(name: str) -> str:
    """The start of an atomic write's temporary name: short enough that any name the file system takes still
    leaves room for it."""
    return f".{name[:40]}."


def _check_name(folder: Path, name: str, flag: str) -> None:
    limit = _name_max(folder)
    size = len(os.fsencode(name))
    if size > limit:
        raise OutputError(
            f"{flag} name '{cut(name, 48)}' is too long: {size} bytes, and this file system allows {limit}. "
            "Choose a shorter name."
        )


def probe_folder(folder: Path, name: str, flag: str = "-o") -> None:
    """Create and remove the temporary file an atomic write of ``folder/name`` starts with, so a read-only file
    system or a name too long fails now, not after the render."""
    _check_name(folder, name, flag)
    try:
        fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(name), suffix=".part", dir=folder)
    except OSError as exc:
        raise OutputError(f"Cannot write in '{folder}': {exc.strerror or exc}. Choose another {flag} path.") from None
    os.close(fd)
    os.unlink(tmp)


def _name_max(folder: Path) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def write_atomic(path: str | Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path`` and move it into place only when complete.

    A link at ``path`` is written through (its target is replaced, as a shell's ``>`` would write it), and what is
    there is checked again just before the move: a FIFO or device that appeared meanwhile is never replaced.
    """
    shown_path = path
    path = Path(os.path.realpath(path))
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=_temp_prefix(path.name), suffix=".part", dir=path.parent)
    except OSError as exc:
        raise OutputError(f"Cannot write '{shown_path}': {exc.strerror or exc}. Choose another path.") from None
    os.close(fd)
    tmp = Path(tmp_name)
    umask = os.umask(0)
    os.umask(umask)
    try:
        with tracked(tmp):
            os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files; outputs get the usual permissions
            write(tmp)
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            check_regular(path)
            os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise OutputError(f"Cannot write '{shown_path}': {exc.strerror or exc}. Free space or choose another "
                              "path.") from None
        raise


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    write_atomic(path, lambda tmp: tmp.write_bytes(data))


def write_text(path: str | Path, text: str) -> None:
    """A UTF-8 text output (manifest, subtitles, summary), written atomically."""
    write_bytes_atomic(path, text.encode("utf-8"))


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


def stat_regular(path: str | Path, limit: int | None = None) -> os.stat_result:
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
