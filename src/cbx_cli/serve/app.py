"""The HTTP face of the server: the app, its middleware (body limit, request metrics), error answers in each API's
shape, and cbx's own routes; each hosted API's routes come from its adapter module.

FastAPI (over Starlette) for its request validation into pydantic models, which cbx already uses for its settings;
uvicorn serves it. Every failure is a JSON answer in the shape of the API the route belongs to (cbx's own:
``{"detail": "..."}``) with a fitting status and no traceback.
"""

from __future__ import annotations

import hmac
import logging
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException
from starlette.routing import Match

from cbx_cli.errors import CbxError, ModelError, OutputError, RenderError, cut
from cbx_cli.serve import fish, openai, pixazo, resonance, segmind
from cbx_cli.serve.apis import BEARER, Api, detail_body, model_fields, restrict, union
from cbx_cli.serve.jobs import status
from cbx_cli.serve.metrics import Metrics
from cbx_cli.serve.schemas import CONTENT_TYPES, TTSRequest, VoiceRequest
from cbx_cli.serve.server import Server, audio_headers
from cbx_cli.serve.service import RequestError

log = logging.getLogger(__name__)

CBX = Api("cbx", ("x-api-key", BEARER), detail_body, 401, 403, model_fields(TTSRequest), frozenset({"text"}))
"""cbx's own API: a key in x-api-key or as a Bearer token."""
ADAPTERS = (openai, segmind, pixazo, resonance, fish)
"""The hosted APIs' modules: each has an `API` and an ``install(app, server)`` that adds its routes."""
APIS = {api.name: api for api in (CBX, *(module.API for module in ADAPTERS))}
"""Every API by the name a serve config calls it."""
V1_TTS = union("cbx", CBX, fish.API)
V2_REQUESTS = union("cbx", CBX, segmind.API)


def create_app(server: Server) -> FastAPI:
    """The ASGI app; the model loads and the job workers start when it starts, and stop when it stops."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await run_in_threadpool(server.start)
        yield
        await run_in_threadpool(server.stop)

    app = FastAPI(title="cbx", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.server = server
    app.add_middleware(Guard, max_body=server.config.limits.max_body, metrics=server.metrics)
    _errors(app)
    _v1(app, server)
    _v2(app, server)
    _voices(app, server)
    for module in ADAPTERS:
        module.install(app, server)
    return app


def route_api(app, scope) -> Api:
    """The API whose shape a request's answers take: what its route set on the request, else the API whose key its
    route reads, else cbx's own."""
    state = scope.get("state") or {}
    if state.get("api") is not None:
        return state["api"]
    route = scope.get("route")
    if route is None and app is not None:
        route = next((r for r in app.router.routes if r.matches(scope)[0] == Match.FULL), None)
    for dependency in getattr(getattr(route, "dependant", None), "dependencies", ()):
        api = getattr(dependency.call, "api", None)
        if api is not None:
            return api
    return CBX


def answer(api: Api, status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(api.error(status, message), status_code=status, headers=headers)


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
        message = f"The request body is larger than {self.max_body:,} bytes."
        if not declared.isdigit() or int(declared) > self.max_body:
            api = route_api(scope.get("app"), scope)
            refusal = answer(api, 413, message) if declared.isdigit() else \
                answer(api, 400, "Bad Content-Length header.")
            await refusal(scope, receive, send)
            return self._count(scope, refusal.status_code)
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
                await answer(route_api(scope.get("app"), scope), 413, message)(scope, receive, noted_send)
        self._count(scope, sent.get("status", 500))

    def _count(self, scope, status: int) -> None:
        route = scope.get("route")
        self.metrics.request(scope["method"], getattr(route, "path", "unmatched"), status)


def _errors(app: FastAPI) -> None:
    def api(request: Request) -> Api:
        return route_api(app, request.scope)

    @app.exception_handler(RequestError)
    async def refused(request: Request, exc: RequestError):
        return answer(api(request), exc.status, exc.message, exc.headers)

    @app.exception_handler(CbxError)
    async def cbx_error(request: Request, exc: CbxError):
        if isinstance(exc, ModelError):
            return answer(api(request), 503, exc.message)
        if isinstance(exc, (RenderError, OutputError)):
            log.error("%s %s: %s", request.method, request.url.path, exc.message)
            return answer(api(request), 500, exc.message)
        return answer(api(request), 422, exc.message)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        shape = api(request)
        if shape.validation_body is not None:
            return JSONResponse(shape.validation_body(jsonable_encoder(exc.errors())), status_code=422)
        return answer(shape, *validation_message(exc.errors()))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        return answer(api(request), exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception):
        log.error("%s %s failed: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
        return answer(api(request), 500, "Internal error; the server log has the details.")


def validation_message(errors: list) -> tuple[int, str]:
    """One line for a body that could not be read into its model: 400 for bad JSON, else 422 naming the field."""
    first = errors[0] if errors else {"type": "", "loc": (), "msg": "invalid body"}
    if first["type"] == "json_invalid":
        return 400, "The body is not valid JSON."
    loc = [str(p) for p in first.get("loc", ()) if p != "body"]
    if first["type"] == "missing" and not loc:
        return 400, "A JSON body is required."
    if first["type"] in ("model_attributes_type", "model_type") or (first["type"] == "dict_type" and not loc):
        return 400, "The body must be a JSON object."
    field = ".".join(loc) or "body"
    if first["type"] == "extra_forbidden":
        return 422, f"Unknown field '{cut(field, 60)}'. Remove it or check its spelling."
    if first["type"] == "missing":
        return 422, f"Field '{field}' is required."
    return 422, f"Field '{cut(field, 60)}': {first['msg']}."


def _v1(app: FastAPI, server: Server) -> None:
    service = server.service

    @app.get("/healthz")
    async def healthz():
        engine = service.narrator.engine() if server.ready else None
        return {"status": "ok" if engine else "loading", "model": service.narrator.model,
                "device": engine.info.device if engine else None}

    @app.get("/metrics", response_class=PlainTextResponse)
    async def metrics(key_id: str = Depends(server.key(CBX))):
        return PlainTextResponse(server.metrics.text(), media_type="text/plain; version=0.0.4")

    @app.post("/v1/tts")
    async def tts(request: Request, key_id: str = Depends(fish.shared_key(server, CBX))):
        """cbx's own body and Fish Audio's (MessagePack or JSON) on one route: a Fish request (MessagePack, Fish's
        `model` header or any Fish field) is streamed back as Fish answers; cbx's gets the whole file."""
        req = await fish.read(request, CBX, server.config.defaults.fields)
        if isinstance(req, fish.FishTTS):
            return await fish.answer(server, key_id, req)
        if req.webhook is not None:
            raise RequestError("'webhook' belongs to POST /v2/tts (queued jobs); /v1/tts answers with the audio.")
        data, narration = await server.audio(key_id, req)
        return Response(data, media_type=CONTENT_TYPES[req.format], headers=audio_headers(narration))

    @app.get("/media/{job_id}/{name}")
    async def media(job_id: str, name: str):
        """A finished queued job's audio by its signed address (a hosted API's `output` URL); needs no key."""
        token, _, fmt = name.partition(".")
        row = server.store.get(job_id)
        if row is None or not _same(token, server.media_token(job_id)) or row["status"] != "COMPLETED" \
                or not row["output"] or not row["output"].endswith("." + fmt):
            raise RequestError("No such file.", 404)
        return FileResponse(service.outputs / row["output"], media_type=CONTENT_TYPES.get(fmt, "audio/wav"))


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def _v2(app: FastAPI, server: Server) -> None:
    service = server.service

    @app.post("/v2/tts", status_code=202)
    async def submit(req: TTSRequest, request: Request, key_id: str = Depends(server.key(CBX))):
        req = restrict(CBX, req, server.config.defaults.fields.get("cbx"))
        queued = await server.submit(request, key_id, req, webhook=req.webhook)
        return {"request_id": queued.id, "status": "QUEUED", "status_url": f"/v2/requests/{queued.id}"}

    @app.get("/v2/requests/{job_id}")
    async def job_status(job_id: str, request: Request, key_id: str = Depends(server.key(V2_REQUESTS))):
        """cbx's status of its own jobs; Segmind's result body for the jobs Segmind's API queued."""
        row = server.owned(job_id, key_id)
        if row["api"] == segmind.API.name:
            request.state.api = segmind.API
            code, body = segmind.result(server, row, server.base_url(request))
            return JSONResponse(body, status_code=code)
        return status(row)

    @app.get("/v2/requests/{job_id}/audio")
    async def job_audio(job_id: str, key_id: str = Depends(server.key(CBX))):
        row = server.owned(job_id, key_id)
        if row["status"] != "COMPLETED":
            raise RequestError(f"Request '{job_id}' is {row['status']}; its audio is ready when it is COMPLETED.",
                               409)
        fmt = row["output"].rsplit(".", 1)[-1]
        return FileResponse(service.outputs / row["output"], media_type=CONTENT_TYPES[fmt])


def _voices(app: FastAPI, server: Server) -> None:
    service = server.service

    @app.get("/v1/voices")
    async def voices(key_id: str = Depends(server.key(CBX))):
        return {"voices": [{"name": v["name"], "seconds": v["seconds"]} for v in service.voices()]}

    @app.post("/v1/voices", status_code=201)
    async def add(req: VoiceRequest, key_id: str = Depends(server.key(CBX))):
        from cbx_cli.api import add_voice, check_new

        check_new(req.name, req.replace)
        prompt = await run_in_threadpool(service.reference, req.reference_audio)
        voice = await run_in_threadpool(add_voice, req.name, str(prompt.path), service.narrator, req.replace)
        return {"name": voice.name, "seconds": voice.seconds}

    @app.delete("/v1/voices/{name}", status_code=204)
    async def remove(name: str, key_id: str = Depends(server.key(CBX))):
        from cbx_cli.api import remove_voice, voice_folder

        if voice_folder(name) is None:  # a voice whose record is broken can be removed too
            raise RequestError(f"No voice '{cut(name, 40)}' in the library.", 404)
        await run_in_threadpool(remove_voice, name)
        return Response(status_code=204)
