"""Segmind's Chatterbox API, as its SDK (`segmind` >= 1.1: `run`, `run_sync`, `submit_async` + `job.wait`) and its
documented requests use it, with the key in ``x-api-key``:

- ``POST /v1/chatterbox-tts`` (and ``chatterbox-turbo-tts``): the audio (MP3), synchronously;
- ``POST /v2/chatterbox-tts``: queued; answers ``{request_id, status_url, response_url}`` (absolute URLs);
- ``GET /v2/requests/{id}/status``: QUEUED, PROCESSING, COMPLETED or FAILED;
- ``GET /v2/requests/{id}`` (shared with cbx's own status route): the result, ``{status, output, metrics}`` with
  ``output`` the audio's URL; a FAILED request is answered 422 with its ``error``, as Segmind does.

Errors are ``{"error": "..."}``. Fields a request leaves out take the server's preset, not Segmind's defaults.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from cbx_cli.serve.apis import Api, model_fields, note_extra, note_once, restrict
from cbx_cli.serve.schemas import CONTENT_TYPES, TTSRequest
from cbx_cli.serve.server import JobReport, Server, audio_headers

SLUGS = ("chatterbox-tts", "chatterbox-turbo-tts")
FORMAT = "mp3"
"""What Segmind answers with (audio/mpeg)."""


class SegmindRequest(BaseModel):
    """The body of both slugs (turbo's ``top_k`` and ``norm_loudness`` included); unknown fields are ignored."""

    model_config = ConfigDict(extra="allow")

    text: str = Field(min_length=1)
    reference_audio: str | None = None
    """An http(s) URL of the voice to clone (or base64 of the recording)."""
    exaggeration: float | None = None
    temperature: float | None = None
    seed: int | None = None
    cfg_weight: float | None = None
    min_p: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    repetition_penalty: float | None = None
    norm_loudness: bool | None = None
    """Accepted and ignored: cbx always sets the loudness."""


def error_body(status: int, message: str) -> dict[str, Any]:
    return {"error": message}


API = Api("segmind", ("x-api-key",), error_body, 401, 401, model_fields(SegmindRequest), frozenset({"text"}))


def to_cbx(req: SegmindRequest) -> TTSRequest:
    if req.norm_loudness is not None:
        note_once(API.name, "norm_loudness", "has no effect: cbx always normalizes loudness")
    values = req.model_dump(exclude={"norm_loudness"}, exclude_none=True)
    values = {name: value for name, value in values.items() if name in TTSRequest.model_fields}
    return TTSRequest(**values, format=FORMAT)


def result(server: Server, row: sqlite3.Row, base: str) -> tuple[int, dict[str, Any]]:
    """``GET /v2/requests/{id}`` for a job Segmind's API queued: its status code and body."""
    body: dict[str, Any] = {"request_id": row["id"], "status": row["status"]}
    if row["status"] == "FAILED":
        return 422, {**body, "error": row["error"]}
    if row["status"] == "COMPLETED":
        metrics = json.loads(row["metrics"]) if row["metrics"] else {}
        body.update(output=server.media_url(row, base),
                    metrics={"inference_time": metrics.get("inference_seconds"), **metrics})
    return 200, body


def install(app: FastAPI, server: Server) -> None:
    key = server.key(API)

    def checked(req: SegmindRequest) -> TTSRequest:
        note_extra(API, req)
        return to_cbx(restrict(API, req, server.config.defaults.fields.get(API.name)))

    for slug in SLUGS:
        @app.post(f"/v1/{slug}", name=f"segmind-{slug}")
        async def run_sync(req: SegmindRequest, key_id: str = Depends(key)):
            cbx_req = checked(req)
            data, narration = await server.audio(key_id, cbx_req)
            return Response(data, media_type=CONTENT_TYPES[FORMAT], headers=audio_headers(narration))

        @app.post(f"/v2/{slug}", name=f"segmind-{slug}-queued")
        async def submit(req: SegmindRequest, request: Request, key_id: str = Depends(key)):
            queued = await server.submit(request, key_id, checked(req), api=API.name)
            url = f"{queued.base_url}/v2/requests/{queued.id}"
            return {"request_id": queued.id, "status": "QUEUED", "status_url": f"{url}/status", "response_url": url}

    @app.get("/v2/requests/{job_id}/status")
    async def job_status(job_id: str, key_id: str = Depends(key)):
        row = server.owned(job_id, key_id)
        body = {"request_id": row["id"], "status": row["status"]}
        if row["status"] == "FAILED":
            return JSONResponse({**body, "error": row["error"]}, status_code=422)
        return body

    server.reports[API.name] = JobReport(lambda row, base: result(server, row, base)[1])
