"""Pixazo's Chatterbox API, as its documented requests use it, with the key in ``Ocp-Apim-Subscription-Key``:

- ``POST /chatterbox-text-to-speech/v1/chatterbox-text-to-speech-request``: queued; answers
  ``{request_id, status: "QUEUED", polling_url}``;
- ``GET /v2/requests/status/{id}``: the request in the shape of Pixazo's callback (`callback`).

A webhook comes from the ``X-Webhook-URL`` header: with ``X-Webhook-Mode: terminal`` (the default) one POST when the
request ends, COMPLETED, FAILED or ERROR (a failure on the server's side); with ``sync`` a POST at each change of
status as well. It must be https unless the operator allows http, and it carries the request id as its
``Idempotency-Key``. Deliveries run apart from the jobs (`serve/webhooks.py`). Errors are Azure API Management's
``{"statusCode", "message"}``.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from fastapi import Depends, FastAPI, Request
from pydantic import BaseModel, ConfigDict, Field

from cbx_cli.serve.apis import Api, model_fields, note_extra, restrict
from cbx_cli.serve.schemas import CONTENT_TYPES, TTSRequest
from cbx_cli.serve.server import JobReport, Server, iso
from cbx_cli.serve.service import RequestError

PATH = "/chatterbox-text-to-speech/v1/chatterbox-text-to-speech-request"
MODEL_ID = "chatterbox-text-to-speech"
FORMAT = "wav"
MODES = ("terminal", "sync")


class PixazoRequest(BaseModel):
    """Pixazo's body; unknown fields are ignored (and logged once)."""

    model_config = ConfigDict(extra="allow")

    text: str = Field(min_length=1)
    audio_url: str | None = None
    """An http(s) URL of the voice to clone."""
    exaggeration: float | None = None
    temperature: float | None = None
    cfg: float | None = None
    """Chatterbox's cfg_weight."""
    seed: int | None = None


def error_body(status: int, message: str) -> dict[str, Any]:
    return {"statusCode": status, "message": message}


API = Api("pixazo", ("ocp-apim-subscription-key",), error_body, 401, 401, model_fields(PixazoRequest),
          frozenset({"text"}), invalid_message="Access denied due to invalid subscription key. Make sure to provide "
          "a valid key for an active subscription.", missing_text="Access denied due to missing subscription key. "
          "Make sure to include subscription key when making requests to an API.")


def to_cbx(req: PixazoRequest) -> TTSRequest:
    return TTSRequest(text=req.text, reference_audio=req.audio_url, exaggeration=req.exaggeration,
                      temperature=req.temperature, cfg_weight=req.cfg, seed=req.seed, format=FORMAT)


def callback(server: Server, row: sqlite3.Row, base: str) -> dict[str, Any]:
    """A request as Pixazo reports it, by polling and in webhooks."""
    state = row["status"]
    if state == "FAILED" and row["internal"]:
        state = "ERROR"
    output = None
    if state == "COMPLETED":
        output = {"media_url": [server.media_url(row, base)], "media_type": CONTENT_TYPES[FORMAT]}
    changed = max(t for t in (row["created"], row["started"], row["finished"]) if t is not None)
    return {"request_id": row["id"], "status": state, "model_id": MODEL_ID, "error": row["error"], "output": output,
            "metrics": json.loads(row["metrics"]) if row["metrics"] else None, "created_at": iso(row["created"]),
            "updated_at": iso(changed), "completed_at": iso(row["finished"])}


def install(app: FastAPI, server: Server) -> None:
    key = server.key(API)

    @app.post(PATH)
    async def submit(req: PixazoRequest, request: Request, key_id: str = Depends(key)):
        note_extra(API, req)
        req = restrict(API, req, server.config.defaults.fields.get(API.name))
        webhook = request.headers.get("x-webhook-url") or None
        mode = (request.headers.get("x-webhook-mode") or "terminal").strip().lower()
        if mode not in MODES:
            raise RequestError(f"X-Webhook-Mode '{mode[:20]}' is not one of: {', '.join(MODES)}.", 400)
        queued = await server.submit(request, key_id, to_cbx(req), api=API.name, webhook=webhook,
                                     webhook_mode=mode if webhook else None, https_webhook=True)
        return {"request_id": queued.id, "status": "QUEUED",
                "polling_url": f"{queued.base_url}/v2/requests/status/{queued.id}"}

    @app.get("/v2/requests/status/{job_id}")
    async def poll(job_id: str, request: Request, key_id: str = Depends(key)):
        return callback(server, server.owned(job_id, key_id), server.base_url(request))

    server.reports[API.name] = JobReport(lambda row, base: callback(server, row, base),
                                         lambda row: {"Idempotency-Key": row["id"],
                                                      "X-Webhook-Mode": row["webhook_mode"] or "terminal"},
                                         https_only=True)
