"""What every API's routes share: the service, the one key check, per-key limits, the job queue, webhook
deliveries, metrics, and the few steps every route takes the same way (narrate a request into a file, stream it,
queue it, report a queued job).

The routes themselves are in `app.py` (cbx's own) and in one adapter module per hosted API.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from cbx_cli.api import Narration, VoicePrompt
from cbx_cli.errors import cut
from cbx_cli.serve.apis import Api
from cbx_cli.serve.auth import InFlight, Keys
from cbx_cli.serve.jobs import LIVE, TERMINAL, JobStore, StorageError, Workers, status, webhook_secret
from cbx_cli.serve.metrics import Metrics
from cbx_cli.serve.schemas import TTSRequest
from cbx_cli.serve.service import RequestError, Service, job_metrics
from cbx_cli.serve.urls import check_public_url, fetch
from cbx_cli.serve.webhooks import ATTEMPTS, TIMEOUT, Deliveries, Delivery

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobReport:
    """How an API reports a queued job in its webhooks: the JSON body (from the job's row and the server's base URL)
    and extra headers."""

    body: Callable[[sqlite3.Row, str], dict[str, Any]]
    headers: Callable[[sqlite3.Row], dict[str, str]] = lambda row: {}
    https_only: bool = False
    """Webhooks must be https (unless the serve config allows http)."""


@dataclass
class Queued:
    """A job just queued: its id and the server's address as its client sees it."""

    id: str
    base_url: str


@dataclass
class Server:
    """Everything the routes share."""

    service: Service
    keys: Keys
    metrics: Metrics
    webhook_backoff: float = 1.0
    reports: dict[str, JobReport] = field(default_factory=dict)
    """By API name; cbx's own is there from the start, adapters add theirs."""

    def __post_init__(self) -> None:
        config = self.service.config
        self.inflight = InFlight(config.limits.concurrent)
        try:
            config.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            log.error("cannot make the data folder %s (%s)", config.data_dir, exc.strerror or exc)
        self.store = JobStore(config.data_dir / "jobs.sqlite3")
        self.secret = webhook_secret(config.data_dir)
        self.ready = False
        self.metrics.queue_depth = lambda: self._count("QUEUED")
        self.metrics.running = lambda: self._count("PROCESSING")
        self.deliveries = Deliveries(self._post, self.secret, backoff=self.webhook_backoff)
        self.workers = Workers(self.store, self.service.run_queued, config.workers, self.changed,
                               self.service.discard)
        self.reports.setdefault("cbx", JobReport(lambda row, base: status(row)))

    @property
    def config(self):
        return self.service.config

    def start(self) -> None:
        self.service.start()
        self.deliveries.start()
        for row in self.store.undelivered(ATTEMPTS):
            self._send(row, terminal=True)
        self.workers.start()
        self.ready = True

    def _count(self, state: str) -> int:
        try:
            return self.store.count(state)
        except StorageError:
            return 0

    def stop(self) -> None:
        self.workers.stop()
        self.deliveries.stop()
        engine = self.service.narrator.engine()
        if hasattr(engine, "close"):
            engine.close()
        self.store.close()

    # -- keys ---------------------------------------------------------------------------------------------------

    def authorize(self, request: HTTPConnection, api: Api) -> str:
        """The caller's key id ("open" when the server has no keys), read from ``api``'s own headers only."""
        if not self.keys.required:
            return "open"
        key = api.key(request.headers)
        if key is None:
            raise RequestError(api.missing_message(), api.missing_status,
                               {"WWW-Authenticate": "Bearer"} if api.missing_status == 401 else None)
        key_id = self.keys.check(key)
        if key_id is None:
            raise RequestError(api.invalid_message, api.invalid_status)
        return key_id

    def key(self, api: Api) -> Callable[[Request], str]:
        """A route dependency giving the caller's key id for ``api``."""

        def key_id(request: Request) -> str:
            request.state.api = getattr(request.state, "api", None) or api
            return self.authorize(request, api)

        key_id.api = api  # type: ignore[attr-defined] - how the error handlers find a route's API
        return key_id

    # -- addresses ----------------------------------------------------------------------------------------------

    def base_url(self, request: Request) -> str:
        """The server's address as clients reach it (the serve config's public_url, else the request's own)."""
        return (self.config.defaults.public_url or str(request.base_url)).rstrip("/")

    def media_url(self, row: sqlite3.Row, base: str) -> str | None:
        """A COMPLETED job's audio at an address that needs no key (like a hosted service's storage URL): the job's
        id and a signature of it, which only this server can make."""
        if row["status"] != "COMPLETED" or not row["output"]:
            return None
        return f"{base}/media/{row['id']}/{self.media_token(row['id'])}.{row['output'].rsplit('.', 1)[-1]}"

    def media_token(self, job_id: str) -> str:
        return hmac.new(self.secret, b"media:" + job_id.encode(), hashlib.sha256).hexdigest()[:32]

    # -- narration ----------------------------------------------------------------------------------------------

    async def audio(self, key_id: str, req: TTSRequest, prompt: VoicePrompt | None = None) -> tuple[bytes, Narration]:
        """``req`` narrated whole and encoded in its format (one of the key's places in flight while it runs)."""
        service = self.service
        with self.inflight.slot(key_id):
            job = await run_in_threadpool(service.job, req, service.config.limits.max_text, prompt, key_id)
            narration = await run_in_threadpool(service.narrate, job)
            data = await run_in_threadpool(service.encode, narration, req.format, req.bitrate)
        self.metrics.narrated(narration.duration, narration.wall)
        return data, narration

    async def stream(self, key_id: str, req: TTSRequest, prompt: VoicePrompt | None = None) -> Iterator[bytes]:
        """``req``'s audio encoded as a stream, a take at a time as takes are ready. The first piece is made before
        this returns, so a request that fails early gets an error answer rather than a cut stream; the key's place
        in flight is held until the stream ends."""
        service = self.service
        slot = self.inflight.hold(key_id)
        try:
            job = await run_in_threadpool(service.job, req, service.config.limits.max_text, prompt, key_id)
            pieces = service.stream(job, req.format, req.bitrate)
            first = await run_in_threadpool(next, pieces, b"")
        except BaseException:
            slot.release()
            raise
        return streamed(first, pieces, slot.release)

    # -- the queue ----------------------------------------------------------------------------------------------

    async def submit(self, request: Request, key_id: str, req: TTSRequest, api: str = "cbx",
                     webhook: str | None = None, webhook_mode: str | None = None, https_webhook: bool = False,
                     prompt: VoicePrompt | None = None) -> Queued:
        """Queue ``req`` for ``key_id`` (429 past the key's share of the queue; 503 while the job database or the data
        folder cannot take it): checked and planned now, its reference kept, so a bad request fails here and the job
        survives a restart."""
        service, limits = self.service, self.config.limits
        self.store.check()
        await run_in_threadpool(service.check_writable)
        waiting = self.store.count("QUEUED", key_id) + self.store.count("PROCESSING", key_id)
        if waiting >= limits.queued:
            raise RequestError(f"This API key has {waiting} jobs queued or running (at most {limits.queued}); retry "
                               "when some have finished.", 429, {"Retry-After": "5"})
        if webhook is not None:
            await run_in_threadpool(check_public_url, webhook, "webhook", self.config.allow_private_urls,
                                    https_webhook and not self.config.defaults.http_webhooks)
        if prompt is None and req.reference_audio:
            prompt = await run_in_threadpool(service.reference, req.reference_audio)
        job = await run_in_threadpool(service.job, req, limits.max_script, prompt, key_id)
        body = req.model_dump(exclude={"reference_audio", "webhook"}, exclude_none=True)
        base = self.base_url(request)
        job_id = self.store.add(key_id, body, prompt.path.name if prompt else None, webhook, api=api,
                                webhook_mode=webhook_mode, base_url=base, chunks=len(job.chunks))
        self.workers.wake()
        return Queued(job_id, base)

    def owned(self, job_id: str, key_id: str) -> sqlite3.Row:
        """The job ``job_id`` if ``key_id`` queued it; 404 otherwise (another key's job is as good as none)."""
        row = self.store.get(job_id)
        if row is None or row["key_id"] != key_id:
            raise RequestError(f"No request '{cut(job_id, 40)}'.", 404)
        return row

    def cancel(self, job_id: str, key_id: str) -> sqlite3.Row:
        """Cancel ``key_id``'s job ``job_id`` if it is QUEUED or PROCESSING (a running one stops at its next batch
        boundary; the takes it finished stay in the take cache); 409 when it has ended. Its row, as cancelled."""
        row = self.owned(job_id, key_id)
        if row["status"] not in LIVE or not self.store.cancel(job_id):
            now = self.store.get(job_id) or row
            raise RequestError(f"Request '{job_id}' is {now['status']}; only a QUEUED or PROCESSING request can be "
                               "cancelled.", 409)
        self.changed(job_id)
        return self.store.get(job_id) or row

    # -- webhooks -----------------------------------------------------------------------------------------------

    def changed(self, job_id: str) -> None:
        """A job's status changed: queue its webhook (every change in sync mode, else only the end)."""
        row = self.store.get(job_id)
        if row is None or not row["webhook"]:
            return
        terminal = row["status"] in TERMINAL
        if terminal or row["webhook_mode"] == "sync":
            self._send(row, terminal)

    def _send(self, row: sqlite3.Row, terminal: bool) -> None:
        report = self.reports.get(row["api"]) or self.reports["cbx"]
        job_id = row["id"]
        body = json.dumps(report.body(row, row["base_url"] or ""), sort_keys=True).encode()
        delivery = Delivery(row["webhook"], body, report.headers(row), https_only=report.https_only)
        if terminal:
            delivery.on_attempt = lambda n: self.store.update(job_id, webhook_attempts=n)
            delivery.on_done = lambda ok: self.store.update(job_id, webhook_delivered=int(ok))
        self.deliveries.add(delivery)

    def _post(self, delivery: Delivery) -> int:
        """One try at ``delivery``: its HTTP status, all within `TIMEOUT` (a receiver that answers a byte at a time
        holds a sender no longer than one that never answers)."""
        https_only = delivery.https_only and not self.config.defaults.http_webhooks
        answer = fetch(delivery.url, "webhook", self.config.allow_private_urls, method="POST", body=delivery.body,
                       headers=delivery.headers, timeout=TIMEOUT, seconds=TIMEOUT, max_bytes=1_000_000,
                       https_only=https_only)
        return answer.status


def streamed(first: bytes, rest: Iterator[bytes], release: Callable[[], None]) -> Iterator[bytes]:
    """``first``, then the rest of the stream; a failure mid-stream ends it (the status line is already sent) with
    one log line. However it ends (a client that leaves too), the stream is closed and ``release`` called."""
    try:
        if first:
            yield first
        yield from rest
    except Exception as exc:  # noqa: BLE001 - nothing can be sent to the client any more
        log.error("stream ended early: %s: %s", type(exc).__name__, exc)
    finally:
        close = getattr(rest, "close", None)
        if close is not None:
            close()
        release()


def audio_headers(narration: Narration) -> dict[str, str]:
    """cbx's headers on an audio answer: seconds of audio and of work, chunks, cached chunks."""
    metrics = job_metrics(narration)
    return {f"X-Cbx-{name.replace('_', '-').title()}": str(value) for name, value in metrics.items()}


def iso(seconds: float | None) -> str | None:
    """A time as ISO 8601 in UTC (None stays None)."""
    if seconds is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int(seconds % 1 * 1000):03d}Z"
