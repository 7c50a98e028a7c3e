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


def test_rows_hand_out_their_tokens_while_they_decode(turbo):
    """With ``want``, each row is handed out as it draws: its tokens so far, more than once before it ends, each a
    prefix of its final tokens, which are `decode`'s."""
    chunks = [chunk(0, TEXTS[1], 40), chunk(1, TEXTS[0], 23, GREEDY)]
    conds = [turbo.voice(None).conditionals.t3] * len(chunks)
    handed: dict[int, list[tuple[list[int], bool]]] = {0: [], 1: []}

    def want(i):  # 7 tokens more than were last handed out
        return 7 + (len(handed[i][-1][0]) if handed[i] else 0)

    for rows in turbo.t3.stream(chunks, conds, 2, want=want):
        for i, tokens, done in rows:
            handed[i].append((tokens.tolist(), done))
    final = [t.tolist() for t in turbo.t3.decode(chunks, conds)]
    for i, got in handed.items():
        assert [done for _, done in got].count(True) == 1 and got[-1] == (final[i], True)
        partial = [tokens for tokens, _ in got[:-1]]
        assert len(partial) >= 2 and len(final[i]) == chunks[i].max_tokens
        assert all(len(t) >= 7 and t == final[i][: len(t)] for t in partial)
        assert all(len(a) < len(b) for a, b in zip(partial, partial[1:], strict=False))


def test_streamed_take_starts_before_t3_ends_and_is_deterministic(turbo, monkeypatch):
    """Streamed through the batched engine, a turbo take's first piece comes while its row still has T3 steps to
    draw; its pieces, joined, are the same samples every time."""
    from cbx_cli.engine.base import PieceSizes

    forward, steps = turbo.t3._forward, []
    monkeypatch.setattr(turbo.t3, "_forward", lambda *a: steps.append(1) or forward(*a))
    request = requests(turbo, [chunk(0, TEXTS[1], 24)])

    def streamed():
        pieces, at = [], []  # at: T3 forward passes run when each piece came
        for _, piece in turbo.stream_pieces(request, PieceSizes(10, 25)):
            pieces.append(piece)
            at.append(len(steps))
        return pieces, at, len(steps)

    pieces, at, total = streamed()
    assert len(pieces) == 2 and pieces[-1].take is not None and pieces[-1].take.tokens == 24
    assert at[0] < total  # T3 drew more tokens after the first piece was out
    steps.clear()
    again, _, _ = streamed()
    assert np.array_equal(np.concatenate([p.audio for p in pieces]), np.concatenate([p.audio for p in again]))
