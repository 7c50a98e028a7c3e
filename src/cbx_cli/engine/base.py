"""The Engine protocol and the settings that pick a model."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Protocol

import numpy as np

from cbx_cli.plan.chunks import Chunk


class Model(str, Enum):
    """The Chatterbox models."""

    original = "original"
    turbo = "turbo"
    multilingual = "multilingual"


class Device(str, Enum):
    """Where to run; auto picks CUDA, then MPS, then the CPU."""

    auto = "auto"
    cuda = "cuda"
    mps = "mps"
    cpu = "cpu"


MODELS = tuple(m.value for m in Model)
DEVICES = tuple(d.value for d in Device)

LANGUAGES = {
    "ar": "Arabic", "da": "Danish", "de": "German", "el": "Greek", "en": "English", "es": "Spanish",
    "fi": "Finnish", "fr": "French", "he": "Hebrew", "hi": "Hindi", "it": "Italian", "ja": "Japanese",
    "ko": "Korean", "ms": "Malay", "nl": "Dutch", "no": "Norwegian", "pl": "Polish", "pt": "Portuguese",
    "ru": "Russian", "sv": "Swedish", "sw": "Swahili", "tr": "Turkish", "zh": "Chinese",
}
"""The 23 languages of Chatterbox's multilingual model."""

MODEL_DIR_ENV = "CBX_MODEL_DIR"


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
