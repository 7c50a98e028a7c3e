"""Continuous batching on the tiny checkpoint: T3 rows refilled as they finish, one scheduler over every voice.

A finished row hands out its tokens at the next check point and the next chunk takes its place in the running
batch (prefilled apart, written into the freed row's cache just before the current slot). What must hold: a
chunk's tokens are the ones it gets decoded alone, whichever chunks it shared rows with and whenever it joined;
the GPU shape (fixed-size cache a CUDA graph reads) refills and slides in place and never grows; the engine hands
each take out when it is ready, over several voices at once.

Random weights never draw the stop token, so rows end at their budgets, except where a test makes a row draw it.
"""

from __future__ import annotations

import numpy as np
import pytest

from test_batched import (
    GREEDY,
    GREEDY_ODD,
    TEXTS,
    chunk,
    one_torch_thread,  # noqa: F401  (module-scoped, autouse: one torch thread here too)
    requests,
    stock_tokens,
    t3_tokens,
)
from test_gpu_profile import load

pytestmark = pytest.mark.engine

BUDGETS = (20, 5, 9, 3, 14, 7)


def six_chunks(params=None):
    return [chunk(i, TEXTS[i % len(TEXTS)], b, params or (GREEDY_ODD if i % 3 == 1 else SynthesisDefault))
            for i, b in enumerate(BUDGETS)]


SynthesisDefault = chunk(0, "x", 1).params
"""The default sampling settings (temperature, min_p, top_p...): rows draw from their own random streams."""


def stream(engine, chunks, rows: int):
    """(finish order, tokens by chunk index) of `T3BatchDecoder.stream`."""
    conds = engine._conds(requests(engine, chunks), list(range(len(chunks))))
    order, tokens = [], {}
    for finished in engine.t3.stream(chunks, conds, rows):
        for i, t, _done in finished:
            order.append(i)
            tokens[i] = t
    return order, tokens


def recording(monkeypatch, cls, name, log, what):
    """Wrap `cls.name` so each call appends `what(self, *args)` to `log` first."""
    real = getattr(cls, name)

    def wrapper(self, *args, **kwargs):
        log.append(what(self, *args))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(cls, name, wrapper)


@pytest.fixture(scope="module")
def engine(original_ckpt):
    return load(original_ckpt, "auto")


@pytest.fixture(scope="module")
def fp32(original_ckpt):
    return load(original_ckpt, "gpu-fp32")


def test_freed_rows_take_the_next_chunks(engine, monkeypatch):
    """Two rows, six chunks: each finished row is refilled at once, so chunks finish in the order their budgets
    give with refills (a batch drained before the next starts would finish 1, 0, 3, 2, 5, 4), and every chunk's
    tokens are those it gets alone."""
    from cbx_cli.engine.t3_batch import T3BatchDecoder

    admitted: list = []
    recording(monkeypatch, T3BatchDecoder, "_admit", admitted, lambda self, st, at, joining, *rest: (at, joining))
    chunks = six_chunks()
    order, tokens = stream(engine, chunks, rows=2)
    # row 1: chunk 1 (5 steps), then 2 (9), 3 (3), 4 (14); row 0: chunk 0 (20), then 5 (7)
    assert order == [1, 2, 3, 0, 5, 4]
    assert admitted == [([0, 1], [0, 1]), ([1], [2]), ([1], [3]), ([1], [4]), ([0], [5])]
    assert [len(tokens[i]) for i in range(6)] == list(BUDGETS)
    for c in chunks:
        assert tokens[c.index].tolist() == t3_tokens(engine, [c])[0].tolist(), c.index


def test_a_row_that_draws_its_stop_token_is_refilled(engine, monkeypatch):
    """A row that draws the stop token at its 4th draw ends there (stop kept, as stock returns it) and its place
    goes to the next chunk at the next check point; the other chunks' tokens do not change."""
    from cbx_cli.engine.t3_batch import T3BatchDecoder

    stop = engine.stock.model.t3.hp.stop_speech_token
    chunks = six_chunks()
    _, free = stream(engine, chunks, rows=2)
    real = T3BatchDecoder._sample

    def sample(self, st, logits):  # chunk 0 draws the stop token as its 4th token
        real(self, st, logits)
        for r, i in enumerate(st.index_host):
            if i == 0 and int(st.step[r]) == 4 and not bool(st.done[r]):
                st.out[r, 3] = st.last[r] = stop
                st.done[r] = True

    monkeypatch.setattr(T3BatchDecoder, "_sample", sample)
    admitted: list = []
    recording(monkeypatch, T3BatchDecoder, "_admit", admitted, lambda self, st, at, joining, *rest: (at, joining))
    order, got = stream(engine, chunks, rows=2)
    assert got[0].tolist() == free[0][:3].tolist() + [stop]
    for i in range(1, 6):
        assert got[i].tolist() == free[i].tolist(), i
    assert order[:2] == [0, 1] and admitted[1] == ([0, 1], [2, 3])  # both rows freed at step 5, refilled at once


def test_gpu_shape_refills_and_slides_in_place(fp32, monkeypatch):
    """The GPU shape: the cache a captured graph reads is allocated once and never grows nor moves; refilled rows
    are written into it in place, and when the slots run out the rows' windows slide back over slots no live row
    reads. Every chunk keeps stock's greedy tokens."""
    from cbx_cli.engine.t3_batch import DecodeState, KVCache, T3BatchDecoder

    chunks = [chunk(i, TEXTS[i % len(TEXTS)], b, GREEDY) for i, b in enumerate((40, 24, 24, 24, 24, 24))]
    grown, slides, storage = [], [], []
    monkeypatch.setattr(KVCache, "grow", lambda self, capacity: grown.append(capacity))
    recording(monkeypatch, DecodeState, "slide", slides, lambda self, d: d)
    recording(monkeypatch, T3BatchDecoder, "_admit", storage, lambda self, st, *rest: st.cache.k[0].data_ptr())
    order, tokens = stream(fp32, chunks, rows=2)
    assert grown == [] and slides and all(d > 0 for d in slides)
    assert len(set(storage)) == 1 and len(storage) == 5
    assert sorted(order) == list(range(6)) and order[-1] == 5
    for c in chunks:
        assert tokens[c.index].tolist() == stock_tokens(fp32, c).tolist(), c.index


def test_cpu_shape_slides_its_windows(engine, monkeypatch):
    """The CPU shape slides the windows back once half the slots are dead, so attention reads fewer slots; the
    tokens are those of each chunk alone."""
    from cbx_cli.engine.t3_batch import DecodeState

    slides: list = []
    recording(monkeypatch, DecodeState, "slide", slides, lambda self, d: d)
    chunks = [chunk(i, TEXTS[i % len(TEXTS)], b) for i, b in enumerate((30, *[16] * 10))]
    _, tokens = stream(engine, chunks, rows=2)
    assert slides
    for c in chunks:
        assert tokens[c.index].tolist() == t3_tokens(engine, [c])[0].tolist(), c.index


def test_engine_streams_takes_of_every_voice_as_they_are_ready(engine, voice_wav, monkeypatch):
    """Requests in two voices through one engine call, two rows at a time: each take comes out as soon as its
    S3Gen is done (not in request order: the longest chunks start first, and a freed row takes the next), and is
    the take its chunk gets alone, bit for bit (one torch thread)."""
    from cbx_cli.engine.base import TakeRequest, VoicePrompt

    builtin, other = engine.voice(None), engine.voice(VoicePrompt(voice_wav))
    chunks = [chunk(i, TEXTS[i % len(TEXTS)], b) for i, b in enumerate((6, 2, 4, 3))]
    voices = [builtin, other, other, builtin]
    batch = [TakeRequest(c, v) for c, v in zip(chunks, voices, strict=True)]
    monkeypatch.setattr(engine, "max_batch", 2)
    got = list(engine.stream(batch))
    # rows: 0 (6 steps) then 1, 2 (4 steps) then 3; 0 and 3 end at the same check point and go through S3Gen
    # together, the shorter first
    assert [i for i, _ in got] == [2, 3, 0, 1]
    for i, take in got:
        alone = engine.synthesize([batch[i]])[0]
        assert take.tokens == chunks[i].max_tokens
        assert np.array_equal(take.audio, alone.audio), i


def test_each_voice_conditioning_is_prefilled_once(engine, voice_wav):
    """The conditioning part of every prompt (speaker, speech prompt, emotion) is the same for all chunks of one
    voice and exaggeration: its keys and values are computed once and shared, and only each chunk's text is
    prefilled. Two voices and a second exaggeration: three computations for seven chunks."""
    from cbx_cli.config.params import SynthesisParams
    from cbx_cli.engine.base import TakeRequest, VoicePrompt

    builtin, other = engine.voice(None), engine.voice(VoicePrompt(voice_wav))
    livelier = SynthesisParams(exaggeration=0.9)
    chunks = [chunk(i, TEXTS[i % len(TEXTS)], 3, livelier if i == 6 else SynthesisDefault) for i in range(7)]
    batch = [TakeRequest(c, other if i % 2 else builtin) for i, c in enumerate(chunks)]
    engine.t3.__dict__.pop("_prefixes", None)
    conds = engine._conds(batch, list(range(7)))
    tokens = {i: t for finished in engine.t3.stream(chunks, conds, 3) for i, t, _done in finished}
    assert len(engine.t3._prefixes) == 3
    assert tokens[1].tolist() == engine.speech_tokens([batch[1]])[0].tolist()
