"""Program → bytes on disk or stdout: formats, encoding, the stream to stdout. Files are written atomically
(`cbx_cli.files`)."""

from __future__ import annotations

import errno
import io
import os
import stat
from pathlib import Path

import numpy as np

from cbx_cli.errors import OutputError, StreamClosed
from cbx_cli.files import write_bytes_atomic

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
