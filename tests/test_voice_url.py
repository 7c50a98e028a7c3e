"""Voices from http(s) URLs: downloaded once into the cache, size-capped, checked; one clear line per failure.

All traffic goes to a local server on 127.0.0.1.
"""

from __future__ import annotations

import io
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from cbx_cli.config import paths
from cbx_cli.engine.base import VoicePrompt
from cbx_cli.errors import VoiceError
from cbx_cli.voices.fetch import fetch_voice
from cbx_cli.voices.reference import resolve_voice
from clirun import run


def wav_bytes(seconds: float = 6.0, sr: int = 16000) -> bytes:
    t = np.arange(int(seconds * sr)) / sr
    audio = (0.3 * np.sin(2 * np.pi * 180 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)
    buf = io.BytesIO()
    sf.write(buf, audio, sr, format="WAV", subtype="PCM_16")
    return buf.getvalue()


VOICE = wav_bytes()
SHORT = wav_bytes(2.0)


class Server:
    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.fixable = SHORT
        lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                with lock:
                    owner.hits[self.path] += 1
                if self.path in ("/voice.wav", "/voice", "/other.wav"):
                    self.reply(200, VOICE, "audio/wav")
                elif self.path == "/short.wav":
                    self.reply(200, SHORT, "audio/wav")
                elif self.path == "/big.wav":
                    self.reply(200, VOICE, "audio/wav")
                elif self.path == "/big-unsized.wav":
                    self.reply(200, VOICE, "audio/wav", length=False)
                elif self.path == "/notes.txt":
                    self.reply(200, b"These are not the voices you are looking for.\n", "text/plain")
                elif self.path == "/broken.wav":
                    self.reply(500, b"oops", "text/plain")
                elif self.path == "/fixable.wav":
                    self.reply(200, owner.fixable, "audio/wav")
                elif self.path == "/slow.wav":  # a byte every 0.2 s: each read is quick, the download never ends
                    self.send_response(200)
                    self.send_header("Content-Length", "100000")
                    self.end_headers()
                    for _ in range(100):
                        try:
                            self.wfile.write(b"R")
                            self.wfile.flush()
                        except OSError:
                            return
                        time.sleep(0.2)
                else:
                    self.reply(404, b"not here", "text/plain")

            def reply(self, code: int, body: bytes, kind: str, length: bool = True) -> None:
                self.send_response(code)
                self.send_header("Content-Type", kind)
                if length:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return self.base + path

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


def closed_port_url() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/voice.wav"


def voice_error(fn, *args, **kwargs) -> str:
    with pytest.raises(VoiceError) as info:
        fn(*args, **kwargs)
    return info.value.message


def cached_files() -> list[Path]:
    folder = paths.cache_dir() / "voices"
    return sorted(folder.iterdir()) if folder.exists() else []


def test_download_is_cached_and_reused(server):
    url = server.url("/voice.wav")
    path = fetch_voice(url)
    assert path.parent == paths.cache_dir() / "voices"
    assert path.suffix == ".wav" and path.read_bytes() == VOICE
    assert cached_files() == [path]  # no temporary file left behind
    assert fetch_voice(url) == path
    ref = resolve_voice(url, "original")
    assert ref == VoicePrompt(path)
    assert server.hits["/voice.wav"] == 1


def test_suffix_from_content_type(server):
    path = fetch_voice(server.url("/voice"))
    assert path.suffix == ".wav"
    assert fetch_voice(server.url("/voice")) == path and server.hits["/voice"] == 1


def test_http_404(server):
    url = server.url("/missing.wav")
    assert voice_error(fetch_voice, url) == (
        f"Voice URL '{url}' returned HTTP 404 (Not Found). Check the address, or pass a local file."
    )
    assert voice_error(resolve_voice, server.url("/broken.wav"), "original") == (
        f"Voice URL '{server.url('/broken.wav')}' returned HTTP 500 (Internal Server Error). "
        "Check the address, or pass a local file."
    )
    assert cached_files() == []


@pytest.mark.parametrize("path", ["/big.wav", "/big-unsized.wav"])
def test_too_large(server, path):
    url = server.url(path)
    assert voice_error(fetch_voice, url, max_bytes=50_000) == (
        f"Voice URL '{url}' is larger than 50 kB. Use a short clip: 5 to 15 s of speech is enough."
    )
    assert cached_files() == []
    assert fetch_voice(url, max_bytes=len(VOICE)).read_bytes() == VOICE  # at the cap is fine


def test_default_cap_is_20_mb(server, monkeypatch):
    monkeypatch.setattr("cbx_cli.voices.fetch.DOWNLOAD_CHUNK", 1024)
    url = server.url("/big.wav")
    from cbx_cli.voices import fetch as voice

    real = voice._download

    def spy(url, timeout, max_bytes):
        assert max_bytes == 20_000_000
        return real(url, timeout, 1000)

    monkeypatch.setattr(voice, "_download", spy)
    assert voice_error(fetch_voice, url) == (
        f"Voice URL '{url}' is larger than 1 kB. Use a short clip: 5 to 15 s of speech is enough."
    )
    assert voice._size(20_000_000) == "20 MB"


def test_not_audio_is_deleted(server):
    url = server.url("/notes.txt")
    message = f"Voice URL '{url}' is not readable audio. Use a WAV, FLAC, OGG or MP3 recording."
    assert voice_error(fetch_voice, url) == message
    assert cached_files() == []
    assert voice_error(fetch_voice, url) == message
    assert server.hits["/notes.txt"] == 2  # nothing cached, so it is fetched again


def test_too_short_for_the_model(server):
    url = server.url("/short.wav")
    assert voice_error(resolve_voice, url, "turbo") == (
        f"Voice URL '{url}' is 2.0 s long; the turbo model needs at least 5 s of clean speech (5 to 15 s works best)."
    )
    assert cached_files() == []  # a rejected download is not cached
    assert resolve_voice(url, "original").path.read_bytes() == SHORT  # long enough for original: fetched, cached
    assert resolve_voice(url, "original").path.read_bytes() == SHORT
    assert server.hits["/short.wav"] == 2


def test_unreachable():
    url = closed_port_url()
    assert voice_error(fetch_voice, url, timeout=5) == (
        f"Cannot download voice from {url}: connection refused. Check the address or your connection, "
        "or pass a local file."
    )


def test_timeout():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:  # accepts connections, never answers
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/voice.wav"
        assert voice_error(fetch_voice, url, timeout=0.3) == (
            f"Cannot download voice from {url}: no answer within 0.3 s. Check the address or your connection, "
            "or pass a local file."
        )


def test_not_a_url():
    assert voice_error(fetch_voice, "ftp://example.com/v.wav") == (
        "Voice URL 'ftp://example.com/v.wav' is not an http:// or https:// address. Pass a URL or a local file."
    )


def test_resolve_files_and_names(tmp_path, monkeypatch):
    assert resolve_voice(None, "original") is None
    wav = tmp_path / "me.wav"
    wav.write_bytes(VOICE)
    assert resolve_voice(str(wav), "original") == VoicePrompt(wav)
    monkeypatch.chdir(tmp_path)
    assert resolve_voice("me.wav", "original") == VoicePrompt(Path("me.wav"))
    assert voice_error(resolve_voice, "hero", "original") == (
        "Unknown voice 'hero': not a file and not in your voice library. Add it with: cbx voices add hero FILE"
    )
    assert voice_error(resolve_voice, "nope.wav", "original") == (
        "Voice file 'nope.wav' does not exist. Pass a WAV/FLAC/MP3 recording with --voice."
    )
    (tmp_path / "junk.wav").write_text("not audio")
    assert voice_error(resolve_voice, "junk.wav", "original") == (
        "Voice file 'junk.wav' is not readable audio. Use a WAV, FLAC, OGG or MP3 recording."
    )


def test_resolve_library_voice(tmp_path):
    from cbx_cli.voices.library import add_voice

    wav = tmp_path / "me.wav"
    wav.write_bytes(VOICE)
    voice = add_voice("hero", str(wav), "original")
    assert resolve_voice("hero", "original") == VoicePrompt(voice.reference, "hero")


# -- through the CLI (needs cli.py to resolve --voice with resolve_voice) -------------------------------


def one_error_line(result, expected: str) -> None:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [f"cbx: error: {expected}"]
    assert "Traceback" not in result.output


def test_cli_voice_url_errors(server, tmp_path):
    out = tmp_path / "out.wav"
    missing = server.url("/missing.wav")
    one_error_line(
        run(["say", "Hi.", "-o", str(out), "--voice", missing]),
        f"Voice URL '{missing}' returned HTTP 404 (Not Found). Check the address, or pass a local file.",
    )
    notes = server.url("/notes.txt")
    one_error_line(
        run(["say", "Hi.", "-o", str(out), "--voice", notes]),
        f"Voice URL '{notes}' is not readable audio. Use a WAV, FLAC, OGG or MP3 recording.",
    )
    gone = closed_port_url()
    one_error_line(
        run(["say", "Hi.", "-o", str(out), "--voice", gone]),
        f"Cannot download voice from {gone}: connection refused. Check the address or your connection, "
        "or pass a local file.",
    )
    one_error_line(
        run(["say", "Hi.", "-o", str(out), "--voice", "hero"]),
        "Unknown voice 'hero': not a file and not in your voice library. Add it with: cbx voices add hero FILE",
    )
    assert not out.exists()


def test_download_time_is_limited_as_a_whole(server, monkeypatch):
    monkeypatch.setattr("cbx_cli.voices.fetch.DOWNLOAD_SECONDS", 1.0)
    url = server.url("/slow.wav")
    started = time.monotonic()
    assert voice_error(fetch_voice, url, timeout=5) == (
        f"Cannot download voice from {url}: it took longer than 1 s. Check the address or your connection, or "
        "download it yourself and pass the file."
    )
    assert time.monotonic() - started < 3
    assert cached_files() == []  # no .part left behind


def test_a_rejected_download_is_not_cached(server):
    url = server.url("/fixable.wav")
    assert "is 2.0 s long" in voice_error(fetch_voice, url, model="turbo")
    assert cached_files() == []
    server.fixable = VOICE  # the server is fixed: the next run gets the new clip
    assert fetch_voice(url, model="turbo").read_bytes() == VOICE
    assert server.hits["/fixable.wav"] == 2


def test_a_cached_copy_that_fails_its_check_is_fetched_again(server):
    url = server.url("/voice.wav")
    path = fetch_voice(url)
    path.write_bytes(b"damaged")
    assert fetch_voice(url).read_bytes() == VOICE
    assert server.hits["/voice.wav"] == 2 and cached_files() == [path]
