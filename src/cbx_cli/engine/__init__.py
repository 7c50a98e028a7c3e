"""Engines turn chunks into float32 waveforms. Heavy imports (torch, chatterbox) happen inside `load()`.

The seam (protocol, voices, requests, results) is `base.py`; `make_engine` picks the engine for a spec.
"""

from __future__ import annotations

from cbx_cli.engine.base import ConditioningStore, Engine, EngineFacts, EngineSpec


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


def identify_engine(spec: EngineSpec, store: ConditioningStore | None = None) -> EngineFacts:
    """The facts of the engine `make_engine` makes for ``spec``, without making or loading it: its checkpoint is
    found (a missing one fails here), nothing is imported that takes long."""
    from cbx_cli.engine.stock import ChatterboxEngine, identify

    if not spec.batched:
        return identify(spec, store, ChatterboxEngine.kind)
    from cbx_cli.engine.batched import BatchedEngine

    return identify(spec, store, BatchedEngine.kind)


make_engine.identify = identify_engine  # type: ignore[attr-defined]  # see EngineFactory
