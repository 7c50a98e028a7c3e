"""Fish Audio's TTS API, as its SDK (`fish-audio-sdk`: `FishAudio(...).tts.convert`, `.stream`,
`.stream_websocket`) and raw requests use it: ``POST /v1/tts`` with a MessagePack (or JSON) body and
``Authorization: Bearer KEY``, the audio streamed back as it is made; and the WebSocket ``/v1/tts/live``, where text
arrives in pieces (an LLM's tokens) and is spoken a sentence at a time as each one completes.

``POST /v1/tts`` is also cbx's own route (`app.py`): a request is Fish's when its body is MessagePack, it sends
Fish's ``model`` header, or it sets a field only Fish has; then Fish's fields are read beside cbx's own and mapped
onto them, and errors are Fish's ``{"status", "message"}``. The ``model`` header names a Fish model: any value is
accepted and logged once (the server speaks with the model it loaded). Fields Chatterbox has no use for are
accepted and ignored, each named once in the log.

msgpack reads the bodies: the format Fish's clients send, small and with no dependencies of its own.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cbx_cli.api import VoicePrompt
from cbx_cli.errors import CbxError, cut
from cbx_cli.serve.apis import BEARER, Api, model_fields, note_extra, note_once, restrict
from cbx_cli.serve.schemas import CONTENT_TYPES, TTSRequest
from cbx_cli.serve.server import Server
from cbx_cli.serve.service import RequestError

log = logging.getLogger(__name__)

MSGPACK_TYPES = ("application/msgpack", "application/x-msgpack", "application/vnd.msgpack")
TOKEN_CAP = 1000
"""Chatterbox's own cap on speech tokens per chunk: a ``max_new_tokens`` at or over it bounds nothing."""
STREAMED = ("mp3", "wav", "pcm", "opus", "aac", "flac", "ogg")


class Reference(BaseModel):
    """A recording to clone the voice of (its transcript is not needed by Chatterbox)."""

    audio: bytes | str
    """The recording's bytes (MessagePack), or base64 of them (JSON)."""
    text: str = ""


class Prosody(BaseModel):
    speed: float = 1.0
    volume: float = 0.0


class FishFields(BaseModel):
    """The fields only Fish's request has."""

    reference_id: str | None = None
    """A voice library name."""
    references: list[Reference] | None = None
    mp3_bitrate: Literal[64, 128, 192] | None = None
    opus_bitrate: Literal[-1000, 24, 32, 48, 64] | None = None
    prosody: Prosody | None = None
    normalize: bool | None = None
    latency: Literal["normal", "balanced", "low"] | None = None
    chunk_length: Annotated[int, Field(ge=100, le=300)] | None = None
    """The chunk bound in characters."""
    max_new_tokens: int | None = None
    min_chunk_length: int | None = None
    condition_on_previous_chunks: bool | None = None
    early_stop_threshold: float | None = None


class FishTTS(FishFields, TTSRequest):
    """A Fish request on /v1/tts: Fish's fields beside cbx's own; fields neither knows are ignored (and logged)."""

    model_config = ConfigDict(extra="allow")


class LiveRequest(FishFields):
    """The ``request`` of a WebSocket ``start`` event."""

    model_config = ConfigDict(extra="allow")

    text: str = ""
    format: Literal["mp3", "wav", "pcm", "opus"] = "mp3"
    sample_rate: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    repetition_penalty: float | None = None


def error_body(status: int, message: str) -> dict[str, Any]:
    return {"status": status, "message": message}


FISH_ONLY = model_fields(FishFields)
API = Api("fish", (BEARER,), error_body, 401, 401, model_fields(FishTTS) | model_fields(LiveRequest),
          frozenset({"text"}))
IGNORED = ("latency", "normalize", "min_chunk_length", "condition_on_previous_chunks", "early_stop_threshold")


def fish_headers(headers: Mapping[str, str]) -> bool:
    """Whether the headers alone say the request is Fish's (MessagePack, or Fish's `model` header)."""
    kind = headers.get("content-type", "").split(";")[0].strip().lower()
    return kind in MSGPACK_TYPES or "model" in headers


def shared_key(server: Server, cbx: Api):
    """The key dependency of the shared /v1/tts: Fish's header for a request whose headers are Fish's, cbx's
    otherwise."""

    def key_id(request: Request) -> str:
        api = API if fish_headers(request.headers) else cbx
        request.state.api = api
        return server.authorize(request, api)

    key_id.api = cbx  # type: ignore[attr-defined]
    return key_id


async def read(request: Request, cbx: Api, fields: Mapping[str, frozenset[str]]) -> TTSRequest | FishTTS:
    """The body of a /v1/tts request: cbx's `TTSRequest`, or a `FishTTS` for a Fish request."""
    raw = await request.body()
    packed = request.headers.get("content-type", "").split(";")[0].strip().lower() in MSGPACK_TYPES
    data = _decode(raw, packed)
    fish = packed or "model" in request.headers or any(name in FISH_ONLY for name in data)
    api = API if fish else cbx
    request.state.api = api
    try:
        req = (FishTTS if fish else TTSRequest).model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None
    if fish:
        note_extra(API, req)
        if "model" in request.headers:
            note_once("fish", f"model: {cut(request.headers['model'], 40)}", "(a Fish model) is accepted; this "
                      "server speaks with the model it loaded")
    return restrict(api, req, fields.get(api.name))


def _decode(raw: bytes, packed: bool) -> dict:
    if not raw:
        raise RequestError("A body is required: MessagePack or JSON.", 400)
    if packed:
        import msgpack

        try:
            data = msgpack.unpackb(raw, raw=False)
        except (ValueError, msgpack.UnpackException, TypeError):
            raise RequestError("The body is not valid MessagePack.", 400) from None
    else:
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise RequestError("The body is not valid JSON.", 400) from None
    if not isinstance(data, dict):
        raise RequestError("The body must be a JSON object (or a MessagePack map).", 400)
    return data


def to_cbx(service, req: FishFields, text: str | None = None,
           prompt: VoicePrompt | None = None) -> tuple[TTSRequest, VoicePrompt | None]:
    """cbx's request for a Fish one (``text`` instead of its own), with the reference recording it sends kept (or
    ``prompt``, one kept already). cbx's own fields win over Fish's where both are set."""
    given = req.model_fields_set
    own = {name: getattr(req, name) for name in TTSRequest.model_fields if name in given and hasattr(req, name)}
    for name in IGNORED:
        if name in given and getattr(req, name) is not None:
            note_once("fish", name, "has no use in Chatterbox; ignored")
    fmt = own.get("format", "mp3")
    if fmt not in STREAMED:
        raise RequestError(f"Format '{fmt}' cannot be streamed; use one of {', '.join(STREAMED)}.")
    voice = own.get("voice")
    if req.reference_id:
        if voice is not None and voice != req.reference_id:
            raise RequestError("Give either 'reference_id' or 'voice', not both.")
        voice = req.reference_id
    if req.references:
        if voice is not None:
            raise RequestError("Give either 'references' or 'reference_id', not both.")
        if prompt is None:
            prompt = service.uploaded_voice(_audio(req.references[0].audio), "references[0].audio")
        if len(req.references) > 1:
            note_once("fish", "references[1:]", "are ignored: Chatterbox clones one recording (the first)")
        if req.references[0].text:
            note_once("fish", "references[].text", "is not needed by Chatterbox; ignored")
    if req.prosody is not None:
        own.setdefault("speed", req.prosody.speed)
        own.setdefault("volume", req.prosody.volume)
    if "bitrate" not in own:
        kbps = req.mp3_bitrate if fmt == "mp3" else req.opus_bitrate if fmt == "opus" else None
        if kbps is not None and kbps > 0:
            own["bitrate"] = f"{kbps}k"
    if "max_tokens" not in own and req.max_new_tokens is not None and req.max_new_tokens < TOKEN_CAP:
        own["max_tokens"] = req.max_new_tokens
    if "max_chars" not in own and req.chunk_length is not None:
        own["max_chars"] = req.chunk_length
    own.update(format=fmt, voice=voice, text=text if text is not None else own.get("text"))
    try:
        return TTSRequest.model_validate(own), prompt
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None


def _audio(value: bytes | str) -> bytes:
    if isinstance(value, bytes):
        return value
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise RequestError("references[0].audio is neither audio bytes (MessagePack) nor base64 (JSON).") from None


async def answer(server: Server, key_id: str, req: FishTTS) -> StreamingResponse:
    """Fish's answer: the audio streamed, a take at a time as takes are made."""
    cbx_req, prompt = await run_in_threadpool(to_cbx, server.service, req)
    body = await server.stream(key_id, cbx_req, prompt)
    return StreamingResponse(body, media_type=CONTENT_TYPES[cbx_req.format])


def install(app: FastAPI, server: Server) -> None:
    @app.websocket("/v1/tts/live")
    async def live(socket: WebSocket):
        try:
            key_id = server.authorize(socket, API)
        except RequestError:
            await socket.close(code=1008, reason="Invalid or missing API key")
            return
        await socket.accept()
        try:
            slot = server.inflight.hold(key_id)
        except RequestError as exc:
            await _finish(socket, "error", exc.message)
            return
        session = Live(server, socket, key_id)
        try:
            await session.run()
        except WebSocketDisconnect:
            pass
        finally:
            session.close()
            slot.release()


class Live:
    """One WebSocket session: events in, text buffered until sentences complete, their audio out as one stream."""

    def __init__(self, server: Server, socket: WebSocket, key_id: str):
        self.server = server
        self.socket = socket
        self.key_id = key_id
        self.request: LiveRequest | None = None
        self.prompt: VoicePrompt | None = None
        self.encoder = None
        self.buffer = ""

    async def run(self) -> None:
        while True:
            event = await self._receive()
            if event is None:
                return
            kind = event.get("event")
            try:
                if kind == "start":
                    await self._start(event.get("request") or {})
                elif kind == "text":
                    self._require_start()
                    self.buffer += str(event.get("text") or "")
                    from cbx_cli.api import complete_sentences

                    done, self.buffer = complete_sentences(self.buffer)
                    if not done and len(self.buffer) >= self.server.config.limits.max_text:
                        done, self.buffer = self.buffer, ""  # no sentence end in sight: spoken as it stands
                    await self._speak(done)
                elif kind == "flush":
                    self._require_start()
                    await self._speak(self.buffer)
                    self.buffer = ""
                elif kind == "stop":
                    self._require_start()
                    await self._speak(self.buffer)
                    self.buffer = ""
                    tail = await run_in_threadpool(self.encoder.finish)
                    await self._audio(tail)
                    await _finish(self.socket, "stop")
                    return
                else:
                    raise RequestError(f"Unknown event '{cut(str(kind), 30)}'; send start, text, flush or stop.")
            except (CbxError, RequestValidationError, ValidationError) as exc:
                message = exc.message if isinstance(exc, CbxError) else f"Bad start request: {_first(exc)}"
                log.warning("fish live session: %s", message)
                await _finish(self.socket, "error", message)
                return

    async def _receive(self) -> dict | None:
        message = await self.socket.receive()
        if message["type"] == "websocket.disconnect":
            return None
        import msgpack

        try:
            data = msgpack.unpackb(message["bytes"], raw=False) if message.get("bytes") is not None \
                else json.loads(message.get("text") or "")
        except (ValueError, msgpack.UnpackException, TypeError):
            data = None
        if not isinstance(data, dict):
            await _finish(self.socket, "error", "Each message must be a MessagePack map (or JSON object) with an "
                          "'event'.")
            return None
        return data

    def _require_start(self) -> None:
        if self.request is None:
            raise RequestError("Send a 'start' event with the request first.")

    async def _start(self, request: dict) -> None:
        req = restrict(API, LiveRequest.model_validate(request),
                       self.server.config.defaults.fields.get(API.name))
        note_extra(API, req)
        # checked now, with a stand-in text, so a bad request fails at the start; its reference is kept once
        cbx_req, self.prompt = await run_in_threadpool(to_cbx, self.server.service, req, "start")
        self.request = req
        rate = cbx_req.sample_rate or self.server.service.narrator.engine().sample_rate
        self.encoder = self.server.service.encoder(cbx_req.format, rate, cbx_req.bitrate)
        self.buffer = req.text

    async def _speak(self, text: str) -> None:
        """Narrate ``text`` (whole sentences) and send its audio as it is encoded."""
        if not text.strip():
            return
        service = self.server.service
        cbx_req, _ = await run_in_threadpool(to_cbx, service, self.request, text, self.prompt)
        job = await run_in_threadpool(service.job, cbx_req, service.config.limits.max_text, self.prompt, self.key_id)
        pieces = service.pieces(job)
        while (piece := await run_in_threadpool(next, pieces, None)) is not None:
            await self._audio(await run_in_threadpool(self.encoder.feed, piece))

    async def _audio(self, data: bytes) -> None:
        if data:
            import msgpack

            await self.socket.send_bytes(msgpack.packb({"event": "audio", "audio": data, "time": 0}))

    def close(self) -> None:
        if self.encoder is not None:
            self.encoder.close()


async def _finish(socket: WebSocket, reason: str, message: str | None = None) -> None:
    import msgpack

    event: dict[str, Any] = {"event": "finish", "reason": reason}
    if message:
        event["message"] = message
    try:
        await socket.send_bytes(msgpack.packb(event))
        await socket.close(code=1000 if reason == "stop" else 1011)
    except (RuntimeError, WebSocketDisconnect):
        pass


def _first(exc: RequestValidationError | ValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return "invalid"
    first = errors[0]
    return f"{'.'.join(str(p) for p in first.get('loc', ()))}: {first.get('msg', '')}"
