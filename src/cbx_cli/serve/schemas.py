"""cbx's own JSON bodies, which every API's requests are mapped onto. Types only: ranges are checked by the library's
`NarrationOptions`, the one place every option's range lives, so the server, the CLI and library callers refuse the
same values."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Format = Literal["wav", "flac", "mp3", "ogg", "opus", "aac", "m4a", "pcm"]

CONTENT_TYPES = {
    "wav": "audio/wav", "flac": "audio/flac", "mp3": "audio/mpeg", "ogg": "audio/ogg", "opus": "audio/ogg",
    "aac": "audio/aac", "m4a": "audio/mp4", "pcm": "audio/pcm",
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
    retries: int | None = None
    """Re-renders of a bad take; the server's default (2 unless its operator set one) when left out."""
    max_chars: int | None = None
    """Chunk size bound in characters; the preset's when left out."""
    format: Format = "wav"
    sample_rate: int | None = None
    bitrate: str | None = None
    """For mp3, opus and m4a, e.g. "64k"."""
    speed: float = 1.0
    volume: float = 0.0
    webhook: str | None = None
    """`/v2/tts` only: an http(s) URL called once when the job ends."""


class VoiceRequest(_Body):
    """`POST /v1/voices`: a reference recording stored in the library under ``name``."""

    name: str
    reference_audio: str
    replace: bool = False
