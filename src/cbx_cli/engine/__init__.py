"""Engines turn chunks into float32 waveforms. Heavy imports (torch, chatterbox) happen inside `load()`."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cbx_cli.engine.base import Engine, EngineSpec


def make_engine(spec: EngineSpec) -> Engine:
    """The batched engine by default; the stock per-chunk path with --no-batch."""
    if spec.batched:
        from cbx_cli.engine.batched import BatchedChatterboxEngine

        return BatchedChatterboxEngine(spec)
    from cbx_cli.engine.stock import ChatterboxEngine

    return ChatterboxEngine(spec)
