"""Chunks → takes: cache first, then the engine in batches, then guards with seeded retries.

The only stage that drives the engine. Every take is stored in the cache the moment its batch is done,
so a run cut off at any point loses no finished chunk.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from cbx_cli.engine.base import Engine, TakeRequest
from cbx_cli.plan.chunks import Chunk, retry_chunk
from cbx_cli.render.cache import TakeCache, take_key
from cbx_cli.render.guards import check_take

log = logging.getLogger(__name__)


@dataclass
class Take:
    chunk: Chunk
    """The chunk as finally rendered (its seed is the retry's, if it was retried)."""
    audio: np.ndarray
    seconds: float
    tokens: int | None = None
    from_cache: bool = False
    attempts: int = 1
    warnings: list[str] = field(default_factory=list)
    key: str | None = None
    """Its take-cache key (`take_key`): where `cbx review` finds its audio."""


@dataclass
class Progress:
    done: int
    total: int
    audio_seconds: float
    elapsed: float
    cached: int = 0


@dataclass
class RenderStats:
    rendered: int = 0
    cached: int = 0
    retried: int = 0
    flagged: int = 0
    corrupt: int = 0


class RenderInterrupted(Exception):
    """Ctrl-C during a render; finished takes are already in the cache."""

    def __init__(self, saved: int, total: int):
        super().__init__(f"{saved} of {total} chunks saved")
        self.saved = saved
        self.total = total


ProgressFn = Callable[[Progress], None]


def _from_cache(
    requests: Sequence[TakeRequest], identity: str, sr: int, cache: TakeCache | None, stats: RenderStats
) -> tuple[dict[int, Take], list[TakeRequest]]:
    """The takes the cache holds (by chunk index), and the requests it does not."""
    ready: dict[int, Take] = {}
    misses = []
    for request in requests:
        chunk = request.chunk
        key = take_key(identity, request.voice.id, chunk)
        hit = cache.get(key) if cache else None
        if hit is not None and hit.sample_rate == sr:
            ready[chunk.index] = Take(chunk, hit.audio, len(hit.audio) / sr, hit.tokens, from_cache=True, key=key)
            stats.cached += 1
        else:
            misses.append(request)
    return ready, misses


def _synthesized(
    batch: Sequence[TakeRequest], engine: Engine, identity: str, cache: TakeCache | None
) -> Iterator[Take]:
    """The engine's takes for `batch`, each stored in the cache as soon as the batch is done, one by one."""
    sr = engine.sample_rate
    for request, made in zip(batch, engine.synthesize(batch), strict=True):
        chunk = request.chunk
        key = take_key(identity, request.voice.id, chunk)
        if cache:
            cache.put(key, made.audio, sr, made.tokens, chunk.spoken)
        yield Take(chunk, made.audio, len(made.audio) / sr, made.tokens, key=key)


def render(
    requests: Sequence[TakeRequest],
    engine: Engine,
    batch_size: int = 8,
    on_progress: ProgressFn | None = None,
    cache: TakeCache | None = None,
    retries: int = 0,
    stats: RenderStats | None = None,
) -> list[Take]:
    """Synthesize every request's chunk (or take it from the cache), retrying bad takes with the next derived seed.

    A retry keeps its request's voice.
    """
    stats = stats if stats is not None else RenderStats()
    chunks = [r.chunk for r in requests]
    identity = engine.identity()
    sr = engine.sample_rate
    final: dict[int, Take] = {}
    attempt_of = {c.index: 0 for c in chunks}
    started = time.monotonic()
    pending = list(requests)
    try:
        while pending:
            ready, misses = _from_cache(pending, identity, sr, cache, stats)
            for i in range(0, len(misses), max(1, batch_size)):
                for take in _synthesized(misses[i : i + batch_size], engine, identity, cache):
                    ready[take.chunk.index] = take
                    stats.rendered += 1
                if on_progress:
                    done = {**final, **ready}
                    on_progress(Progress(len(done), len(chunks), sum(t.seconds for t in done.values()),
                                         time.monotonic() - started, stats.cached))
            pending = []
            for request in (r for r in requests if r.chunk.index in ready):
                chunk = request.chunk
                take = ready[chunk.index]
                problems = check_take(take.chunk, take.audio, sr, take.tokens)
                attempt = attempt_of[chunk.index]
                if problems and attempt < retries:
                    attempt_of[chunk.index] = attempt + 1
                    stats.retried += attempt == 0
                    pending.append(TakeRequest(retry_chunk(chunk, attempt + 1), request.voice))
                    continue
                take.attempts = attempt + 1
                if problems:
                    take.warnings = [f"take {p}" for p in problems]
                    stats.flagged += 1
                final[chunk.index] = take
    except KeyboardInterrupt:
        raise RenderInterrupted(stats.rendered + stats.cached, len(chunks)) from None
    finally:
        if cache:
            stats.corrupt = cache.corrupt
    if on_progress:
        on_progress(Progress(len(final), len(chunks), sum(t.seconds for t in final.values()),
                             time.monotonic() - started, stats.cached))
    return [final[c.index] for c in chunks]
