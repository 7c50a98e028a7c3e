"""Voice recordings from http(s) URLs: downloaded once into the user cache, with a time limit and a size cap.

urllib, not a third-party client: one GET with redirects needs nothing more, and its handlers let the download's
sockets be shut down when the time limit is reached.
"""

from __future__ import annotations

import functools
import hashlib
import http.client
import io
import logging
import os
import socket
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from cbx_cli.config import paths
from cbx_cli.config.names import is_url
from cbx_cli.errors import VoiceError
from cbx_cli.files import tracked
from cbx_cli.net import Deadline
from cbx_cli.voices.audio import _NotAudio, check_audio

log = logging.getLogger(__name__)

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif")
CONTENT_TYPES = {
    "audio/wav": ".wav", "audio/x-wav": ".wav", "audio/wave": ".wav", "audio/vnd.wave": ".wav",
    "audio/flac": ".flac", "audio/x-flac": ".flac", "audio/ogg": ".ogg", "audio/opus": ".opus",
    "audio/mpeg": ".mp3", "audio/mp3": ".mp3", "audio/aiff": ".aiff", "audio/x-aiff": ".aiff",
}
DOWNLOAD_CHUNK = 64 * 1024
DOWNLOAD_SECONDS = 60.0
"""The whole download, from connecting to the last byte, must end within this many seconds."""


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

    The file is named by a hash of the URL; a later call with the same URL reads the cache and does not touch the
    network. The download is held in memory and checked (decodable, long enough for ``model``, not silent, finite
    samples) before it is stored, so a rejected one is never cached; a cached copy that fails the check is
    dropped and fetched again once. The whole download must finish within `DOWNLOAD_SECONDS`.
    """
    if not is_url(url):
        raise VoiceError(f"Voice URL '{url}' is not an http:// or https:// address. Pass a URL or a local file.")
    label = f"Voice URL '{url}'"
    path = _cached(url)
    if path is not None:
        try:
            check_audio(path, model, label)
            return path
        except VoiceError:
            path.unlink(missing_ok=True)  # stale or unusable for this model: fetched again below
    data, suffix = _download(url, timeout, max_bytes)
    check_audio(io.BytesIO(data), model, label)
    target = voice_cache_dir() / (_url_key(url) + suffix)
    _store(target, data)
    log.debug("downloaded %s to %s", url, target)
    return target


def _store(target: Path, data: bytes) -> None:
    """Write a checked download into the cache atomically (a ``.part`` file only while it is written)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with tracked(tmp):
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, target)
    except OSError as exc:
        raise VoiceError(f"Cannot store the voice in '{target.parent}': {exc.strerror or exc}.") from None
    finally:
        tmp.unlink(missing_ok=True)


class _Watched:
    """An http.client connection whose socket a `Deadline` can shut down."""

    def __init__(self, *args, deadline: Deadline, **kwargs):
        super().__init__(*args, **kwargs)
        self.deadline = deadline

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        self.deadline.watch(self.sock)  # type: ignore[attr-defined]


class _WatchedHTTP(_Watched, http.client.HTTPConnection):
    pass


class _WatchedHTTPS(_Watched, http.client.HTTPSConnection):
    pass


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, deadline: Deadline):
        super().__init__()
        self.deadline = deadline

    def http_open(self, req):
        return self.do_open(functools.partial(_WatchedHTTP, deadline=self.deadline), req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, deadline: Deadline):
        super().__init__()
        self.deadline = deadline

    def https_open(self, req):
        return self.do_open(functools.partial(_WatchedHTTPS, deadline=self.deadline), req, context=self._context)


def _download(url: str, timeout: float, max_bytes: int) -> tuple[bytes, str]:
    """The body at ``url`` (at most ``max_bytes``, within `DOWNLOAD_SECONDS`) and the file suffix it should get."""
    from cbx_cli import __version__

    request = urllib.request.Request(url, headers={"User-Agent": f"cbx/{__version__}"})
    deadline = Deadline(DOWNLOAD_SECONDS)
    opener = urllib.request.build_opener(_HTTPHandler(deadline), _HTTPSHandler(deadline))
    try:
        try:
            response = opener.open(request, timeout=min(timeout, DOWNLOAD_SECONDS))
        except urllib.error.HTTPError as exc:
            exc.close()
            raise VoiceError(
                f"Voice URL '{url}' returned HTTP {exc.code} ({exc.reason}). Check the address, or pass a local file."
            ) from None
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
            raise _failed(url, exc, timeout, deadline) from None
        with response:
            data = _receive(response, url, timeout, max_bytes, deadline)
            suffix = _suffix(response.geturl() or url, response.headers.get("Content-Type"))
    finally:
        deadline.cancel()
    return data, suffix


def _receive(response, url: str, timeout: float, max_bytes: int, deadline: Deadline) -> bytes:
    declared = response.headers.get("Content-Length")
    expected = int(declared) if declared and declared.isdigit() else None
    if expected is not None and expected > max_bytes:
        raise _too_large(url, max_bytes)
    blocks: list[bytes] = []
    received = 0
    while True:
        try:
            block = response.read1(DOWNLOAD_CHUNK)  # one read at a time: a trickle cannot hold a read open
        except (http.client.HTTPException, OSError, ValueError) as exc:
            raise _failed(url, exc, timeout, deadline) from None
        if deadline.passed:
            raise _too_slow(url, deadline.seconds)
        if not block:
            break
        received += len(block)
        if received > max_bytes:
            raise _too_large(url, max_bytes)
        blocks.append(block)
    if expected is not None and received < expected:
        raise _cannot_download(url, "the server broke off the transfer")
    if received == 0:
        raise _NotAudio(f"Voice URL '{url}' is not readable audio: the server sent nothing. "
                        "Use a WAV, FLAC, OGG or MP3 recording.")
    return b"".join(blocks)


def _failed(url: str, exc: BaseException, timeout: float, deadline: Deadline) -> VoiceError:
    return _too_slow(url, deadline.seconds) if deadline.passed else _cannot_download(url, _reason(exc, timeout))


def _too_slow(url: str, seconds: float) -> VoiceError:
    return VoiceError(
        f"Cannot download voice from {url}: it took longer than {seconds:g} s. Check the address or your "
        "connection, or download it yourself and pass the file."
    )
