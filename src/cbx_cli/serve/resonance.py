"""Resonance's Chatterbox service on Modal (a FastAPI app around Chatterbox-Turbo), as its documented requests use
it: ``POST /generate`` with the key in ``x-api-key``, a JSON body (``prompt``, ``voice_key``, sampling values,
``norm_loudness``), the audio as ``audio/wav``.

``voice_key`` names a recording by its path inside the operator's voice folder (the serve config's ``voices_dir``;
never a path outside it) or a voice library name. Errors are as that service gives them: 403
``{"detail": "Invalid API key"}`` for a missing or wrong key, 400 ``{"detail": "Voice not found at '...'"}``, 422
with FastAPI's list of ``{loc, msg, type}``, 500 ``{"detail": "Failed to generate audio: ..."}``. With turbo
served, paralinguistic tags in the prompt (``[chuckle]``, ``[laugh]``, ``[sigh]``...) are spoken.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from cbx_cli.config.params import RepetitionPenalty, Temperature, TopK, TopP
from cbx_cli.errors import CbxError, ModelError, OutputError, RenderError, VoiceError
from cbx_cli.serve.apis import Api, model_fields, note_extra, note_once, restrict
from cbx_cli.serve.schemas import CONTENT_TYPES, TTSRequest
from cbx_cli.serve.server import Server, audio_headers
from cbx_cli.serve.service import RequestError

log = logging.getLogger(__name__)


class GenerateRequest(BaseModel):
    """The service's body, its bounds those of cbx's settings (fields left out take the server's preset)."""

    model_config = ConfigDict(extra="allow")

    prompt: str = Field(min_length=1, max_length=5000)
    voice_key: str = Field(min_length=1, max_length=300)
    temperature: Temperature | None = None
    top_p: TopP | None = None
    top_k: TopK | None = None
    repetition_penalty: RepetitionPenalty | None = None
    norm_loudness: bool | None = None
    """Accepted and ignored: cbx always normalizes loudness."""


def error_body(status: int, message: str) -> dict[str, Any]:
    if status == 422:
        return {"detail": [{"type": "value_error", "loc": ["body"], "msg": message, "input": None}]}
    return {"detail": message}


API = Api("resonance", ("x-api-key",), error_body, 403, 403, model_fields(GenerateRequest), frozenset({"prompt"}),
          validation_body=lambda errors: {"detail": errors}, missing_text="Invalid API key")


def install(app: FastAPI, server: Server) -> None:
    service = server.service

    @app.post("/generate", responses={200: {"content": {"audio/wav": {}}}})
    async def generate(req: GenerateRequest, key_id: str = Depends(server.key(API))):
        note_extra(API, req)
        req = restrict(API, req, server.config.defaults.fields.get(API.name))
        if req.norm_loudness is not None:
            note_once(API.name, "norm_loudness", "has no effect: cbx always normalizes loudness")
        prompt = None
        if req.voice_key is not None:
            try:
                prompt = await run_in_threadpool(service.folder_voice, req.voice_key, key_id)
            except VoiceError as exc:
                raise RequestError(f"Failed to generate audio: {exc.message}", 500) from None
            if prompt is None:
                raise RequestError(f"Voice not found at '{req.voice_key}'", 400)
        cbx_req = TTSRequest(text=req.prompt, temperature=req.temperature, top_p=req.top_p, top_k=req.top_k,
                             repetition_penalty=req.repetition_penalty, format="wav")
        try:
            data, narration = await server.audio(key_id, cbx_req, prompt)
        except (RenderError, OutputError, ModelError) as exc:  # the refusal's own log line names it
            raise RequestError(f"Failed to generate audio: {exc.message}", 500) from None
        except (RequestError, CbxError):
            raise
        except Exception as exc:
            log.debug("POST /generate failed", exc_info=exc)  # the refusal's log line is the one at the default level
            raise RequestError(f"Failed to generate audio: {type(exc).__name__}", 500) from None
        return Response(data, media_type=CONTENT_TYPES["wav"], headers=audio_headers(narration))
