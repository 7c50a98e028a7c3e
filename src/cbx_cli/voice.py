"""Voice references: checks on a recording before a model sees it, downloads from URLs, and `--voice` resolution."""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import re
import socket
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cbx_cli import paths
from cbx_cli.errors import VoiceError

log = logging.getLogger(__name__)

MIN_SECONDS = {"original": 1.0, "multilingual": 1.0, "turbo": 5.0}
SILENCE_DBFS = -60.0

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif")
CONTENT_TYPES = {
    "audio/wav": ".wav", "audio/x-wav": ".wav", "audio/wave": ".wav", "audio/vnd.wave": ".wav",
    "audio/flac": ".flac", "audio/x-flac": ".flac", "audio/ogg": ".ogg", "audio/opus": ".opus",
    "audio/mpeg": ".mp3", "audio/mp3": ".mp3", "audio/aiff": ".aiff", "audio/x-aiff": ".aiff",
}
DOWNLOAD_CHUNK = 64 * 1024
VOICE_NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,40}")
"""What a voice library name may be: letters, digits, '-' and '_', 1 to 40 characters."""


class _NotAudio(VoiceError):
    """The file cannot be decoded as audio (as opposed to too short or silent)."""


def check_voice(path: Path, model: str = "original") -> float:
    """Fail with one clear line unless ``path`` is decodable, non-silent audio of usable length.

    Returns its duration in seconds.
    """
    if not path.exists():
        raise VoiceError(f"Voice file '{path}' does not exist. Pass a WAV/FLAC/MP3 recording with --voice.")
    if not path.is_file():
        raise VoiceError(f"Voice '{path}' is not a file. Pass an audio recording with --voice.")
    return _check_audio(path, model, f"Voice file '{path}'")


def _check_audio(path: Path, model: str, label: str) -> float:
    """Decode ``path`` and check its length and level; ``label`` starts every message ("Voice file 'x'")."""
    import soundfile as sf

    try:
        audio, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError):
        raise _NotAudio(f"{label} is not readable audio. Use a WAV, FLAC, OGG or MP3 recording.") from None
    seconds = audio.shape[0] / float(sr) if sr else 0.0
    need = MIN_SECONDS.get(model, 1.0)
    if seconds < need:
        raise VoiceError(
            f"{label} is {seconds:.1f} s long; the {model} model needs at least {need:.0f} s "
            "of clean speech (5 to 15 s works best)."
        )
    mono = audio.mean(axis=1)
    peak = float(np.max(np.abs(mono))) if mono.size else 0.0
    if peak <= 10 ** (SILENCE_DBFS / 20):
        raise VoiceError(f"{label} is silent. Record or choose a clip with speech in it.")
    return seconds


# -- voices from URLs ----------------------------------------------------------------------------


def is_url(value: str) -> bool:
    return value.lower().startswith(("http://", "https://"))


def voice_cache_dir() -> Path:
    return paths.cache_dir() / "voices"


def _url_key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


def _cached(url: str) -> Path | None:
    folder = voice_cache_dir()
    if not folder.is_dir():
        return None
    for candidate in sorted(folder.glob(_url_key(url) + ".*")):
        if candidate.is_file():
            return candidate
    return None


def _suffix(url: str, content_type: str | None) -> str:
    suffix = Path(urllib.parse.urlsplit(url).path).suffix.lower()
    if suffix in AUDIO_SUFFIXES:
        return suffix
    mime = (content_type or "").split(";")[0].strip().lower()
    return CONTENT_TYPES.get(mime, ".audio")


def _size(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:g} MB"
    if n >= 1000:
        return f"{n / 1000:g} kB"
    return f"{n} bytes"


def _reason(exc: BaseException, timeout: float) -> str:
    """A short human reason for a network failure."""
    if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, BaseException):
        exc = exc.reason
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, socket.gaierror):
        return "host not found"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[0].lower() + exc.strerror[1:]
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    if isinstance(exc, http.client.HTTPException):
        return "the server broke off the transfer"
    return str(exc) or type(exc).__name__


def _cannot_download(url: str, reason: str) -> VoiceError:
    return VoiceError(
        f"Cannot download voice from {url}: {reason}. Check the address or your connection, or pass a local file."
    )


def _too_large(url: str, max_bytes: int) -> VoiceError:
    return VoiceError(
        f"Voice URL '{url}' is larger than {_size(max_bytes)}. Use a short clip: 5 to 15 s of speech is enough."
    )


def fetch_voice(url: str, timeout: float = 15.0, max_bytes: int = 20_000_000, *, model: str = "original") -> Path:
    """Download a voice recording once into the user cache and return the cached file (checked as audio).

    The file is named by a hash of the URL; a later call with the same URL reads the cache and does not
    touch the network. A download that is not audio is deleted.
    """
    if not is_url(url):
        raise VoiceError(f"Voice URL '{url}' is not an http:// or https:// address. Pass a URL or a local file.")
    label = f"Voice URL '{url}'"
    path = _cached(url)
    if path is None:
        path = _download(url, timeout, max_bytes)
    try:
        _check_audio(path, model, label)
    except _NotAudio:
        path.unlink(missing_ok=True)
        raise
    return path


def _download(url: str, timeout: float, max_bytes: int) -> Path:
    from cbx_cli import __version__

    request = urllib.request.Request(url, headers={"User-Agent": f"cbx/{__version__}"})
    folder = voice_cache_dir()
    try:
        response = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 - http(s) only, checked above
    except urllib.error.HTTPError as exc:
        exc.close()
        raise VoiceError(
            f"Voice URL '{url}' returned HTTP {exc.code} ({exc.reason}). Check the address, or pass a local file."
        ) from None
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        raise _cannot_download(url, _reason(exc, timeout)) from None
    with response:
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise _too_large(url, max_bytes)
        target = folder / (_url_key(url) + _suffix(response.geturl() or url, response.headers.get("Content-Type")))
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
        tmp = Path(tmp_name)
        try:
            received = 0
            with os.fdopen(fd, "wb") as out:
                while True:
                    block = response.read(DOWNLOAD_CHUNK)
                    if not block:
                        break
                    received += len(block)
                    if received > max_bytes:
                        raise _too_large(url, max_bytes)
                    out.write(block)
            if received == 0:
                raise _NotAudio(f"Voice URL '{url}' is not readable audio: the server sent nothing. "
                                "Use a WAV, FLAC, OGG or MP3 recording.")
            os.replace(tmp, target)
        except (http.client.HTTPException, OSError, ValueError) as exc:
            raise _cannot_download(url, _reason(exc, timeout)) from None
        finally:
            tmp.unlink(missing_ok=True)
    log.debug("downloaded %s to %s", url, target)
    return target


# -- --voice: a URL, a file or a library name ----------------------------------------------------


@dataclass(frozen=True)
class VoiceRef:
    """The voice a run uses: an audio file, and for a library voice its name and conditioning folder."""

    path: Path
    """The reference recording (checked)."""
    name: str | None = None
    """The library voice's name; None for a file or URL."""
    conds_dir: Path | None = None
    """Where stored conditioning files live (``conds-<model>-<checkpoint>.pt``); None outside the library."""


def resolve_voice(arg: str | None, model: str) -> VoiceRef | None:
    """What ``--voice`` names: an http(s) URL, an existing file, or a voice in the library; None for none."""
    if arg is None:
        return None
    if is_url(arg):
        return VoiceRef(fetch_voice(arg, model=model))
    path = Path(arg).expanduser()
    if path.exists():
        check_voice(path, model)
        return VoiceRef(path)
    if VOICE_NAME_RE.fullmatch(arg):
        from cbx_cli.voices import get_voice

        voice = get_voice(arg)
        if voice is None:
            raise VoiceError(
                f"Unknown voice '{arg}': not a file and not in your voice library. "
                f"Add it with: cbx voices add {arg} FILE"
            )
        check_voice(voice.reference, model)
        return VoiceRef(voice.reference, voice.name, voice.dir)
    check_voice(path, model)  # raises: it does not exist
    return VoiceRef(path)
