"""A worker: loads the model once, says what the driver needs to look takes up, and renders batches of takes.

The same class runs in the driver's process (`LocalPool`) and as a Ray actor (`RayPool`). A batch is rendered by
the library's `Narrator.render`, the path `cbx book` takes, guards and seeded retries included, into a take cache
held in memory; every entry it stored (retries too) goes back to the driver, which keeps them in its take cache.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np

from cbx_cli.api import CachedTake, Chunk, EngineFactory, EngineInfo, EngineSpec, Synthesis, TakeRequest, VoicePrompt


@dataclass(frozen=True)
class Piece:
    """One take to render: a chunk and the voice it is spoken in (None: the checkpoint's built-in voice)."""

    chunk: Chunk
    prompt: VoicePrompt | None


@dataclass
class Entry:
    """A take as the take cache stores it, under its key."""

    key: str
    audio: np.ndarray
    sample_rate: int
    tokens: int | None
    text: str


@dataclass(frozen=True)
class ModelFacts:
    """What the driver needs of a loaded model to find its takes in the cache and to assemble: no weights."""

    identity: str
    sample_rate: int
    info: EngineInfo
    voice_ids: dict[VoicePrompt | None, str]


@dataclass
class BatchResult:
    entries: list[Entry]
    """Every take the batch stored: first attempts and retries."""
    seconds: float
    """Seconds of audio in the batch's final takes."""
    wall: float


class MemoryCache:
    """The take cache interface `render` uses, kept in memory: what it stores is sent back to the driver."""

    corrupt = 0

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}

    def get(self, key: str, text: str | None = None) -> CachedTake | None:
        entry = self.entries.get(key)
        if entry is None or (text is not None and entry.text != text):
            return None
        return CachedTake(entry.audio, entry.sample_rate, entry.tokens)

    def put(self, key: str, audio: np.ndarray, sample_rate: int, tokens: int | None = None, text: str = "") -> None:
        self.entries[key] = Entry(key, np.asarray(audio, dtype=np.float32), sample_rate, tokens, text)


class Worker:
    """One model per worker: in this process loaded on the first batch it renders (a run whose takes are all cached
    loads none), on a cluster when the worker starts. ``threads``: torch's CPU threads (the cores the worker was
    given), so workers sharing a machine do not fight over its cores; ``engine_factory``: what makes its engine
    (default: the library's)."""

    def __init__(self, spec: EngineSpec, batch_size: int | None, threads: int | None = None,
                 engine_factory: EngineFactory | None = None, lazy: bool = False):
        from cbx_cli.api import Narrator

        if threads:
            import torch

            torch.set_num_threads(threads)
        self.narrator = Narrator(spec.model, model_dir=spec.model_dir, revision=spec.revision, device=spec.device,
                                 batched=spec.batched, batch_size=batch_size, cache_dir=None,
                                 engine_factory=engine_factory)
        if not lazy:
            self.narrator.load()

    def pid(self) -> int:
        return os.getpid()

    def describe(self, model: str, prompts: list[VoicePrompt | None]) -> ModelFacts:
        """``model``'s identity, rate and device, and the id of each voice, as its engine names them (without
        loading it, where the engine factory can tell)."""
        facts = self.narrator.facts(model)
        return ModelFacts(facts.identity, facts.sample_rate, facts.info, {p: facts.voice_id(p) for p in prompts})

    def render(self, pieces: list[Piece], retries: int) -> BatchResult:
        """The batch's takes, guards and ``retries`` seeded retries included, as cache entries."""
        started = time.monotonic()
        cache = MemoryCache()
        seconds = 0.0
        for (model, prompt), group in _groups(pieces).items():
            takes = self.narrator.render([piece.chunk for piece in group], prompt, model, retries, cache)
            seconds += sum(take.seconds for take in takes)
        return BatchResult(list(cache.entries.values()), seconds, time.monotonic() - started)

    def synthesize(self, model: str, pieces: list[Piece]) -> list[Synthesis]:
        """Takes the driver found missing while assembling (the cache could not keep them): no guards, as asked."""
        engine = self.narrator.engine(model)
        return engine.synthesize([TakeRequest(p.chunk, engine.voice(p.prompt)) for p in pieces])


def _groups(pieces: list[Piece]) -> dict[tuple[str, VoicePrompt | None], list[Piece]]:
    groups: dict[tuple[str, VoicePrompt | None], list[Piece]] = {}
    for piece in pieces:
        groups.setdefault((piece.chunk.model, piece.prompt), []).append(piece)
    return groups
