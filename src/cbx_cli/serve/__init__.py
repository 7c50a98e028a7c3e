"""`cbx serve`: the library behind an HTTP API (FastAPI app, served by uvicorn): cbx's own routes and drop-ins for
hosted Chatterbox APIs (OpenAI, Segmind, Pixazo, Resonance, Fish Audio; `serve/apis.py`).

One `Narrator` serves every request; its engine is wrapped in a `SharedEngine`, so the chunks of all concurrent
requests share the engine's batches. `build_app` wires the pieces; `run` serves the app.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cbx_cli.serve.service import Defaults, Limits, RequestError, ServeConfig

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def default_data_dir() -> Path:
    from cbx_cli.config.paths import data_dir

    return data_dir() / "serve"


def shared_factory(metrics, make=None):
    """An engine factory for `Narrator`: the engine ``make`` makes (default: the library's `make_engine`), shared
    across requests (`SharedEngine`); a request's takes go to it a part of --batch-size (default 8) at a time."""
    from cbx_cli.api import DEFAULT_BATCH, make_engine
    from cbx_cli.serve.batcher import SharedEngine

    make = make or make_engine
    return lambda spec, store: SharedEngine(make(spec, store), on_batch=metrics.batch,
                                            part=spec.max_batch or DEFAULT_BATCH)


def build_app(narrator_options: dict[str, Any], config: ServeConfig, key_digests: list[str],
              webhook_backoff: float = 1.0, engine_factory=None):
    """The ASGI app for a narrator made from ``narrator_options`` (`Narrator`'s keywords, model first), its engines
    made by ``engine_factory`` (default: the library's) and shared across requests."""
    from cbx_cli.api import Narrator
    from cbx_cli.serve.app import create_app
    from cbx_cli.serve.auth import Keys
    from cbx_cli.serve.metrics import Metrics
    from cbx_cli.serve.server import Server
    from cbx_cli.serve.service import Service, voices_root

    metrics = Metrics()
    narrator = Narrator(**narrator_options, engine_factory=shared_factory(metrics, engine_factory),
                        voices_root=voices_root(config.data_dir))
    server = Server(Service(narrator, config), Keys(key_digests), metrics, webhook_backoff)
    return create_app(server)


def check_host(host: str, keys: list[str]) -> None:
    """A server reachable beyond this machine must ask for an API key."""
    if host not in LOOPBACK_HOSTS and not keys:
        from cbx_cli.errors import InputError

        raise InputError(f"Serving on {host} without API keys would let anyone in. Pass --api-key-file FILE (or set "
                         "CBX_API_KEYS), or serve on 127.0.0.1.")


@contextmanager
def serving(app, start_seconds: float = 600.0) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port in a thread of this process; yields the base URL and
    stops the server (gracefully) at the end. For tests and `cbx bench --serve`."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", http=_protocol(app)))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_seconds
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("the server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=300)
        sock.close()


def run(app, host: str, port: int, debug: bool = False) -> None:
    """Serve ``app`` until SIGINT or SIGTERM: running batches finish, queued jobs stay queued for the next start."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level="debug" if debug else "warning", access_log=debug,
                timeout_graceful_shutdown=300, http=_protocol(app))


def _protocol(app):
    """uvicorn's HTTP protocol with the app's deadline on request heads (`connections.HeadDeadline`)."""
    from cbx_cli.serve.connections import protocol

    return protocol(app.state.server.config.limits.head_seconds)


__all__ = ["Defaults", "Limits", "RequestError", "ServeConfig", "build_app", "check_host", "default_data_dir", "run",
           "serving"]
