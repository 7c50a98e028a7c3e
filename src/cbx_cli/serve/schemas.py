"""The JSON bodies the server accepts. Types only: ranges are checked by the library's `NarrationOptions`, the one
place every option's range lives, so the server, the CLI and library callers refuse the same values."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Format = Literal["wav", "flac", "mp3", "ogg", "opus", "m4a", "pcm"]

CONTENT_TYPES = {
    "wav": "audio/wav", "flac": "audio/flac", "mp3": "audio/mpeg", "ogg": "audio/ogg", "opus": "audio/ogg",
    "m4a": "audio/mp4", "pcm": "audio/pcm",
}
"""The `Content-Type` of each format; pcm is raw 16-bit little-endian mono at the output rate."""


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TTSRequest(_Body):
    """`POST /v1/tts` and `POST /v2/tts`: text and how to speak it."""

    text: str = Field(min_length=1)
    markdown: bool = False
    """Read ``text`` as a Markdown script: chapters, paragraphs, pauses and ``<!-- cbx: -->`` directives."""
    reference_audio: str | None = None
    """An http(s) URL of a recording, or the recording itself in base64 (a ``data:`` URI is fine too)."""
    voice: str | None = None
    """A name from the server's voice library."""
    preset: str | None = None
    """A preset name; the server's --preset when left out."""
    model: str | None = None
    """The served model's name; any other is refused (one server serves one model)."""
    language: str | None = None
    exaggeration: float | None = None
    temperature: float | None = None
    cfg_weight: float | None = None
    min_p: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    repetition_penalty: float | None = None
    seed: int | None = None
    max_tokens: int | None = None
    """Speech tokens at most per chunk (a bound on the work one chunk can cost)."""
    retries: int = 2
    format: Format = "wav"
    sample_rate: int | None = None
    bitrate: str | None = None
    """For mp3, opus and m4a, e.g. "64k"."""
    speed: float = 1.0
    volume: float = 0.0
    webhook: str | None = None
    """`/v2/tts` only: an http(s) URL called once when the job ends."""


class SpeechRequest(_Body):
    """`POST /v1/audio/speech`, as OpenAI's API takes it."""

    input: str = Field(min_length=1)
    model: str = "tts-1"
    """Accepted and ignored: the server speaks with the model it loaded."""
    voice: str = "alloy"
    """A voice library name; OpenAI's voice names that are not in the library mean the built-in voice."""
    response_format: Format = "mp3"
    speed: float = 1.0
    instructions: str | None = None
    """Accepted and ignored (Chatterbox takes no instructions)."""
    stream_format: Literal["audio"] | None = None


class VoiceRequest(_Body):
    """`POST /v1/voices`: a reference recording stored in the library under ``name``."""

    name: str
    reference_audio: str
    replace: bool = False
