"""The Engine protocol and the settings that pick a model."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from cbx_cli.config.models import MODEL_DIR_ENV

if TYPE_CHECKING:
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

    @classmethod
    def from_options(
        cls,
        model: str,
        model_dir: Path | None,
        device: str,
        language: str | None,
        batched: bool = True,
        revision: str | None = None,
    ) -> EngineSpec:
        if model_dir is None and os.environ.get(MODEL_DIR_ENV):
            model_dir = Path(os.environ[MODEL_DIR_ENV])
        return cls(model=model, model_dir=model_dir, device=device, language=language, batched=batched,
                   revision=revision)


class Engine(Protocol):
    """Synthesizes chunks, in order, to float32 mono arrays at `sample_rate`."""

    sample_rate: int

    def load(self) -> None: ...

    def set_voice(self, voice: Path | None, exaggeration: float) -> None: ...

    def identity(self) -> str:
        """A string naming the checkpoint and voice, for cache keys and manifests."""
        ...

    def synthesize(self, chunks: Sequence[Chunk]) -> list[np.ndarray]: ...

