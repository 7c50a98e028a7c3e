"""Files written atomically, and the temporary files on their way to becoming them, known while they exist.

Every file cbx writes (outputs, manifests, subtitles, retake picks, a server's jobs) goes through `write_atomic`: a
temporary file beside the target, moved into place only when complete, never over what is not a regular file. The
checks here (`check_output_path`, `probe_folder`) run before any synthesis, so a path that cannot be written fails
at once. An atomic write removes its own temporary file when it fails or is interrupted. The one exit that skips that
clean-up is the immediate one a second Ctrl-C asks for (`cbx_cli.cli.signals`): it removes these first, so no
``.part`` file outlives any run.
"""

from __future__ import annotations

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


NOT_REGULAR = {stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device", stat.S_IFIFO: "a FIFO (named pipe)",
               stat.S_IFSOCK: "a socket", stat.S_IFDIR: "a folder"}


def check_regular(path: Path, flag: str = "-o") -> None:
    """An output may be a regular file or not exist yet, never a device, FIFO, socket or folder: replacing one with a
    file destroys it (as root, ``-o /dev/null``), and streaming goes through ``-o -``. Links are followed."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise OutputError(f"{flag} '{path}' cannot be used: {exc.strerror or exc}. Choose another path.") from None
    kind = NOT_REGULAR.get(stat.S_IFMT(mode))
    if kind is not None:
        raise OutputError(
            f"{flag} '{path}' is {kind}, not a regular file: cbx writes whole files and will not replace it. "
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
