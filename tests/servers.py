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


SHAPES = {
    # an API's error body → its message, once the body is checked to be exactly that API's shape for ``status``
    "cbx": lambda body, status: body["detail"] if set(body) == {"detail"} else None,
    "openai": lambda body, status: body["detail"] if set(body) == {"detail"} else None,
    "segmind": lambda body, status: body["error"] if set(body) == {"error"} else None,
    "cbx+segmind": lambda body, status: body["detail"] if set(body) == {"detail", "error"}
    and body["detail"] == body["error"] else None,
    "pixazo": lambda body, status: body["message"] if set(body) == {"statusCode", "message"}
    and body["statusCode"] == status else None,
    "fish": lambda body, status: body["message"] if set(body) == {"status", "message"} and body["status"] == status
    else None,
    "resonance": lambda body, status: (body["detail"][0]["msg"] if isinstance(body["detail"], list)
                                       else body["detail"]) if set(body) == {"detail"} else None,
}


def assert_refused(answer: httpx.Response, status: int, api: str, words: str, records: list) -> str:
    """``answer`` is ``status`` in ``api``'s error shape with ``words`` in its one-line message, and the server logged
    exactly one line for it (``records``: the log records of the request, e.g. caplog's) and no traceback."""
    assert answer.status_code == status, answer.text
    message = SHAPES[api](answer.json(), status)
    assert isinstance(message, str), f"not {api}'s error shape: {answer.text}"
    assert words.lower() in message.lower(), message
    assert "\n" not in message and "Traceback" not in answer.text
    path = answer.request.url.path
    lines = [r for r in records if r.name.startswith("cbx_cli") and r.getMessage().startswith(
        f"{answer.request.method} {path}: {status} ")]
    assert len(lines) == 1, [r.getMessage() for r in records]
    assert not [r for r in records if r.exc_info or "Traceback" in r.getMessage()]
    return message
