"""What the server does with a request, HTTP aside: check it, turn it into the library's `Job`, narrate it with the
shared `Narrator`, encode the audio. Every check the CLI makes is made here too (through `prepare`), and a few
that only a server needs: text length, voice names only from the server's voice libraries (or the operator's voice
folder), reference audio checked (its length from its header first) before it is kept, URLs only to public hosts.
Every API's requests come here as cbx's own `TTSRequest`, with the operator's defaults (`Defaults`) filling what a
request leaves out.

The server's voices live in its data folder, ``voices/``: ``shared/`` holds the operator's (added with ``cbx voices
add NAME FILE --server-data DIR``), which every key may use and none may replace or delete; ``keys/<key id>/`` holds
the voices a key added, which only that key sees. A name is looked up in the key's own voices, then the shared ones.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cbx_cli.api import Job, Narration, Narrator, VoicePrompt
from cbx_cli.config.params import NarrationOptions, check_options
from cbx_cli.errors import CbxError, OutputError, VoiceError, cut
from cbx_cli.files import write_bytes_atomic
from cbx_cli.serve.jobs import Outcome, StorageError
from cbx_cli.serve.schemas import TTSRequest
from cbx_cli.serve.urls import fetch

log = logging.getLogger(__name__)


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
    max_reference_seconds: float = 120.0
    """Seconds of a reference recording, by its header (refused before it is decoded)."""
    concurrent: int = 10
    """Synchronous requests one API key may have in flight."""
    queued: int = 100
    """Queued or running jobs one API key may have."""
    head_seconds: float = 10.0
    """A request's line and headers must arrive within this many seconds (of connecting, or of the last answer)."""
    body_seconds: float = 60.0
    """A request's body must arrive within this many seconds of its headers."""


@dataclass
class Defaults:
    """What the operator sets once for every request (a serve config file, `serve/settings.py`)."""

    voice: str | None = None
    """The shared voice of requests that name none (and what OpenAI's voice names speak with); None: the
    checkpoint's built-in voice."""
    max_tokens: int | None = None
    """Speech tokens at most per chunk, for requests that set none."""
    retries: int | None = None
    """Re-renders of a bad take, for requests that set none (None: the library's 2)."""
    voices_dir: Path | None = None
    """A folder of reference recordings that requests may name by their path inside it (Resonance's voice_key)."""
    public_url: str | None = None
    """The server's address as clients reach it, for absolute URLs (status, media); None: the request's Host."""
    http_webhooks: bool = False
    """Let webhooks that must be https (Pixazo's) be plain http."""
    fields: dict[str, frozenset[str]] = field(default_factory=dict)
    """Per API, the request fields requests may set; an API not named here: all of them."""


@dataclass
class ServeConfig:
    data_dir: Path
    limits: Limits = field(default_factory=Limits)
    allow_private_urls: bool = False
    workers: int = 4
    """Queued jobs narrated at once (their chunks share the engine's batches)."""
    preset: str | None = None
    """The preset of requests that name none."""
    defaults: Defaults = field(default_factory=Defaults)


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
        self.voices_root = voices_root(config.data_dir)
        self.shared = shared_voices(config.data_dir)

    def start(self) -> None:
        for folder in (self.config.data_dir, self.refs, self.scratch, self.outputs):
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                log.error("cannot make the folder %s (%s): requests that write there are refused until it can be "
                          "made", folder, exc.strerror or exc)
        self.narrator.load()

    def check_writable(self) -> None:
        """`StorageError` unless the folders a queued job writes into (its reference, its output) take a new file."""
        for folder in (self.refs, self.outputs):
            try:
                fd, name = tempfile.mkstemp(prefix=".probe-", dir=folder)
                os.close(fd)
                os.unlink(name)
            except OSError as exc:
                raise StorageError(_unwritable(folder, exc)) from None

    # -- voices ---------------------------------------------------------------------------------------------------

    def key_voices(self, key_id: str) -> Path:
        """The voice library of the key ``key_id``."""
        return self.voices_root / "keys" / key_id

    def voice_roots(self, key_id: str) -> tuple[Path, Path]:
        """The libraries a key's voice names are looked up in, in order: its own, then the shared one."""
        return self.key_voices(key_id), self.shared

    def has_voice(self, name: str, key_id: str) -> bool:
        from cbx_cli.api import get_voice

        return any(get_voice(name, root) is not None for root in self.voice_roots(key_id))

    # -- requests → jobs -------------------------------------------------------------------------------------------

    def job(self, req: TTSRequest, max_text: int, prompt: VoicePrompt | None, key_id: str) -> Job:
        """The checked, planned job for cbx's request body (every API's requests become one) of the key ``key_id``
        (whose voices it may name), with the operator's defaults for what it leaves out (``prompt``: its reference
        recording, already kept)."""
        _check_length(req.text, max_text)
        if req.model is not None and req.model != self.narrator.model:
            raise RequestError(f"Model '{req.model}' is not served here; this server runs '{self.narrator.model}'. "
                               "Leave 'model' out or name that one.")
        if req.voice is not None and req.reference_audio is not None:
            raise RequestError("Give either 'voice' or 'reference_audio', not both.")
        defaults = self.config.defaults
        fields = ("language", "exaggeration", "temperature", "cfg_weight", "min_p", "top_p", "top_k",
                  "repetition_penalty", "seed", "max_tokens", "retries", "max_chars", "sample_rate", "speed", "volume")
        values = {name: getattr(req, name) for name in fields}
        values["max_tokens"] = req.max_tokens if req.max_tokens is not None else defaults.max_tokens
        values["retries"] = req.retries if req.retries is not None else defaults.retries
        voice = req.voice
        if voice is None and prompt is None and req.reference_audio is None and defaults.voice is not None:
            from cbx_cli.api import library_voice

            prompt = library_voice(defaults.voice, self.narrator.model, [self.shared])
        options = check_options(NarrationOptions, _label, voice=voice, preset=req.preset or self.config.preset,
                                **{name: value for name, value in values.items() if value is not None})
        if req.bitrate is not None:
            from cbx_cli.api import check_bitrate

            check_bitrate(req.bitrate)
        if prompt is None and req.reference_audio:
            prompt = self.reference(req.reference_audio)
        return self._prepare(req.text, options, prompt, req.markdown, key_id)

    def speaking_voice(self, name: str, key_id: str, stand_ins: frozenset[str] = frozenset()) -> str | None:
        """The voice a request of ``key_id`` naming ``name`` speaks with: ``name`` itself if the key's voices or the
        shared ones have it, else for a name in ``stand_ins`` (another service's voice names) the server's default
        voice (None: the server's default, or built-in)."""
        if name in stand_ins and not self.has_voice(name, key_id):
            return None
        return name

    def voices(self, key_id: str) -> list[dict]:
        """The voices ``key_id`` may name: its own, then the shared ones it has none of the name of; each one's name,
        seconds of reference, when it was added (ISO 8601) and whether it is shared."""
        from cbx_cli.api import list_voices

        own = [{"name": v.name, "seconds": v.seconds, "added": v.added, "shared": False}
               for v in list_voices(self.key_voices(key_id))]
        names = {v["name"] for v in own}
        return own + [{"name": v.name, "seconds": v.seconds, "added": v.added, "shared": True}
                      for v in list_voices(self.shared) if v.name not in names]

    def folder_voice(self, key: str, key_id: str) -> VoicePrompt | None:
        """The recording ``key`` names: a path inside the operator's voice folder (never outside it), else one of
        the voices of ``key_id`` or the shared ones; checked as a voice (its length from its header first). None
        when neither has it."""
        from cbx_cli.api import check_header_length, check_voice

        folder = self.config.defaults.voices_dir
        if folder is not None and key and "\0" not in key and not Path(key).is_absolute():
            root = folder.resolve()
            try:
                path = (root / key).resolve()
                found = path.is_relative_to(root) and path.is_file()
            except (OSError, RuntimeError):  # a name too long, a loop of links
                found = False
            if found:
                check_header_length(path, f"Voice '{cut(key, 80)}'", self.config.limits.max_reference_seconds)
                check_voice(path, self.narrator.model)
                return VoicePrompt(path)
        if self.has_voice(key, key_id):
            from cbx_cli.api import library_voice

            return library_voice(key, self.narrator.model, self.voice_roots(key_id))
        return None

    def _prepare(self, text: str, options: NarrationOptions, prompt: VoicePrompt | None, markdown: bool,
                 key_id: str) -> Job:
        from cbx_cli.api import prepare, script_from_text

        job = prepare(script_from_text(text, markdown=markdown), options, model=self.narrator.model,
                      model_dir=self.narrator.spec.model_dir, cache_dir=self.narrator.cache_dir, voice=prompt,
                      library_only=True, voice_roots=self.voice_roots(key_id))
        others = sorted({c.model for c in job.chunks} - {self.narrator.model})
        if others:
            raise RequestError(f"The script asks for model {', '.join(others)}; this server runs only "
                               f"'{self.narrator.model}'. Remove the directive's model.")
        return job

    def reference(self, value: str) -> VoicePrompt:
        """A reference recording from a URL (public hosts only, unless allowed) or base64, checked as a voice and
        kept in the data folder (so a queued job still has it after a restart)."""
        if value.lower().startswith(("http://", "https://")):
            answer = fetch(value, "reference_audio", self.config.allow_private_urls,
                           max_bytes=self.config.limits.max_reference)
            if answer.status != 200:
                raise VoiceError(f"reference_audio '{cut(value, 80)}' answered HTTP {answer.status}. Check the "
                                 "address.")
            return VoicePrompt(self.keep_reference(answer.body))
        return VoicePrompt(self.keep_reference(_base64(value)))

    def uploaded_voice(self, data: bytes, label: str) -> VoicePrompt:
        """A recording sent in a request (its bytes), checked and kept (`keep_reference`)."""
        return VoicePrompt(self.keep_reference(data, label))

    def keep_reference(self, data: bytes, label: str = "reference_audio") -> Path:
        """Check uploaded audio like a voice file (its length from its header first, so a small file of hours of
        silence is refused before it is decoded), then keep it in the data folder under its digest."""
        from cbx_cli.api import check_audio, check_header_length

        limits = self.config.limits
        if len(data) > limits.max_reference:
            raise RequestError(f"{label} is {len(data):,} bytes; the limit is {limits.max_reference:,}. Use a 5 to "
                               "15 s clip.", 413)
        check_header_length(io.BytesIO(data), label, limits.max_reference_seconds)
        check_audio(io.BytesIO(data), self.narrator.model, label)
        path = self.refs / (hashlib.sha256(data).hexdigest()[:32] + _audio_suffix(data))
        if not path.is_file():
            try:
                write_bytes_atomic(path, data)
            except OutputError:
                raise StorageError(_unwritable(self.refs)) from None
        return path

    # -- jobs → audio ---------------------------------------------------------------------------------------------

    def narrate(self, job: Job, on_progress=None) -> Narration:
        return self.narrator.narrate(job, on_progress=on_progress)

    def run_queued(self, row, progress) -> Outcome:
        """Narrate a claimed /v2 job (its body as stored, its kept reference) into the data folder's outputs."""
        req = TTSRequest(**json.loads(row["request"]))
        prompt = VoicePrompt(self.refs / row["reference"]) if row["reference"] else None
        job = self.job(req, self.config.limits.max_script, prompt, row["key_id"])
        progress(0, len(job.chunks))
        narration = self.narrate(job, on_progress=lambda p: progress(p.done, p.total))
        name = f"{row['id']}.{req.format}"
        data = self.encode(narration, req.format, req.bitrate)
        try:
            write_bytes_atomic(self.outputs / name, data)
        except OutputError:
            raise StorageError(_unwritable(self.outputs)) from None
        return Outcome(name, job_metrics(narration))

    def discard(self, output: str) -> None:
        """Delete a job's output (a job cancelled as it ended)."""
        (self.outputs / output).unlink(missing_ok=True)

    def encode(self, narration: Narration, fmt: str, bitrate: str | None = None) -> bytes:
        """The narration as the bytes of a ``fmt`` file (pcm: raw 16-bit little-endian samples)."""
        from cbx_cli.api import export

        if fmt == "pcm":
            from cbx_cli.api import pcm16

            return pcm16(narration.audio)
        try:
            fd, name = tempfile.mkstemp(prefix="out-", suffix="." + fmt, dir=self.scratch)
        except OSError as exc:
            raise StorageError(_unwritable(self.scratch, exc)) from None
        os.close(fd)
        try:
            export(narration, name, fmt, bitrate=bitrate)
            return Path(name).read_bytes()
        finally:
            Path(name).unlink(missing_ok=True)

    def output_rate(self, job: Job) -> int:
        """The sample rate of the job's audio."""
        return job.options.sample_rate or self.narrator.engine().sample_rate

    def pieces(self, job: Job) -> Iterator[np.ndarray]:
        """The job's audio a take at a time, in chunk order, as takes are ready: each take finished alone (trim,
        speed, loudness, volume, rate) and followed by its pause, so a one-take job gives exactly its narration's
        audio; with more takes the level is set per take rather than over the whole program."""
        from cbx_cli.api import finish_take

        sr_in = self.narrator.engine().sample_rate
        for take in self.narrator.iter_takes(job):
            yield finish_take(job, take, sr_in)

    def encoder(self, fmt: str, sample_rate: int, bitrate: str | None = None):
        """A `StreamEncoder`: audio pieces fed in as they come (a live session's), one ``fmt`` stream out."""
        from cbx_cli.api import StreamEncoder

        return StreamEncoder(fmt, sample_rate, bitrate)

    def stream(self, job: Job, fmt: str, bitrate: str | None = None) -> Iterator[bytes]:
        """The job's audio encoded as one ``fmt`` stream, a take at a time as takes are ready (`pieces`)."""
        from cbx_cli.api import encode_stream

        return encode_stream(self.pieces(job), fmt, self.output_rate(job), bitrate)


def job_metrics(narration: Narration) -> dict:
    """What a job's status and a response's headers report: seconds of work and of audio, chunks and cache hits."""
    return {"inference_seconds": round(narration.wall, 3), "audio_seconds": round(narration.duration, 3),
            "chunks": len(narration.takes), "cached_chunks": narration.stats.cached,
            "rendered_chunks": narration.stats.rendered}


def _check_length(text: str, limit: int) -> None:
    if len(text) > limit:
        raise RequestError(f"The text is {len(text):,} characters; this endpoint takes at most {limit:,}. Split it, "
                           "or send long scripts to POST /v2/tts.")


def voices_root(data_dir: Path) -> Path:
    """Where a server with this data folder keeps its voices."""
    return data_dir / "voices"


def shared_voices(data_dir: Path) -> Path:
    """The voice library every key of a server with this data folder may use (the operator's)."""
    return voices_root(data_dir) / "shared"


def _unwritable(folder: Path, exc: OSError | None = None) -> str:
    why = f" ({exc.strerror or exc})" if exc is not None else ""
    return f"The server's data folder cannot be written: '{folder}'{why}. New work is refused until it can be."


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
