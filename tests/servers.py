"""A real `cbx serve` app under uvicorn on a loopback port, in a thread of the test process, started and stopped by a
context manager. Its engines come from the factory a test hands it (the `fake_engine` fixture's, or None for the real
engine on a tiny checkpoint)."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import httpx

from cbx_cli.serve import build_app, serving
from cbx_cli.serve.auth import digest
from cbx_cli.serve.service import Defaults, Limits, ServeConfig

KEY = "test-key-1"
OTHER_KEY = "test-key-2"


@contextmanager
def running(data_dir: Path, engine_factory, *, keys: tuple[str, ...] = (KEY, OTHER_KEY), limits: Limits | None = None,
            model_dir: Path | None = None, allow_private: bool = True, workers: int = 2, batch_size: int = 8,
            cache_dir: Path | None = None, device: str = "cpu", preset: str | None = None,
            defaults: Defaults | None = None, model: str = "original"):
    """Serve on 127.0.0.1 (a free port), yield its base URL; stop it (gracefully) on exit."""
    config = ServeConfig(data_dir, limits or Limits(), allow_private_urls=allow_private, workers=workers,
                         preset=preset, defaults=defaults or Defaults())
    narrator = dict(model=model, model_dir=model_dir, device=device, batch_size=batch_size,
                    cache_dir=cache_dir or data_dir.parent / "takes")
    app = build_app(narrator, config, [digest(k) for k in keys], webhook_backoff=0.05, engine_factory=engine_factory)
    with serving(app, start_seconds=120) as base:
        yield base


def client(base: str, key: str | None = KEY, timeout: float = 60.0) -> httpx.Client:
    return httpx.Client(base_url=base, headers={"x-api-key": key} if key else {}, timeout=timeout)
