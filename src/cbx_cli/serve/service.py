"""What the server does with a request, HTTP aside: check it, turn it into the library's `Job`, narrate it with the
shared `Narrator`, encode the audio. Every check the CLI makes is made here too (through `prepare`), and a few
that only a server needs: text length, voice names only from the library, reference audio checked before it is
kept, URLs only to public hosts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cbx_cli.api import Job, Narration, Narrator, VoicePrompt
from cbx_cli.config.params import NarrationOptions, check_options
from cbx_cli.errors import CbxError, VoiceError
from cbx_cli.files import write_bytes_atomic
from cbx_cli.serve.jobs import Outcome
from cbx_cli.serve.schemas import SpeechRequest, TTSRequest
from cbx_cli.serve.urls import check_public_url

OPENAI_VOICES = frozenset({"alloy", "ash", "ballad", "coral", "echo", "fable", "nova", "onyx", "sage", "shimmer",
                           "verse"})
"""OpenAI's voice names: a request naming one that is not in the voice library gets the built-in voice."""


class RequestError(CbxError):
    """A request the server refuses, with the HTTP status to answer."""

    def __init__(self, message: str, status: int = 422, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


@dataclass
class Limits:
    """What one request may ask for."""

    max_text: int = 5000
    """Characters of text in a synchronous request (/v1/tts, /v1/audio/speech)."""
    max_script: int = 200_000
    """Characters of text in a queued job (/v2/tts): long scripts go there."""
    max_body: int = 20_000_000
    """Bytes of a request body (base64 reference audio included)."""
    max_reference: int = 10_000_000
    """Bytes of a reference recording, uploaded or downloaded."""
    concurrent: int = 10
    """Synchronous requests one API key may have in flight."""
    queued: int = 100
    """Queued or running jobs one API key may have."""


@dataclass
class ServeConfig:
    data_dir: Path
    limits: Limits = field(default_factory=Limits)
    allow_private_urls: bool = False
    workers: int = 4
    """Queued jobs narrated at once (their chunks share the engine's batches)."""
    preset: str | None = None
    """The preset of requests that name none (and of every /v1/audio/speech request)."""


def _label(name: str) -> str:
    return f"'{name}'"


class Service:
    """The narrator and the data folder behind the HTTP routes."""

    def __init__(self, narrator: Narrator, config: ServeConfig):
        self.narrator = narrator
        self.config = config
        self.refs = config.data_dir / "references"
        self.scratch = config.data_dir / "tmp"
        self.outputs = config.data_dir / "outputs"

    def start(self) -> None:
        for folder in (self.config.data_dir, self.refs, self.scratch, self.outputs):
            folder.mkdir(parents=True, exist_ok=True)
        self.narrator.load()

    # -- requests → jobs -------------------------------------------------------------------------------------------

    def job(self, req: TTSRequest, max_text: int, prompt: VoicePrompt | None = None) -> Job:
        """The checked, planned job for a /v1/tts or /v2/tts body (``prompt``: its reference, already kept)."""
        _check_length(req.text, max_text)
        if req.model is not None and req.model != self.narrator.model:
            raise RequestError(f"Model '{req.model}' is not served here; this server runs '{self.narrator.model}'. "
                               "Leave 'model' out or name that one.")
        if req.voice is not None and req.reference_audio is not None:
            raise RequestError("Give either 'voice' or 'reference_audio', not both.")
        fields = ("language", "exaggeration", "temperature", "cfg_weight", "min_p", "top_p", "top_k",
                  "repetition_penalty", "seed", "max_tokens", "retries", "sample_rate", "speed", "volume")
        options = check_options(NarrationOptions, _label, voice=req.voice, preset=req.preset or self.config.preset,
                                **{name: getattr(req, name) for name in fields})
        if req.bitrate is not None:
            from cbx_cli.api import check_bitrate

            check_bitrate(req.bitrate)
        if prompt is None and req.reference_audio:
            prompt = self.reference(req.reference_audio)
        return self._prepare(req.text, options, prompt, req.markdown)

    def speech_job(self, req: SpeechRequest) -> Job:
        """The checked, planned job for an OpenAI-style /v1/audio/speech body."""
        _check_length(req.input, self.config.limits.max_text)
        voice = None if req.voice in OPENAI_VOICES and not _in_library(req.voice) else req.voice
        options = check_options(NarrationOptions, _label, voice=voice, speed=req.speed, preset=self.config.preset)
        return self._prepare(req.input, options, None, False)

    def _prepare(self, text: str, options: NarrationOptions, prompt: VoicePrompt | None, markdown: bool) -> Job:
        from cbx_cli.api import prepare, script_from_text

        job = prepare(script_from_text(text, markdown=markdown), options, model=self.narrator.model,
                      model_dir=self.narrator.spec.model_dir, cache_dir=self.narrator.cache_dir, voice=prompt,
                      library_only=True)
        others = sorted({c.model for c in job.chunks} - {self.narrator.model})
        if others:
            raise RequestError(f"The script asks for model {', '.join(others)}; this server runs only "
                               f"'{self.narrator.model}'. Remove the directive's model.")
        return job

    def reference(self, value: str) -> VoicePrompt:
        """A reference recording from a URL (public hosts only, unless allowed) or base64, checked as a voice and
        kept in the data folder (so a queued job still has it after a restart)."""
        from cbx_cli.api import fetch_voice
        from cbx_cli.config.names import is_url

        model = self.narrator.model
        if is_url(value):
            check_public_url(value, "reference_audio", self.config.allow_private_urls)
            fetched = fetch_voice(value, max_bytes=self.config.limits.max_reference, model=model)
            return VoicePrompt(self.keep_reference(fetched.read_bytes()))
        data = _base64(value)
        if len(data) > self.config.limits.max_reference:
            raise RequestError(f"reference_audio is {len(data):,} bytes; the limit is "
                               f"{self.config.limits.max_reference:,}. Use a 5 to 15 s clip.", 413)
        return VoicePrompt(self.keep_reference(data))

    def keep_reference(self, data: bytes) -> Path:
        """Check uploaded audio like a voice file, then keep it in the data folder under its digest."""
        from cbx_cli.api import check_audio

        check_audio(io.BytesIO(data), self.narrator.model, "reference_audio")
        path = self.refs / (hashlib.sha256(data).hexdigest()[:32] + _audio_suffix(data))
        if not path.is_file():
            write_bytes_atomic(path, data)
        return path

    # -- jobs → audio ---------------------------------------------------------------------------------------------

    def narrate(self, job: Job, on_progress=None) -> Narration:
        return self.narrator.narrate(job, on_progress=on_progress)

    def run_queued(self, row, progress) -> Outcome:
        """Narrate a claimed /v2 job (its body as stored, its kept reference) into the data folder's outputs."""
        req = TTSRequest(**json.loads(row["request"]))
        prompt = VoicePrompt(self.refs / row["reference"]) if row["reference"] else None
        job = self.job(req, self.config.limits.max_script, prompt)
        progress(0, len(job.chunks))
        narration = self.narrate(job, on_progress=lambda p: progress(p.done, p.total))
        name = f"{row['id']}.{req.format}"
        write_bytes_atomic(self.outputs / name, self.encode(narration, req.format, req.bitrate))
        return Outcome(name, job_metrics(narration))

    def encode(self, narration: Narration, fmt: str, bitrate: str | None = None) -> bytes:
        """The narration as the bytes of a ``fmt`` file (pcm: raw 16-bit little-endian samples)."""
        from cbx_cli.api import export

        if fmt == "pcm":
            return pcm16(narration.audio)
        fd, name = tempfile.mkstemp(prefix="out-", suffix="." + fmt, dir=self.scratch)
        os.close(fd)
        try:
            export(narration, name, fmt, bitrate=bitrate)
            return Path(name).read_bytes()
        finally:
            Path(name).unlink(missing_ok=True)

    def stream(self, job: Job, fmt: str) -> Iterator[bytes]:
        """wav or pcm, a take at a time in chunk order as takes are ready. Each take is finished alone (trim, speed,
        loudness, volume, rate), so the level is set per take rather than over the whole program."""
        from cbx_cli.api import finish_take

        engine = self.narrator.engine()
        sr_in = engine.sample_rate
        sr = job.options.sample_rate or sr_in
        if fmt == "wav":
            yield wav_header(sr)
        pause = 0.0
        for take in self.narrator.iter_takes(job):
            audio = finish_take(job, take, sr_in)
            yield pcm16(np.concatenate([np.zeros(int(pause * sr), np.float32), audio]))
            pause = take.chunk.pause_after


def job_metrics(narration: Narration) -> dict:
    """What a job's status and a response's headers report: seconds of work and of audio, chunks and cache hits."""
    return {"inference_seconds": round(narration.wall, 3), "audio_seconds": round(narration.duration, 3),
            "chunks": len(narration.takes), "cached_chunks": narration.stats.cached,
            "rendered_chunks": narration.stats.rendered}


def _check_length(text: str, limit: int) -> None:
    if len(text) > limit:
        raise RequestError(f"The text is {len(text):,} characters; this endpoint takes at most {limit:,}. Split it, "
                           "or send long scripts to POST /v2/tts.")


def _in_library(name: str) -> bool:
    from cbx_cli.api import get_voice

    return get_voice(name) is not None


def _base64(value: str) -> bytes:
    if value.startswith("data:"):
        value = value.partition(",")[2]
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise VoiceError("reference_audio is neither an http(s) URL nor valid base64 audio.") from None


def _audio_suffix(data: bytes) -> str:
    """The extension of uploaded audio by its first bytes (decoders that go by name then read it right)."""
    for magic, suffix in ((b"RIFF", ".wav"), (b"fLaC", ".flac"), (b"OggS", ".ogg"), (b"ID3", ".mp3"),
                          (b"FORM", ".aiff"), (b"\xff\xfb", ".mp3"), (b"\xff\xf3", ".mp3")):
        if data.startswith(magic):
            return suffix
    return ".audio"


def pcm16(audio: np.ndarray) -> bytes:
    return (np.clip(audio, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def wav_header(sr: int) -> bytes:
    """A WAV header for 16-bit mono audio of unknown length (sizes set to the maximum, as streaming servers do)."""
    import struct

    return (b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, sr, sr * 2, 2, 16)
            + b"data" + struct.pack("<I", 0xFFFFFFFF))

