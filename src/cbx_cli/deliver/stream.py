"""Audio encoded as it is made: pieces of float audio in, the bytes of one continuous file out, a piece at a time.

wav and pcm are written here: a WAV header of unknown length (sizes at their maximum, as streaming servers send
them), then 16-bit samples, the very samples `export.encode` writes. Every other format goes through one ffmpeg
process per stream, fed 16-bit samples on its stdin while a thread drains its stdout, so a piece's encoded bytes
come out as soon as ffmpeg has them and neither pipe can fill up and stall the other. m4a/m4b cannot be streamed
(MP4 needs its index written at the end, on a seekable file).
"""

from __future__ import annotations

import queue
import struct
import subprocess
import threading
from collections.abc import Iterable, Iterator

import numpy as np

from cbx_cli.deliver.export import pcm16
from cbx_cli.errors import OutputError

STREAMED = ("wav", "pcm", "mp3", "opus", "aac", "flac", "ogg")
"""Formats that can be written as a stream."""
_FFMPEG = {  # format → (codec, muxer, extra output options)
    "mp3": ("libmp3lame", "mp3", ["-write_xing", "0", "-id3v2_version", "0"]),
    "opus": ("libopus", "ogg", ["-ar", "48000"]),
    "aac": ("aac", "adts", []),
    "flac": ("flac", "flac", []),
    "ogg": ("libvorbis", "ogg", ["-q:a", "4"]),  # libvorbis refuses most fixed bitrates for 24 kHz mono
}
_NO_BITRATE = ("flac", "ogg")
_READ = 16 * 1024
SETTLE = 0.2
"""Seconds `feed` waits for ffmpeg's first bytes of a piece, so a piece's audio leaves with it rather than with the
next one."""


def wav_header(sr: int) -> bytes:
    """A WAV header for 16-bit mono audio of unknown length."""
    return (b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, sr, sr * 2, 2, 16)
            + b"data" + struct.pack("<I", 0xFFFFFFFF))


class StreamEncoder:
    """One stream of ``fmt`` at ``sample_rate``: `feed` takes a piece of audio and returns the bytes ready so far,
    `finish` the rest; `close` ends it early (ffmpeg is stopped). ``bitrate`` as ffmpeg takes it ("64k")."""

    def __init__(self, fmt: str, sample_rate: int, bitrate: str | None = None):
        if fmt not in STREAMED:
            raise OutputError(f"Format '{fmt}' cannot be streamed; use one of {', '.join(STREAMED)}.")
        self.fmt = fmt
        self.sample_rate = sample_rate
        self._head = wav_header(sample_rate) if fmt == "wav" else b""
        self._proc: subprocess.Popen | None = None
        self._out: queue.Queue[bytes | None] = queue.Queue()
        self._reader: threading.Thread | None = None
        if fmt in _FFMPEG:
            self._start(bitrate)

    def _start(self, bitrate: str | None) -> None:
        from cbx_cli.deliver.ffmpeg import DEFAULT_BITRATES, check_bitrate, require_ffmpeg

        exe = require_ffmpeg(self.fmt)
        codec, muxer, extra = _FFMPEG[self.fmt]
        cmd = [exe, "-nostdin", "-hide_banner", "-loglevel", "error", "-probesize", "32", "-analyzeduration", "0",
               "-f", "s16le", "-ar", str(self.sample_rate), "-ac", "1", "-i", "pipe:0", "-c:a", codec]
        if self.fmt not in _NO_BITRATE:
            cmd += ["-b:a", check_bitrate(bitrate) if bitrate else DEFAULT_BITRATES.get(self.fmt, "128k")]
        cmd += [*extra, "-flush_packets", "1", "-f", muxer, "pipe:1"]
        try:
            self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=subprocess.DEVNULL)
        except OSError as exc:
            raise OutputError(f"Cannot run ffmpeg ({exe}): {exc.strerror or exc}.") from None
        self._reader = threading.Thread(target=self._drain, name="cbx-encoder", daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        while block := self._proc.stdout.read1(_READ):
            self._out.put(block)
        self._out.put(None)

    def _ready(self, wait: float = 0.0) -> bytes:
        """What ffmpeg has written so far, waiting up to ``wait`` seconds for its first block."""
        blocks = []
        while True:
            try:
                block = self._out.get(timeout=wait) if wait and not blocks else self._out.get_nowait()
            except queue.Empty:
                break
            if block is None:
                self._out.put(None)  # seen again by `finish`
                break
            blocks.append(block)
        return b"".join(blocks)

    def feed(self, audio: np.ndarray) -> bytes:
        """Encode one more piece; the encoded bytes ready now (for wav, the header comes with the first)."""
        samples = pcm16(audio)
        if self._proc is None:
            head, self._head = self._head, b""
            return head + samples
        try:
            assert self._proc.stdin is not None
            self._proc.stdin.write(samples)
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise OutputError(f"ffmpeg stopped while encoding .{self.fmt}.") from None
        return self._ready(SETTLE)

    def finish(self) -> bytes:
        """The end of the stream: every byte not yet returned."""
        if self._proc is None:
            head, self._head = self._head, b""
            return head
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.close()
        except OSError:
            pass
        blocks = []
        while (block := self._out.get()) is not None:
            blocks.append(block)
        if self._proc.wait() != 0:
            raise OutputError(f"ffmpeg failed to encode .{self.fmt}.")
        return b"".join(blocks)

    def close(self) -> None:
        """Stop early (the listener left): ffmpeg is killed; safe to call after `finish`."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()


def encode_stream(pieces: Iterable[np.ndarray], fmt: str, sample_rate: int, bitrate: str | None = None
                  ) -> Iterator[bytes]:
    """The bytes of ``pieces`` encoded as one ``fmt`` stream, yielded as each piece is encoded."""
    encoder = StreamEncoder(fmt, sample_rate, bitrate)
    try:
        for piece in pieces:
            data = encoder.feed(piece)
            if data:
                yield data
        data = encoder.finish()
        if data:
            yield data
    finally:
        encoder.close()
