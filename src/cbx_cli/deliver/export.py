"""Program → bytes on disk or stdout. The only stage that touches the output path; writes are atomic."""

from __future__ import annotations

import errno
import io
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from cbx_cli.errors import OutputError, StreamClosed, cut
from cbx_cli.partials import tracked

FORMATS = {
    "wav": ("WAV", "PCM_16"),
    "flac": ("FLAC", "PCM_16"),
    "mp3": ("MP3", "MPEG_LAYER_III"),
    "ogg": ("OGG", "VORBIS"),
}
"""Formats written by libsndfile: name → (soundfile format, subtype)."""


FFMPEG_ONLY = ("aac", "m4a", "m4b", "opus")
"""Formats made with ffmpeg (see delivery.py)."""


def known_formats() -> list[str]:
    return sorted([*FORMATS, *FFMPEG_ONLY])


def format_for(path: str, override: str | None) -> str:
    """The output format: --format if given, else the file's extension."""
    if override:
        fmt = override.lower().lstrip(".")
        if fmt not in known_formats():
            raise OutputError(f"Unknown --format '{override}'. Use one of: {', '.join(known_formats())}.")
        return fmt
    if path == "-":
        return "wav"
    ext = Path(path).suffix.lower().lstrip(".")
    if not ext:
        raise OutputError(
            f"Output '{path}' has no extension. Add one ({', '.join('.' + f for f in known_formats())}) "
            "or pass --format."
        )
    if ext not in known_formats():
        raise OutputError(
            f"Unknown output extension '.{ext}'. Use one of {', '.join('.' + f for f in known_formats())}, "
            "or pass --format."
        )
    return ext


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


def resample(audio: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    if sr_in == sr_out:
        return audio
    import soxr

    return soxr.resample(audio.astype(np.float32), sr_in, sr_out, quality="HQ").astype(np.float32)


def pcm16(audio: np.ndarray) -> bytes:
    """16-bit little-endian samples, the very values libsndfile writes for the same float audio (scaled by 32768,
    rounded down, held in range), so a streamed WAV carries the samples of the file `encode` makes."""
    scaled = np.floor(np.clip(np.asarray(audio, dtype=np.float64), -1.0, 1.0) * 32768.0)
    return np.clip(scaled, -32768, 32767).astype("<i2").tobytes()


def encode(audio: np.ndarray, sr: int, fmt: str) -> bytes:
    """Encode float32 mono audio into the bytes of a file of format ``fmt``."""
    import soundfile as sf

    container, subtype = FORMATS[fmt]
    buf = io.BytesIO()
    clipped = np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0)
    sf.write(buf, clipped, sr, format=container, subtype=subtype)
    return buf.getvalue()


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


def write_stream(data: bytes, stream=None) -> None:
    """Write all of ``data`` to ``stream`` (default: standard output). A reader that stops early (``| head -c 100``)
    is a `StreamClosed` error: a short write is never reported as written."""
    own = stream is None
    stream = os.fdopen(os.dup(1), "wb", buffering=0) if own else stream
    view = memoryview(data)
    done = 0
    try:
        while done < len(view):
            n = stream.write(view[done:])
            done = len(view) if n is None else done + n
        stream.flush()
        _wait_until_read(stream, len(view))
    except OSError as exc:
        if isinstance(exc, BrokenPipeError) or exc.errno in (errno.EPIPE, errno.ECONNRESET):
            raise StreamClosed(len(view)) from None
        raise OutputError(f"Cannot write to stdout: {exc.strerror or exc}.") from None
    finally:
        if own:
            stream.close()


def _wait_until_read(stream, size: int) -> None:
    """A pipe takes what fits in its buffer whether anything reads it or not: wait until the reader has taken every
    byte, so ``| head -c 100`` is an error even when the audio fits in the pipe. Only for a pipe, and only where the
    system tells how much of it is unread (FIONREAD)."""
    try:
        import fcntl
        import select
        import struct
        import termios

        fd = stream.fileno()
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return
        poller = select.poll()
        poller.register(fd, 0)  # no events asked for: only the reader's end closing (POLLERR) is reported
        while struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0] > 0:
            if poller.poll(50):
                raise StreamClosed(size)
    except (AttributeError, ImportError, OSError, ValueError):
        return


def export(audio: np.ndarray, sr: int, path: str, fmt: str, stdout=None) -> None:
    """Write the program to ``path`` (atomically) or, for ``-``, to ``stdout`` as WAV."""
    data = encode(audio, sr, fmt)
    if path == "-":
        write_stream(data, stdout)
        return
    write_bytes_atomic(path, data)
