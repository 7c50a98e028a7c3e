"""`cbx bench --serve`: requests per minute and audio seconds per second of a real `cbx serve`, with one client
(requests in turn) and with many at once (their chunks share the engine's batches).

The server runs in this process on a loopback port, over the same weights as `cbx bench` (full-size random
weights unless --model-dir), without the take cache; each request is one sentence with a fixed token budget
(random weights never stop early), so both sides do the same work. httpx (the server's test client) sends them.
"""

from __future__ import annotations

import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def run_serve_bench(model_dir: Path | None, model: str, device: str, requests: int, tokens: int,
                    clients: tuple[int, ...] = (1, 10), batch_size: int = 8, engine_factory=None) -> dict:
    """Each ``clients`` count sends the same ``requests`` requests; returns the figures per count. The server's
    engines come from ``engine_factory`` (default: the library's)."""
    from cbx_cli.serve import build_app, serving
    from cbx_cli.serve.service import Limits, ServeConfig
    from cbx_cli.tools.bench import SENTENCES, build_random_weights

    texts = [f"{SENTENCES[i % len(SENTENCES)]} ({i})" for i in range(requests)]
    with tempfile.TemporaryDirectory(prefix="cbx-bench-serve-") as tmp:
        weights = Path(model_dir) if model_dir else build_random_weights(Path(tmp) / "random")
        narrator = dict(model=model, model_dir=weights, device=device, batch_size=batch_size, cache_dir=None)
        config = ServeConfig(Path(tmp) / "serve", Limits(concurrent=max(clients)))
        with serving(build_app(narrator, config, [], engine_factory=engine_factory)) as base:
            _measure(base, texts[:1], 1, tokens)  # warm-up: the first call pays for lazy initialisation
            sides = {str(n): _measure(base, texts, n, tokens) for n in clients}
    return {"model": model, "device": device, "requests": requests, "tokens": tokens, "batch_size": batch_size,
            "clients": sides}


def _measure(base: str, texts: list[str], clients: int, tokens: int) -> dict:
    import httpx

    body = {"max_tokens": tokens, "retries": 0, "format": "pcm"}
    with httpx.Client(base_url=base, timeout=3600) as http:
        def ask(text: str) -> float:
            answer = http.post("/v1/tts", json={"text": text, **body})
            answer.raise_for_status()
            return float(answer.headers["x-cbx-audio-seconds"])

        started = time.monotonic()
        with ThreadPoolExecutor(clients) as pool:
            audio = sum(pool.map(ask, texts))
        wall = time.monotonic() - started
    return {"wall_s": round(wall, 2), "requests_per_min": round(60 * len(texts) / wall, 2),
            "audio_s_per_s": round(audio / wall, 3), "audio_s": round(audio, 2)}


def format_report(result: dict) -> str:
    lines = [f"cbx serve, {result['model']} on {result['device']}: {result['requests']} requests of "
             f"{result['tokens']} tokens, batch size {result['batch_size']}", "",
             "| clients | wall s | requests / min | audio s / wall s |", "| --- | --- | --- | --- |"]
    for n, side in result["clients"].items():
        lines.append(f"| {n} | {side['wall_s']} | {side['requests_per_min']} | {side['audio_s_per_s']} |")
    return "\n".join(lines)
