"""The HTTP face of the server: the app, its middleware (body limit, request metrics), error answers in each API's
shape, and cbx's own routes; each hosted API's routes come from its adapter module.

FastAPI (over Starlette) for its request validation into pydantic models, which cbx already uses for its settings;
uvicorn serves it. Every failure is a JSON answer in the shape of the API the route belongs to (cbx's own:
``{"detail": "..."}``) with a fitting status and no traceback.
"""

from __future__ import annotations

import asyncio
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
from cbx_cli.serve.jobs import StorageError, status
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
    limits = server.config.limits
    app.add_middleware(Guard, max_body=limits.max_body, body_seconds=limits.body_seconds, metrics=server.metrics)
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
    api = getattr(key_dependency(_route(app, scope)), "api", None)
    return api if api is not None else CBX


def _route(app, scope):
    route = scope.get("route")
    if route is None and app is not None:
        route = next((r for r in app.router.routes if r.matches(scope)[0] == Match.FULL), None)
    return route


def key_dependency(route):
    """The key check of ``route`` (a dependency that names its API), or None for a route that needs no key."""
    for dependency in getattr(getattr(route, "dependant", None), "dependencies", ()):
        if getattr(dependency.call, "api", None) is not None:
            return dependency.call
    return None


def answer(api: Api, status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(api.error(status, message), status_code=status, headers=headers)


def refuse(scope, status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """An error answer in the shape of the request's API; `Guard` logs it in one line once it is sent."""
    scope.setdefault("state", {})["refusal"] = message
    return answer(route_api(scope.get("app"), scope), status, message, headers)


class _BodyRefused(HTTPException):
    """A body too large or too slow, found while it arrives (an HTTPException, so FastAPI's body reader passes it on
    as it is and the answer is its status). The connection closes after the answer: the rest of the body will not
    be read."""

    def __init__(self, status: int, message: str):
        super().__init__(status, message, {"Connection": "close"})


class Guard:
    """ASGI middleware, before any route runs: the key (a route that asks for one checks it before a byte of the body
    is read, so a bad body without a key is a 401), the body's size (413 past ``max_body`` bytes, by Content-Length
    or as it arrives) and time (408 past ``body_seconds`` from the head); then the answer: anything a route let
    escape becomes a 500 in the API's shape, every error answer is one log line (no traceback), and every answer is
    counted by method, route and status."""

    def __init__(self, app, max_body: int, body_seconds: float, metrics: Metrics):
        self.app = app
        self.max_body = max_body
        self.body_seconds = body_seconds
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        scope.setdefault("state", {})
        sent: dict = {}

        async def noted_send(message):
            if message["type"] == "http.response.start":
                sent["status"] = message["status"]
                self._log(scope, message["status"])  # before the answer leaves: the line is there when it arrives
            await send(message)

        try:
            refusal = self._before(scope)
            if refusal is not None:
                await refusal(scope, receive, noted_send)
            else:
                await self.app(scope, self._bounded(receive), noted_send)
        except _BodyRefused as exc:
            if "status" not in sent:
                await refuse(scope, exc.status_code, str(exc.detail), exc.headers)(scope, receive, noted_send)
        except Exception as exc:  # noqa: BLE001 - one line in the log and a 500 in the API's shape, never a traceback
            scope["state"]["refusal"] = f"{type(exc).__name__}: {cut(str(exc), 300)}"
            if "status" in sent:
                self._log(scope, 500)  # the answer had begun; the line says how it ended
            else:
                api = route_api(scope.get("app"), scope)
                await answer(api, 500, "Internal error; the server log has the details.")(scope, receive, noted_send)
        status = sent.get("status", 500)
        route = scope.get("route") or _route(scope.get("app"), scope)
        self.metrics.request(scope["method"], getattr(route, "path", "unmatched"), status)

    def _before(self, scope) -> JSONResponse | None:
        """The refusal a request gets before its route runs (a bad key, a body declared too large), or None."""
        check = key_dependency(_route(scope.get("app"), scope))
        if check is not None:
            try:
                check(Request(scope))
            except RequestError as exc:
                return refuse(scope, exc.status, exc.message, exc.headers)
        declared = dict(scope.get("headers") or []).get(b"content-length", b"0")
        if not declared.isdigit():
            return refuse(scope, 400, "Bad Content-Length header.")
        if int(declared) > self.max_body:
            return refuse(scope, 413, self._too_large(), {"Connection": "close"})  # the body is not read
        return None

    def _too_large(self) -> str:
        return f"The request body is larger than {self.max_body:,} bytes."

    def _bounded(self, receive):
        """``receive`` with the body's limits: bytes in all, and seconds until its last part (later calls, which
        only wait for the client to leave, have no deadline)."""
        loop = asyncio.get_running_loop()
        end = loop.time() + self.body_seconds
        seen, whole = 0, False

        async def bounded_receive():
            nonlocal seen, whole
            if whole:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), max(end - loop.time(), 0.0))
            except asyncio.TimeoutError:
                raise _BodyRefused(408, f"The request body did not arrive within {self.body_seconds:g} s.") from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                whole = True
            seen += len(message.get("body", b""))
            if seen > self.max_body:
                raise _BodyRefused(413, self._too_large())
            return message

        return bounded_receive

    @staticmethod
    def _log(scope, status: int) -> None:
        message = scope["state"].pop("refusal", None)
        if message is None or status < 400:
            return
        line = f"{scope['method']} {cut(scope.get('path', ''), 100)}: {status} {message}"
        (log.error if status >= 500 else log.warning)("%s", line)


def _errors(app: FastAPI) -> None:
    @app.exception_handler(RequestError)
    async def refused(request: Request, exc: RequestError):
        return refuse(request.scope, exc.status, exc.message, exc.headers)

    @app.exception_handler(CbxError)
    async def cbx_error(request: Request, exc: CbxError):
        if isinstance(exc, (ModelError, StorageError)):
            return refuse(request.scope, 503, exc.message)
        if isinstance(exc, (RenderError, OutputError)):
            return refuse(request.scope, 500, exc.message)
        return refuse(request.scope, 422, exc.message)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        shape = route_api(app, request.scope)
        status, message = validation_message(exc.errors())
        if shape.validation_body is not None:
            request.scope["state"]["refusal"] = message
            return JSONResponse(shape.validation_body(jsonable_encoder(exc.errors())), status_code=422)
        return refuse(request.scope, status, message)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        return refuse(request.scope, exc.status_code, str(exc.detail), getattr(exc, "headers", None))


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

    @app.delete("/v2/requests/{job_id}")
    async def cancel(job_id: str, request: Request, key_id: str = Depends(server.key(V2_REQUESTS))):
        """Cancel a QUEUED or PROCESSING job: a running one stops at its next batch boundary (the takes it finished
        stay in the take cache); answers the job's status, CANCELLED."""
        row = await run_in_threadpool(server.cancel, job_id, key_id)
        if row["api"] == segmind.API.name:
            request.state.api = segmind.API
            return JSONResponse(segmind.result(server, row, server.base_url(request))[1])
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
    """A key's voices: it sees, uses, adds, replaces and deletes its own; it sees and uses the shared ones (the
    operator's), and cannot replace or delete them; another key's are as good as none."""
    service = server.service

    @app.get("/v1/voices")
    async def voices(key_id: str = Depends(server.key(CBX))):
        listed = await run_in_threadpool(service.voices, key_id)
        return {"voices": [{"name": v["name"], "seconds": v["seconds"], "shared": v["shared"]} for v in listed]}

    @app.post("/v1/voices", status_code=201)
    async def add(req: VoiceRequest, key_id: str = Depends(server.key(CBX))):
        from cbx_cli.api import add_voice, check_new, get_voice

        own = service.key_voices(key_id)
        check_new(req.name, True, own)  # the name alone
        if get_voice(req.name, service.shared) is not None:
            raise RequestError(f"Voice '{req.name}' is one of this server's shared voices: it cannot be replaced. "
                               "Choose another name.", 403)
        check_new(req.name, req.replace, own)
        await run_in_threadpool(service.check_writable)
        prompt = await run_in_threadpool(service.reference, req.reference_audio)
        try:
            voice = await run_in_threadpool(add_voice, req.name, str(prompt.path), service.narrator, req.replace,
                                            own)
        except OSError as exc:
            raise StorageError(f"The server's voices cannot be written in '{own}' ({exc.strerror or exc}); new "
                               "voices are refused until they can be.") from None
        return {"name": voice.name, "seconds": voice.seconds}

    @app.delete("/v1/voices/{name}", status_code=204)
    async def remove(name: str, key_id: str = Depends(server.key(CBX))):
        from cbx_cli.api import get_voice, remove_voice
        from cbx_cli.config.names import VOICE_NAME_RE

        own = service.key_voices(key_id)
        if VOICE_NAME_RE.fullmatch(name) and get_voice(name, own) is not None:
            try:
                await run_in_threadpool(remove_voice, name, own)
            except OSError as exc:
                raise StorageError(f"The server's voices cannot be written in '{own}' ({exc.strerror or exc}).") \
                    from None
            return Response(status_code=204)
        if VOICE_NAME_RE.fullmatch(name) and get_voice(name, service.shared) is not None:
            raise RequestError(f"Voice '{name}' is one of this server's shared voices: only its operator can remove "
                               "it.", 403)
        raise RequestError(f"No voice '{cut(name, 40)}' in the library.", 404)
