"""Program → bytes on disk or stdout. The only stage that touches the output path; writes are atomic."""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from cbx_cli.errors import OutputError

FORMATS = {
    "wav": ("WAV", "PCM_16"),
    "flac": ("FLAC", "PCM_16"),
    "mp3": ("MP3", "MPEG_LAYER_III"),
    "ogg": ("OGG", "VORBIS"),
}
"""Formats written by libsndfile: name → (soundfile format, subtype)."""


FFMPEG_ONLY = ("m4a", "m4b", "opus")
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


def check_output_path(path: str) -> None:
    """Fail before any synthesis if the output cannot be written there."""
    if path == "-":
        return
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.exists():
        raise OutputError(f"Output folder '{folder}' does not exist. Create it first (mkdir -p {folder}).")
    if not folder.is_dir():
        raise OutputError(f"Output folder '{folder}' is not a folder.")
    if target.is_dir():
        raise OutputError(f"Output '{path}' is a folder. Give a file name such as {path.rstrip('/')}/out.wav.")
    if not os.access(folder, os.W_OK):
        raise OutputError(f"Output folder '{folder}' is not writable. Choose another -o path.")


def resample(audio: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    if sr_in == sr_out:
        return audio
    import soxr

    return soxr.resample(audio.astype(np.float32), sr_in, sr_out, quality="HQ").astype(np.float32)


def encode(audio: np.ndarray, sr: int, fmt: str) -> bytes:
    """Encode float32 mono audio into the bytes of a file of format ``fmt``."""
    import soundfile as sf

    container, subtype = FORMATS[fmt]
    buf = io.BytesIO()
    clipped = np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0)
    sf.write(buf, clipped, sr, format=container, subtype=subtype)
    return buf.getvalue()


def write_atomic(path: str | Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path`` and move it into place only when complete."""
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent or ".")
    os.close(fd)
    tmp = Path(tmp_name)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files; outputs get the usual permissions
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise OutputError(f"Cannot write '{path}': {exc.strerror or exc}. Free space or choose another path.") \
                from None
        raise


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    write_atomic(path, lambda tmp: tmp.write_bytes(data))


def export(audio: np.ndarray, sr: int, path: str, fmt: str, stdout=None) -> None:
    """Write the program to ``path`` (atomically) or, for ``-``, to ``stdout`` as WAV."""
    data = encode(audio, sr, fmt)
    if path == "-":
        stream = stdout if stdout is not None else os.fdopen(os.dup(1), "wb")
        stream.write(data)
        stream.flush()
        return
    write_bytes_atomic(path, data)
