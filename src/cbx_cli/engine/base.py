"""The engine seam: what callers hand an engine, what they get back, and the protocol every engine follows.

Plain data and protocols only: no torch or numpy, and no runtime import of the planner, the parser or the voice
library (a chunk is typed for checkers only), so `cbx --help` stays instant and the engine sits below the text
stages.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from cbx_cli.config.models import MODEL_DIR_ENV

if TYPE_CHECKING:
    import numpy as np

    from cbx_cli.plan.chunks import Chunk


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


@dataclass(frozen=True)
class TakeRequest:
    """One chunk to synthesize, in one voice."""

    chunk: Chunk
    voice: Voice


@dataclass
class Synthesis:
    """One take as the engine made it."""

    audio: np.ndarray
    """float32 mono at the engine's `sample_rate`."""
    tokens: int | None
    """Speech tokens generated, stop token excluded; None where the engine path does not count them."""


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
    """Synthesizes takes, in order, as float32 mono arrays at `sample_rate`."""

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

    def synthesize(self, requests: Sequence[TakeRequest]) -> list[Synthesis]: ...

