"""OpenAI's speech API, as its clients use it (``OpenAI(base_url=".../v1")``): ``POST /v1/audio/speech`` and
``GET /v1/audio/voices``.

Every voice name OpenAI documents speaks with the server's default voice (the built-in one unless the operator set
one), unless the voice library has a voice of that name; ``{"id": NAME}`` names a library voice. wav and pcm
stream a take at a time; the other formats come whole (the same bytes as ``cbx say``); ``stream_format: "sse"``
sends server-sent events, each a piece of the audio in base64, then ``speech.audio.done``. Errors are cbx's
``{"detail": "..."}``, and cbx's x-api-key is read beside OpenAI's Bearer token.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Literal

from fastapi import Depends, FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from cbx_cli.serve.apis import BEARER, Api, detail_body, model_fields, restrict
from cbx_cli.serve.schemas import CONTENT_TYPES, Format, TTSRequest
from cbx_cli.serve.server import Server, audio_headers

VOICES = frozenset({"alloy", "ash", "ballad", "coral", "echo", "fable", "nova", "onyx", "sage", "shimmer", "verse",
                    "marin", "cedar"})
"""OpenAI's documented voice names."""
STREAMED = ("wav", "pcm")
"""Formats sent a take at a time without ``stream_format: "sse"``; the others come whole."""


class VoiceId(BaseModel):
    """A custom voice by id: a voice library name here."""

    id: str


class SpeechRequest(BaseModel):
    """`POST /v1/audio/speech`, as OpenAI's API takes it."""

    model_config = ConfigDict(extra="forbid")

    input: str = Field(min_length=1)
    model: str = "tts-1"
    """Accepted and ignored: the server speaks with the model it loaded."""
    voice: str | VoiceId = "alloy"
    response_format: Format = "mp3"
    speed: float = 1.0
    instructions: str | None = None
    """Accepted and ignored (Chatterbox takes no instructions)."""
    stream_format: Literal["audio", "sse"] | None = None


API = Api("openai", ("x-api-key", BEARER), detail_body, 401, 403, model_fields(SpeechRequest),
          frozenset({"input"}))


def to_cbx(service, req: SpeechRequest, key_id: str) -> TTSRequest:
    voice = req.voice.id if isinstance(req.voice, VoiceId) else service.speaking_voice(req.voice, key_id, VOICES)
    return TTSRequest(text=req.input, voice=voice, speed=req.speed, format=req.response_format)


def events(audio: Iterator[bytes]) -> Iterator[bytes]:
    """OpenAI's server-sent events: ``speech.audio.delta`` with each piece in base64, then ``speech.audio.done``."""
    for piece in audio:
        yield _event({"type": "speech.audio.delta", "audio": base64.b64encode(piece).decode()})
    yield _event({"type": "speech.audio.done", "usage": {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}})


def _event(data: dict) -> bytes:
    return f"data: {json.dumps(data)}\n\n".encode()


def install(app: FastAPI, server: Server) -> None:
    service = server.service
    key = server.key(API)

    @app.post("/v1/audio/speech")
    async def speech(req: SpeechRequest, key_id: str = Depends(key)):
        req = restrict(API, req, server.config.defaults.fields.get(API.name))
        cbx_req = await run_in_threadpool(to_cbx, service, req, key_id)
        if req.stream_format == "sse":
            return StreamingResponse(events(await server.stream(key_id, cbx_req)), media_type="text/event-stream")
        if req.response_format in STREAMED:
            return StreamingResponse(await server.stream(key_id, cbx_req),
                                     media_type=CONTENT_TYPES[req.response_format])
        data, narration = await server.audio(key_id, cbx_req)
        return Response(data, media_type=CONTENT_TYPES[req.response_format], headers=audio_headers(narration))

    @app.get("/v1/audio/voices")
    async def voices(key_id: str = Depends(key)):
        """Every voice name the speech route takes: the library's voices, then OpenAI's names (each with the voice
        it speaks as)."""
        library = await run_in_threadpool(service.voices, key_id)
        names = {v["name"] for v in library}
        default = server.config.defaults.voice
        data = [{"id": v["name"], "name": v["name"], "object": "audio.voice", "type": "audio_sample",
                 "created_at": _epoch(v["added"])} for v in library]
        data += [{"id": name, "name": name, "object": "audio.voice", "type": "builtin", "created_at": 0,
                  "speaks_as": default or "built-in"} for name in sorted(VOICES - names)]
        return {"object": "list", "data": data}


def _epoch(added: str) -> int:
    from datetime import datetime

    try:
        return int(datetime.fromisoformat(added.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return 0
