"""A real `cbx serve` app under uvicorn on a loopback port, in a thread of the test process (so the fake engine
fixture applies), started and stopped by a context manager."""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn

from cbx_cli.serve import build_app
from cbx_cli.serve.auth import digest
from cbx_cli.serve.service import Limits, ServeConfig

KEY = "test-key-1"
OTHER_KEY = "test-key-2"


@contextmanager
def running(data_dir: Path, *, keys: tuple[str, ...] = (KEY, OTHER_KEY), limits: Limits | None = None,
            model_dir: Path | None = None, allow_private: bool = True, workers: int = 2, batch_size: int = 8,
            cache_dir: Path | None = None, device: str = "cpu", preset: str | None = None):
    """Serve on 127.0.0.1 (a free port), yield its base URL; stop it (gracefully) on exit."""
    config = ServeConfig(data_dir, limits or Limits(), allow_private_urls=allow_private, workers=workers,
                         preset=preset)
    narrator = dict(model="original", model_dir=model_dir, device=device, batch_size=batch_size,
                    cache_dir=cache_dir or data_dir.parent / "takes")
    app = build_app(narrator, config, [digest(k) for k in keys], webhook_backoff=0.05)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=60)
        sock.close()


def client(base: str, key: str | None = KEY, timeout: float = 60.0) -> httpx.Client:
    return httpx.Client(base_url=base, headers={"x-api-key": key} if key else {}, timeout=timeout)
