"""Engines turn chunks into float32 waveforms. Heavy imports (torch, chatterbox) happen inside `load()`.

The seam (protocol, voices, requests, results) is `base.py`; `make_engine` picks the engine for a spec.
"""

from __future__ import annotations

from cbx_cli.engine.base import ConditioningStore, Engine, EngineSpec


def make_engine(spec: EngineSpec, store: ConditioningStore | None = None) -> Engine:
    """The batched engine by default; the stock per-chunk path with `spec.batched` off (--no-batch).

    store: where voice conditioning is found and kept between runs (the voice library), or None.
    """
    from cbx_cli.engine.stock import ChatterboxEngine

    stock = ChatterboxEngine(spec, store)
    if not spec.batched:
        return stock
    from cbx_cli.engine.batched import BatchedEngine

    return BatchedEngine(stock, max_batch=spec.max_batch)
