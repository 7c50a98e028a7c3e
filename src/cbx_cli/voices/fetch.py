"""Voice recordings from http(s) URLs: downloaded once into the user cache, with a timeout and a size cap."""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import socket
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from cbx_cli.config import paths
from cbx_cli.errors import VoiceError
from cbx_cli.voices.audio import _check_audio, _NotAudio

log = logging.getLogger(__name__)

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif")
CONTENT_TYPES = {
    "audio/wav": ".wav", "audio/x-wav": ".wav", "audio/wave": ".wav", "audio/vnd.wave": ".wav",
    "audio/flac": ".flac", "audio/x-flac": ".flac", "audio/ogg": ".ogg", "audio/opus": ".opus",
    "audio/mpeg": ".mp3", "audio/mp3": ".mp3", "audio/aiff": ".aiff", "audio/x-aiff": ".aiff",
}
DOWNLOAD_CHUNK = 64 * 1024


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
