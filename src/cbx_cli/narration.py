"""A finished narration as plain data: the program's audio, where each take and chapter sits in it, and what made it.

`cbx_cli.api.assemble` makes one from a job's takes; `cbx_cli.deliver` writes it (the audio file, the manifest, the
subtitles). Nothing here reads or writes anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cbx_cli.plan.chunks import Plan
from cbx_cli.render.takes import RenderStats, Take


@dataclass
class Narration:
    """A finished program: float32 mono audio, where each chunk and chapter sits in it, and what made it."""

    audio: np.ndarray
    sample_rate: int
    spans: list[tuple[float, float]]
    """(start, end) in seconds of each take in the output, in chunk order."""
    chapters: list[tuple[float, float, str]]
    """(start, end, title) of each chapter."""
    takes: list[Take]
    plan: Plan
    info: dict[str, Any]
    """Model, checkpoint, revision, engine and versions: the manifest's header."""
    stats: RenderStats = field(default_factory=RenderStats)
    warnings: list[str] = field(default_factory=list)
    wall: float = 0.0
    """Seconds the narration took, model loading included."""
    captions: list[list[str]] = field(default_factory=list)
    """Each take's text sentence by sentence, as subtitles show it (tags removed), in chunk order."""

    @property
    def duration(self) -> float:
        return len(self.audio) / self.sample_rate


@dataclass
class AudioPiece:
    """A piece of a narration as it streams (`Narrator.stream`): finished audio that follows the previous piece."""

    chunk: int
    """The index of the chunk it belongs to (`Chunk.index`)."""
    start: float
    """Where it begins in the stream, in seconds."""
    audio: np.ndarray
    """float32 mono at `sample_rate`: gained, limited, at the job's speed and volume; a chunk's last piece ends
    with its pause."""
    sample_rate: int
    take: Take | None = None
    """On the chunk's last piece only: its whole take (as cached, before finishing), with the guards' warnings."""

    @property
    def last(self) -> bool:
        """Whether this is its chunk's last piece."""
        return self.take is not None

    @property
    def seconds(self) -> float:
        return len(self.audio) / self.sample_rate

