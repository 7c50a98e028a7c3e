"""The HTTP face of the server: routes, authentication, error answers, body limits and request metrics.

FastAPI (over Starlette) for its request validation into pydantic models, which cbx already uses for its settings;
uvicorn serves it. Every failure is a JSON ``{"detail": "..."}`` with a fitting status and no traceback.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException

from cbx_cli.errors import CbxError, ModelError, OutputError, RenderError, cut
from cbx_cli.serve.auth import InFlight, Keys
from cbx_cli.serve.jobs import JobStore, Workers, status, webhook_secret
from cbx_cli.serve.metrics import Metrics
from cbx_cli.serve.schemas import CONTENT_TYPES, SpeechRequest, TTSRequest, VoiceRequest
from cbx_cli.serve.service import RequestError, Service, job_metrics
from cbx_cli.serve.urls import check_public_url

log = logging.getLogger(__name__)

STREAMED = ("wav", "pcm")
"""Formats /v1/audio/speech sends a take at a time; the others are sent when the whole narration is encoded."""


class Server:
    """Everything the routes share: the service, keys, limits, the job queue and the metrics."""

    def __init__(self, service: Service, keys: Keys, metrics: Metrics, webhook_backoff: float = 1.0):
        config = service.config
        self.service = service
        self.keys = keys
        self.inflight = InFlight(config.limits.concurrent)
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = JobStore(config.data_dir / "jobs.sqlite3")
        self.metrics = metrics
        self.ready = False
        metrics.queue_depth = lambda: self.store.count("QUEUED")
        metrics.running = lambda: self.store.count("PROCESSING")
        self.workers = Workers(self.store, service.run_queued, config.workers, webhook_secret(config.data_dir),
                               webhook_backoff)

    def start(self) -> None:
        self.service.start()
        self.workers.start()
        self.ready = True

    def stop(self) -> None:
        self.workers.stop()
        engine = self.service.narrator.engine()
        if hasattr(engine, "close"):
            engine.close()
        self.store.close()

    def authorize(self, request: Request) -> str:
        """The caller's key id; "open" when the server has no keys."""
        if not self.keys.required:
            return "open"
        key = request.headers.get("x-api-key")
        if key is None:
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            key = token.strip() if scheme.lower() == "bearer" else None
        if not key:
            raise RequestError("Missing API key. Send it in the x-api-key header (or as Authorization: Bearer KEY).",
                               401, {"WWW-Authenticate": "Bearer"})
        key_id = self.keys.check(key)
        if key_id is None:
            raise RequestError("Invalid API key", 403)
        return key_id


def create_app(server: Server) -> FastAPI:
    """The ASGI app; the model loads and the job workers start when it starts, and stop when it stops."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await run_in_threadpool(server.start)
        yield
        await run_in_threadpool(server.stop)

    app = FastAPI(title="cbx", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.server = server
    app.add_middleware(Guard, max_body=server.service.config.limits.max_body, metrics=server.metrics)
    _errors(app)
    _v1(app, server)
    _v2(app, server)
    _voices(app, server)
    return app


class _TooLarge(HTTPException):
    """A body that passed its Content-Length check but kept coming (an HTTPException, so FastAPI's body reader
    passes it on as it is and the answer is a 413)."""

    def __init__(self, limit: int):
        super().__init__(413, f"The request body is larger than {limit:,} bytes.")


class Guard:
    """ASGI middleware: refuses bodies over ``max_body`` bytes (413, by Content-Length or as they arrive) and counts
    every answer by method, route and status."""

    def __init__(self, app, max_body: int, metrics: Metrics):
        self.app = app
        self.max_body = max_body
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        sent: dict = {}
        declared = dict(scope.get("headers") or []).get(b"content-length", b"0")
        too_large = _error(413, f"The request body is larger than {self.max_body:,} bytes.")
        if not declared.isdigit() or int(declared) > self.max_body:
            await too_large(scope, receive, send) if declared.isdigit() else \
                await _error(400, "Bad Content-Length header.")(scope, receive, send)
            return self._count(scope, 413 if declared.isdigit() else 400)
        seen = 0

        async def counted_receive():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_body:
                raise _TooLarge(self.max_body)
            return message

        async def noted_send(message):
            if message["type"] == "http.response.start":
                sent["status"] = message["status"]
            await send(message)

        try:
            await self.app(scope, counted_receive, noted_send)
        except _TooLarge:
            if "status" not in sent:
                await too_large(scope, receive, noted_send)
        self._count(scope, sent.get("status", 500))

    def _count(self, scope, status: int) -> None:
        route = scope.get("route")
        self.metrics.request(scope["method"], getattr(route, "path", "unmatched"), status)


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": cut(message, 600)}, status_code=status, headers=headers)


def _errors(app: FastAPI) -> None:
    @app.exception_handler(RequestError)
    async def refused(request: Request, exc: RequestError):
        return _error(exc.status, exc.message, exc.headers)

    @app.exception_handler(CbxError)
    async def cbx_error(request: Request, exc: CbxError):
        if isinstance(exc, ModelError):
            return _error(503, exc.message)
        if isinstance(exc, (RenderError, OutputError)):
            log.error("%s %s: %s", request.method, request.url.path, exc.message)
            return _error(500, exc.message)
        return _error(422, exc.message)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        return _error(*_validation_message(exc.errors()))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        return _error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception):
        log.error("%s %s failed: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
        return _error(500, "Internal error; the server log has the details.")


def _validation_message(errors: list) -> tuple[int, str]:
    """One line for a body FastAPI could not read into its model: 400 for bad JSON, else 422 naming the field."""
    first = errors[0] if errors else {"type": "", "loc": (), "msg": "invalid body"}
    if first["type"] == "json_invalid":
        return 400, "The body is not valid JSON."
    loc = [str(p) for p in first.get("loc", ()) if p != "body"]
    if first["type"] == "missing" and not loc:
        return 400, "A JSON body is required."
    if first["type"] == "model_attributes_type" or (first["type"] == "dict_type" and not loc):
        return 400, "The body must be a JSON object."
    field = ".".join(loc) or "body"
    if first["type"] == "extra_forbidden":
        return 422, f"Unknown field '{cut(field, 60)}'. Remove it or check its spelling."
    if first["type"] == "missing":
        return 422, f"Field '{field}' is required."
    return 422, f"Field '{cut(field, 60)}': {first['msg']}."


def _audio_headers(narration) -> dict[str, str]:
    metrics = job_metrics(narration)
    return {f"X-Cbx-{name.replace('_', '-').title()}": str(value) for name, value in metrics.items()}


def _v1(app: FastAPI, server: Server) -> None:
    service = server.service
    limits = service.config.limits

    @app.get("/healthz")
    async def healthz():
        engine = service.narrator.engine() if server.ready else None
        return {"status": "ok" if engine else "loading", "model": service.narrator.model,
                "device": engine.info.device if engine else None}

    @app.get("/metrics", response_class=PlainTextResponse)
    async def metrics(key_id: str = Depends(server.authorize)):
        return PlainTextResponse(server.metrics.text(), media_type="text/plain; version=0.0.4")

    @app.post("/v1/tts")
    async def tts(req: TTSRequest, key_id: str = Depends(server.authorize)):
        if req.webhook is not None:
            raise RequestError("'webhook' belongs to POST /v2/tts (queued jobs); /v1/tts answers with the audio.")
        with server.inflight.slot(key_id):
            job = await run_in_threadpool(service.job, req, limits.max_text)
            narration = await run_in_threadpool(service.narrate, job)
            data = await run_in_threadpool(service.encode, narration, req.format, req.bitrate)
        server.metrics.narrated(narration.duration, narration.wall)
        return Response(data, media_type=CONTENT_TYPES[req.format], headers=_audio_headers(narration))

    @app.post("/v1/audio/speech")
    async def speech(req: SpeechRequest, key_id: str = Depends(server.authorize)):
        slot = server.inflight.hold(key_id)
        try:
            job = await run_in_threadpool(service.speech_job, req)
            if req.response_format in STREAMED:
                chunks = _streamed(service.stream(job, req.response_format), slot.release)
                return StreamingResponse(chunks, media_type=CONTENT_TYPES[req.response_format],
                                         background=BackgroundTask(slot.release))
            narration = await run_in_threadpool(service.narrate, job)
            data = await run_in_threadpool(service.encode, narration, req.response_format)
        except BaseException:
            slot.release()
            raise
        slot.release()
        server.metrics.narrated(narration.duration, narration.wall)
        return Response(data, media_type=CONTENT_TYPES[req.response_format], headers=_audio_headers(narration))


def _streamed(pieces, release):
    """The stream's pieces; a failure mid-stream ends it (the status line is already sent) with one log line."""
    try:
        yield from pieces
    except Exception as exc:  # noqa: BLE001 - nothing can be sent to the client any more
        log.error("stream ended early: %s: %s", type(exc).__name__, exc)
    finally:
        release()


def _v2(app: FastAPI, server: Server) -> None:
    service = server.service
    config = service.config

    @app.post("/v2/tts", status_code=202)
    async def submit(req: TTSRequest, request: Request, key_id: str = Depends(server.authorize)):
        waiting = server.store.count("QUEUED", key_id) + server.store.count("PROCESSING", key_id)
        if waiting >= config.limits.queued:
            raise RequestError(f"This API key has {waiting} jobs queued or running (at most {config.limits.queued});"
                               " retry when some have finished.", 429, {"Retry-After": "5"})
        if req.webhook is not None:
            await run_in_threadpool(check_public_url, req.webhook, "webhook", config.allow_private_urls)
        prompt = await run_in_threadpool(service.reference, req.reference_audio) if req.reference_audio else None
        job = await run_in_threadpool(service.job, req, config.limits.max_script, prompt)
        body = req.model_dump(exclude={"reference_audio"})
        job_id = server.store.add(key_id, body, prompt.path.name if prompt else None, req.webhook)
        server.store.update(job_id, chunks_total=len(job.chunks))
        server.workers.wake()
        return {"request_id": job_id, "status": "QUEUED", "status_url": f"/v2/requests/{job_id}"}

    def owned(job_id: str, key_id: str):
        row = server.store.get(job_id)
        if row is None or (row["key_id"] != key_id):
            raise RequestError(f"No request '{cut(job_id, 40)}'.", 404)
        return row

    @app.get("/v2/requests/{job_id}")
    async def job_status(job_id: str, key_id: str = Depends(server.authorize)):
        return status(owned(job_id, key_id))

    @app.get("/v2/requests/{job_id}/audio")
    async def job_audio(job_id: str, key_id: str = Depends(server.authorize)):
        row = owned(job_id, key_id)
        if row["status"] != "COMPLETED":
            raise RequestError(f"Request '{job_id}' is {row['status']}; its audio is ready when it is COMPLETED.",
                               409)
        fmt = row["output"].rsplit(".", 1)[-1]
        return FileResponse(service.outputs / row["output"], media_type=CONTENT_TYPES[fmt])


def _voices(app: FastAPI, server: Server) -> None:
    service = server.service

    @app.get("/v1/voices")
    async def voices(key_id: str = Depends(server.authorize)):
        from cbx_cli.api import list_voices

        return {"voices": [{"name": v.name, "seconds": v.seconds} for v in list_voices()]}

    @app.post("/v1/voices", status_code=201)
    async def add(req: VoiceRequest, key_id: str = Depends(server.authorize)):
        from cbx_cli.api import add_voice, check_new

        check_new(req.name, req.replace)
        prompt = await run_in_threadpool(service.reference, req.reference_audio)
        voice = await run_in_threadpool(add_voice, req.name, str(prompt.path), service.narrator, req.replace)
        return {"name": voice.name, "seconds": voice.seconds}

    @app.delete("/v1/voices/{name}", status_code=204)
    async def remove(name: str, key_id: str = Depends(server.authorize)):
        from cbx_cli.api import get_voice, remove_voice
        from cbx_cli.config.names import VOICE_NAME_RE

        if not VOICE_NAME_RE.fullmatch(name) or get_voice(name) is None:
            raise RequestError(f"No voice '{cut(name, 40)}' in the library.", 404)
        await run_in_threadpool(remove_voice, name)
        return Response(status_code=204)
