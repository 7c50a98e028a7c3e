"""Chunks → takes: the only stage that drives the engine."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from cbx_cli.engine.base import Engine
from cbx_cli.plan import Chunk

log = logging.getLogger(__name__)


@dataclass
class Take:
    chunk: Chunk
    audio: np.ndarray
    seconds: float
    from_cache: bool = False


@dataclass
class Progress:
    done: int
    total: int
    audio_seconds: float
    elapsed: float


ProgressFn = Callable[[Progress], None]


def render(
    chunks: Sequence[Chunk],
    engine: Engine,
    batch_size: int = 8,
    on_progress: ProgressFn | None = None,
) -> list[Take]:
    """Synthesize every chunk, in batches, reporting progress after each batch."""
    takes: list[Take] = []
    started = time.monotonic()
    audio_seconds = 0.0
    for i in range(0, len(chunks), max(1, batch_size)):
        batch = list(chunks[i : i + batch_size])
        waves = engine.synthesize(batch)
        for chunk, wav in zip(batch, waves, strict=True):
            seconds = len(wav) / engine.sample_rate
            audio_seconds += seconds
            takes.append(Take(chunk, wav, seconds))
        if on_progress:
            on_progress(Progress(len(takes), len(chunks), audio_seconds, time.monotonic() - started))
    return takes
