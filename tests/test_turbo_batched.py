"""Turbo batched: per-row seeds, budgets and stops, turbo's processors (top_k included), on the tiny random turbo
checkpoint. Greedy here means top_k = 1: one token survives turbo's top-k, whatever the other settings do after it.
"""

from __future__ import annotations

import numpy as np
import pytest

from cbx_cli.config.params import SynthesisParams
from test_batched import (
    TEXTS,
    chunk,
    one_torch_thread,  # noqa: F401  (module-scoped, autouse: one torch thread here too)
    requests,
)

pytestmark = pytest.mark.engine

GREEDY = SynthesisParams(top_k=1)
GREEDY_ODD = SynthesisParams(top_k=1, top_p=0.8, temperature=1.3, repetition_penalty=1.6)


@pytest.fixture(scope="module")
def turbo(turbo_ckpt):
    from cbx_cli.engine import make_engine
    from cbx_cli.engine.base import EngineSpec

    engine = make_engine(EngineSpec(model="turbo", model_dir=turbo_ckpt, device="cpu"))
    engine.load()
    assert engine.batchable()
    return engine


def batched_tokens(engine, chunks):
    return [t.tolist() for t in engine.speech_tokens(requests(engine, chunks))]


def stock_tokens(engine, c):
    """Stock `T3.inference_turbo`, called as `ChatterboxTurboTTS.generate` calls it (the stock engine's call)."""
    import torch

    torch.manual_seed(c.seed)
    with torch.inference_mode():
        tokens, _ = engine.stock.speech_tokens(c, engine.voice(None).conditionals)
    return tokens.tolist()


def test_greedy_tokens_equal_stock_alone_and_in_a_batch(turbo):
    chunks = [chunk(i, t, b, GREEDY_ODD if i % 2 else GREEDY) for i, (t, b) in enumerate(zip(TEXTS, (6, 11, 3, 18),
                                                                                          strict=True))]
    batch = batched_tokens(turbo, chunks)
    assert [len(t) for t in batch] == [6, 11, 3, 18]  # random weights never stop: each row runs to its budget
    for c, tokens in zip(chunks, batch, strict=True):
        assert tokens == stock_tokens(turbo, c), c.spoken
    assert batched_tokens(turbo, [chunks[3]]) == [batch[3]]


def test_sampled_take_does_not_depend_on_its_batch(turbo):
    """Sampling (stock's default top_k 1000, top_p, temperature): a chunk's tokens and audio are the same alone and
    among others, and depend on its seed."""
    target = chunk(0, TEXTS[1], 7)
    alone = batched_tokens(turbo, [target])[0]
    among = batched_tokens(turbo, [chunk(1, TEXTS[2], 12), target, chunk(2, TEXTS[0], 3)])
    assert among[1] == alone
    assert batched_tokens(turbo, [chunk(0, TEXTS[1], 7, seed=99)])[0] != alone
    one = turbo.synthesize(requests(turbo, [target]))[0]
    two = turbo.synthesize(requests(turbo, [chunk(1, TEXTS[3], 5), target]))[1]
    assert one.audio.size > 0 and np.array_equal(one.audio, two.audio)


def test_voice_conditioning_is_prefilled_once_per_voice(turbo, tmp_path):
    """A turbo prompt is mostly its voice's conditioning (speaker and speech prompt): its keys and values are
    computed once per voice and shared; voices with conditionings of different lengths share a batch. Each
    chunk's tokens are those it gets alone."""
    from cbx_cli.engine.base import TakeRequest, VoicePrompt
    from cbx_cli.tools.checkpoints import write_voice_wav

    builtin = turbo.voice(None)
    other = turbo.voice(VoicePrompt(write_voice_wav(tmp_path / "long.wav", seconds=10.0, sr=24000)))
    lengths = {turbo.t3.t3.prepare_conditioning(v.conditionals.t3).shape[1] for v in (builtin, other)}
    assert len(lengths) == 2  # a 10 s recording gives a longer speech prompt than the built-in voice's
    chunks = [chunk(i, TEXTS[i % len(TEXTS)], 4 + i, GREEDY_ODD if i % 2 else GREEDY) for i in range(5)]
    batch = [TakeRequest(c, other if i in (1, 2) else builtin) for i, c in enumerate(chunks)]
    turbo.t3.__dict__.pop("_prefixes", None)
    together = [t.tolist() for t in turbo.speech_tokens(batch)]
    assert len(turbo.t3._prefixes) == 2
    for request, tokens in zip(batch, together, strict=True):
        assert [t.tolist() for t in turbo.speech_tokens([request])] == [tokens]
        assert len(tokens) == request.chunk.max_tokens
