"""The engine seam: what callers hand an engine, what they get back, and the protocol every engine follows.

Plain data and protocols only: no torch or numpy, and nothing of the planner, the parser or the voice library (what
an engine reads of a chunk is the `SpokenChunk` protocol), so the engine sits below the text stages.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from cbx_cli.config.models import MODEL_DIR_ENV
from cbx_cli.config.params import SynthesisParams

if TYPE_CHECKING:  # numpy only names the audio's type here: importing this module stays cheap
    import numpy as np


@dataclass(frozen=True)
class EngineSpec:
    """Which weights to load, and where to run them."""

    model: str = "original"
    model_dir: Path | None = None
    device: str = "auto"
    language: str | None = None
    revision: str | None = None
    batched: bool = True
    max_batch: int | None = None
    """Chunks the batched engine decodes at once; None: its own choice (8 on a CPU, by free memory on CUDA)."""

    @classmethod
    def from_options(
        cls,
        model: str,
        model_dir: Path | None,
        device: str,
        language: str | None,
        batched: bool = True,
        revision: str | None = None,
        max_batch: int | None = None,
    ) -> EngineSpec:
        if model_dir is None and os.environ.get(MODEL_DIR_ENV):
            model_dir = Path(os.environ[MODEL_DIR_ENV])
        return cls(model=model, model_dir=model_dir, device=device, language=language, batched=batched,
                   revision=revision, max_batch=max_batch)


@dataclass(frozen=True)
class VoicePrompt:
    """A checked reference recording to condition on."""

    path: Path
    name: str | None = None
    """The voice library's name for it; None for a file or URL."""


class ConditioningStore(Protocol):
    """Where computed voice conditioning is kept between runs (the voice library is one)."""

    def find(self, prompt: VoicePrompt, model: str, checkpoint_id: str) -> Path | None:
        """Stored conditioning to load instead of computing it, or None."""
        ...

    def target(self, prompt: VoicePrompt, model: str, checkpoint_id: str) -> Path | None:
        """Where to save conditioning just computed for `prompt`, or None to keep it in memory only."""
        ...


@dataclass(frozen=True)
class Voice:
    """Voice conditioning an engine computed or loaded, ready to synthesize with."""

    id: str
    """What cache keys use: "builtin", "file:<digest>" or "voice:<name>:<digest>"; voices are equal by it."""
    conditionals: Any = field(compare=False, repr=False)
    """The model's own conditioning object (chatterbox `Conditionals`)."""


class SpokenChunk(Protocol):
    """What an engine reads of a chunk (the planner's `Chunk` is one): the text to say and how to say it."""

    spoken: str
    """The text as the model reads it (numbers, abbreviations and respellings written out)."""
    seed: int
    max_tokens: int
    """The take's budget of speech tokens."""
    params: SynthesisParams
    """Sampling values: exaggeration, temperature, cfg_weight, min_p, top_p, top_k, repetition_penalty."""
    language: str | None
    """The multilingual model's language code; None for the others."""


@dataclass(frozen=True)
class TakeRequest:
    """One chunk to synthesize, in one voice."""

    chunk: SpokenChunk
    voice: Voice


@dataclass
class Synthesis:
    """One take as the engine made it."""

    audio: np.ndarray
    """float32 mono at the engine's `sample_rate`."""
    tokens: int | None
    """Speech tokens generated, stop token excluded; None where the engine path does not count them."""


@dataclass(frozen=True)
class PieceSizes:
    """How a take is cut when it streams: speech tokens (25 a second of audio) in its first piece and in each piece
    after. A small first piece is heard sooner; larger ones after cost less."""

    first: int = 10
    rest: int = 25

    def boundary(self, k: int) -> int:
        """Speech tokens in the first k + 1 pieces together."""
        return self.first + k * self.rest


@dataclass
class Piece:
    """A stretch of one take's audio, handed out while the rest of the take is still being made."""

    audio: np.ndarray
    """float32 mono at the engine's `sample_rate`: the samples after the take's previous piece."""
    take: Synthesis | None = None
    """On the take's last piece only: the whole take, its pieces joined (as it is cached and judged)."""

    @property
    def last(self) -> bool:
        return self.take is not None


@dataclass(frozen=True)
class EngineInfo:
    """What a loaded engine runs: for manifests and warnings."""

    model: str
    checkpoint_id: str
    revision: str | None
    """The Hugging Face revision (commit) of the weights when they came from the hub cache."""
    device: str
    device_warning: str | None
    """A one-line warning when the device is a slow fallback."""


class Engine(Protocol):
    """Synthesizes takes as float32 mono arrays at `sample_rate`: all of a call's at once (`synthesize`), or each as
    soon as it is ready (`stream`)."""

    sample_rate: int
    info: EngineInfo
    """Set by `load()`."""
    timings: dict[str, float]
    """Seconds per stage of the last `synthesize` call: "t3" and "s3gen" at least."""

    def load(self) -> None: ...

    def identity(self) -> str:
        """The engine kind, model and checkpoint (not the voice), for cache keys and manifests."""
        ...

    def voice(self, prompt: VoicePrompt | None) -> Voice:
        """Conditioning for `prompt` (None: the checkpoint's built-in voice), computed once and kept."""
        ...

    def synthesize(self, requests: Sequence[TakeRequest]) -> list[Synthesis]:
        """One take per request, in order."""
        ...

    def stream(self, requests: Sequence[TakeRequest]) -> Iterator[tuple[int, Synthesis]]:
        """(index, take) for every request, each as soon as it is ready, so the caller can keep it at once. Callers
        hand a stream every take they need and the engine schedules them (the batched engine: continuous batching
        over all of them). This default, for an engine that makes a call's takes together, hands them out when
        `synthesize` returns; an engine that subclasses `Engine` inherits it."""
        yield from enumerate(self.synthesize(requests))

    def stream_pieces(self, requests: Sequence[TakeRequest], sizes: PieceSizes,
                      follows: Sequence[int | None] | None = None) -> Iterator[tuple[int, Piece]]:
        """(index, piece) for every request's take, a piece at a time as it is made: each take's pieces in order, its
        last piece carrying the whole take. ``follows[i]`` names the request whose take is heard just before
        request i's (None: none): no piece of a take is handed out before the take it follows has ended, and the
        pieces heard first are made first. This default, for an engine that cannot cut a take into pieces: each
        take `stream` makes, as one piece, in turn."""
        yield from in_turn(((i, Piece(take.audio, take)) for i, take in self.stream(requests)), follows)

    def stream_identity(self, sizes: PieceSizes) -> str:
        """What the take cache keys this engine's streamed takes by (`stream_pieces` with ``sizes``). This default,
        for an engine whose streamed takes are its whole takes: `identity()`."""
        return self.identity()

    def voice_sample(self, voice: Voice) -> np.ndarray | None:
        """The voice's reference as this engine renders it (float32 mono at `sample_rate`): what a streamed run,
        which cannot measure a take before playing it, sets its fixed gain by. None where the engine cannot."""
        return None


def in_turn(pieces: Iterable[tuple[int, Piece]], follows: Sequence[int | None] | None) -> Iterator[tuple[int, Piece]]:
    """``pieces`` (index, piece) in the order `Engine.stream_pieces` promises: a take's pieces only after the take it
    follows (``follows[i]``) has ended; the others wait."""
    if follows is None:
        yield from pieces
        return
    ended: set[int] = set()
    waiting: dict[int, list[Piece]] = {}
    for i, piece in pieces:
        waiting.setdefault(i, []).append(piece)
        moved = True
        while moved:
            moved = False
            for j in [j for j in waiting if follows[j] is None or follows[j] in ended]:
                for p in waiting.pop(j):
                    yield j, p
                    if p.last:
                        ended.add(j)
                        moved = True
    for j in sorted(waiting):  # a take whose predecessor never came (the caller's chain was broken)
        yield from ((j, p) for p in waiting[j])


@dataclass(frozen=True)
class EngineFacts:
    """What names an engine's takes, known before its weights load: a run whose takes are all in the take cache
    needs nothing more, so it loads no model."""

    identity: str
    """What the loaded engine's `identity()` gives."""
    sample_rate: int
    info: EngineInfo
    """As the loaded engine's, but ``device`` is empty: where it runs is decided when it loads."""
    voice_id: Callable[[VoicePrompt | None], str] = field(compare=False)
    """The id the loaded engine's `voice(prompt)` gives, worked out without computing the conditioning."""


EngineFactory = Callable[[EngineSpec, ConditioningStore | None], Engine]
"""What makes an engine for a spec, given where voice conditioning is kept: `make_engine`, or a wrapper around it
(the server's shared engine), or a test's fake. A factory may also have ``identify(spec, store)`` giving the
`EngineFacts` of the engine it would make, without making it (`make_engine.identify`): the library then makes and
loads an engine only when a take must be rendered."""

