"""The batched engine: stock-equal greedy tokens, batch invariance, per-row budgets and streams, OOM halving, bench.

All on the tiny random checkpoint (2-layer T3, full-size S3Gen), CPU only. Random weights never draw the stop
token, so every row runs to its budget; budgets are kept small (S3Gen on a CPU is the slow part). The pure
sampling functions are tested without a model in test_sampling.py.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from cbx_cli.config.params import SynthesisParams
from cbx_cli.plan.chunks import Chunk

TEXTS = (
    "Hi there.",
    "The quick brown fox jumps over the lazy dog.",
    "A somewhat longer sentence, with a comma, so that its prompt is the longest of them all.",
    "Numbers: 1, 2 and 3!",
)
GREEDY = SynthesisParams(min_p=1.0)
"""min_p = 1 keeps only the most likely token: sampling is then argmax, whatever the random stream."""
# Greedy too, but with every other per-row setting changed: CFG, temperature, repetition penalty, top-p.
GREEDY_ODD = SynthesisParams(min_p=1.0, top_p=0.8, temperature=1.3, repetition_penalty=1.6, cfg_weight=0.9)


def chunk(i: int, text: str, max_tokens: int, params: SynthesisParams = SynthesisParams(), seed: int | None = None):
    return Chunk(index=i, text=text, spoken=text, chapter=0, paragraph=0, pause_after=0.0,
                 seed=1000 + i if seed is None else seed, max_tokens=max_tokens, params=params)


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """One intra-op thread for this module: the tiny model gains nothing from more, and on a busy (shared) CI
    runner OpenMP's spinning threads make every small op wait for a descheduled peer (4x slower here)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def engine(original_ckpt):
    from cbx_cli.engine import make_engine
    from cbx_cli.engine.base import EngineSpec

    eng = make_engine(EngineSpec(model="original", model_dir=original_ckpt, device="cpu"))
    eng.load()
    return eng


def requests(engine, chunks):
    from cbx_cli.engine.base import TakeRequest

    return [TakeRequest(c, engine.voice(None)) for c in chunks]


def t3_tokens(engine, chunks):
    """The batched T3's speech tokens for `chunks` (one batch, the built-in voice)."""
    return engine.speech_tokens(requests(engine, chunks))


def stock_tokens(engine, c: Chunk):
    """Stock `T3.inference`, called as `ChatterboxTTS.generate` calls it, with the chunk's settings and budget."""
    import torch
    import torch.nn.functional as F
    from chatterbox.tts import punc_norm

    from cbx_cli.engine.stock import with_exaggeration

    m, p = engine.stock.model, c.params
    text = m.tokenizer.text_to_tokens(punc_norm(c.spoken))
    text = torch.cat([text, text], dim=0)
    text = F.pad(F.pad(text, (1, 0), value=m.t3.hp.start_text_token), (0, 1), value=m.t3.hp.stop_text_token)
    torch.manual_seed(c.seed)
    return m.t3.inference(
        t3_cond=with_exaggeration(engine.voice(None).conditionals.t3, p.exaggeration, "cpu"), text_tokens=text,
        max_new_tokens=c.max_tokens, temperature=p.temperature, cfg_weight=p.cfg_weight,
        repetition_penalty=p.repetition_penalty, min_p=p.min_p, top_p=p.top_p,
    )[0]


def test_import_does_not_load_torch():
    code = "import sys, cbx_cli.engine.batched, cbx_cli.tools.bench; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.engine
def test_greedy_tokens_equal_stock(engine):
    chunks = [chunk(i, t, 10, GREEDY_ODD if i % 2 else GREEDY) for i, t in enumerate(TEXTS)]
    got = t3_tokens(engine, chunks)
    for c, tokens in zip(chunks, got, strict=True):
        expected = stock_tokens(engine, c)
        assert tokens.tolist() == expected.tolist(), c.spoken


@pytest.mark.engine
def test_per_row_budgets(engine):
    budgets = [3, 11, 6, 17]
    chunks = [chunk(i, t, b) for i, (t, b) in enumerate(zip(TEXTS, budgets, strict=True))]
    got = t3_tokens(engine, chunks)
    assert [len(t) for t in got] == budgets  # no stop token from random weights: each runs to its own budget
    # a longer budget continues the same stream: the first tokens do not depend on the budget
    longer = t3_tokens(engine, [chunk(0, TEXTS[0], 9)])[0]
    assert longer[:3].tolist() == got[0].tolist()
    # the longest row ran on alone after the others left the batch (at step 16): same tokens as unbatched
    assert t3_tokens(engine, [chunks[3]])[0].tolist() == got[3].tolist()


@pytest.mark.engine
def test_rows_stop_on_their_own(engine, monkeypatch):
    """A row that draws the stop token ends there (stop kept, as stock returns it); the others run on, unchanged,
    through the check point where finished rows leave the batch."""
    import cbx_cli.engine.t3_batch as t3_batch

    stop = engine.stock.model.t3.hp.stop_speech_token
    chunks = [chunk(i, t, b) for i, (t, b) in enumerate(zip(TEXTS, [20, 20, 5, 18], strict=True))]
    free = t3_tokens(engine, chunks)
    real_race, step = t3_batch.race, []

    def race(probs, uniforms):
        tok = real_race(probs, uniforms)
        step.append(1)
        if len(step) == 4:  # the 4th draw: row 1 (still at index 1, nothing has left the batch yet) stops
            tok[1] = stop
        return tok

    monkeypatch.setattr(t3_batch, "race", race)
    got = t3_tokens(engine, chunks)
    assert got[1].tolist() == free[1][:3].tolist() + [stop]
    for i in (0, 2, 3):
        assert got[i].tolist() == free[i].tolist()
    assert [len(t) for t in got] == [20, 4, 5, 18]


@pytest.mark.engine
def test_sampling_reproducible_per_seed(engine):
    a = t3_tokens(engine, [chunk(0, TEXTS[1], 12, seed=7)])[0]
    b = t3_tokens(engine, [chunk(0, TEXTS[1], 12, seed=7)])[0]
    c = t3_tokens(engine, [chunk(0, TEXTS[1], 12, seed=8)])[0]
    assert a.tolist() == b.tolist()
    assert a.tolist() != c.tolist()


@pytest.mark.engine
def test_batch_invariance(engine):
    """A chunk's take is the same alone, in a batch of 3, or with other neighbours: tokens and audio, bit for bit.

    On the CPU S3Gen decodes one chunk at a time (its batched form is checked in the next test); with one torch
    thread (this module) a chunk's arithmetic is then the same in any batch. With more threads, a chunk decoded
    alone uses them all and one in a batch uses one, and MKL's float sums depend on the thread count: equal to
    ~1e-6 relative then, not bit for bit.
    """
    target = chunk(0, TEXTS[1], 6)
    first = [target, chunk(1, TEXTS[2], 9), chunk(2, TEXTS[0], 4)]
    second = [chunk(3, TEXTS[3], 7, seed=5), target]

    alone_tokens = t3_tokens(engine, [target])[0]
    assert t3_tokens(engine, first)[0].tolist() == alone_tokens.tolist()
    assert t3_tokens(engine, second)[1].tolist() == alone_tokens.tolist()
    reordered = t3_tokens(engine, [first[2], first[1], target, second[0]])
    assert reordered[2].tolist() == alone_tokens.tolist()

    alone = engine.synthesize(requests(engine, [target]))[0].audio
    in_first = engine.synthesize(requests(engine, first))
    assert [t.tokens for t in in_first] == [6, 9, 4]
    in_second = engine.synthesize(requests(engine, second))
    assert alone.dtype == np.float32 and alone.ndim == 1 and len(alone) > 0
    for other in (in_first[0].audio, in_second[1].audio):
        assert np.array_equal(other, alone)


@pytest.mark.engine
def test_one_call_may_mix_voices(engine, voice_wav):
    """Requests in several voices: each take is the one its voice gives in a call of its own, in request order."""
    from cbx_cli.engine.base import TakeRequest, VoicePrompt

    builtin, other = engine.voice(None), engine.voice(VoicePrompt(voice_wav))
    a, b, c = chunk(0, TEXTS[0], 4), chunk(1, TEXTS[1], 5), chunk(2, TEXTS[3], 4)
    mixed = engine.synthesize([TakeRequest(a, builtin), TakeRequest(b, other), TakeRequest(c, builtin)])
    apart = engine.synthesize([TakeRequest(a, builtin), TakeRequest(c, builtin)])
    apart += engine.synthesize([TakeRequest(b, other)])
    assert [t.tokens for t in mixed] == [4, 5, 4]
    for got, expected in zip(mixed, [apart[0], apart[2], apart[1]], strict=True):
        assert np.array_equal(got.audio, expected.audio)
    assert not np.array_equal(mixed[1].audio, engine.synthesize([TakeRequest(b, builtin)])[0].audio)


@pytest.mark.engine
def test_cpu_flow_workers_equal_one_at_a_time(engine):
    """With several torch threads, chunks' S3Gen flow runs in worker threads (one torch thread each): the takes
    are those of the same chunks decoded one after another single-threaded (to float rounding: HiFT then runs
    with 2 threads, not 1), in order, and the thread count comes back."""
    import torch

    g = torch.Generator().manual_seed(5)
    tokens = [torch.randint(0, 6561, (n,), generator=g) for n in (3, 2)]
    seeds = [4, 5]
    voice = engine.voice(None)
    in_turn = engine.decode(tokens, seeds, voice)  # one torch thread (module fixture): no workers
    torch.set_num_threads(2)
    try:
        workers = engine.decode(tokens, seeds, voice)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(1)
    for a, b in zip(in_turn, workers, strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-5)
    assert [len(w) // 960 for w in workers] == [3, 2]


@pytest.mark.engine
def test_batched_flow_decoder(engine):
    """S3Gen's token -> mel step batched (as on CUDA): one row is stock's `flow_inference` bit for bit (same noise);
    in a padded batch each row matches its single-row result to float rounding.

    Not bit for bit: padding to the longest row changes the matrix shapes inside the encoder and flow decoder,
    and with them the order in which floats are summed (~1e-6 relative on mels of magnitude ~5).
    """
    import torch

    g = torch.Generator().manual_seed(3)
    tokens = [torch.randint(0, 6561, (n,), generator=g) for n in (4, 2, 6)]
    seeds = [11, 22, 33]
    from cbx_cli.engine.s3gen_batch import flow_mels

    s3, ref = engine.stock.model.s3gen, engine.voice(None).conditionals.gen
    with torch.inference_mode():
        torch.manual_seed(seeds[0])
        stock = s3.flow_inference(tokens[0], ref_dict=ref, finalize=True)
        singles = [flow_mels(s3, ref, [t], [s])[0] for t, s in zip(tokens, seeds, strict=True)]
        batch = flow_mels(s3, ref, tokens, seeds)
    assert torch.equal(singles[0], stock)
    for one, row, t in zip(singles, batch, tokens, strict=True):
        assert row.shape == one.shape == (1, 80, 2 * len(t))
        torch.testing.assert_close(row, one, rtol=0, atol=1e-4)


@pytest.mark.engine
@pytest.mark.parametrize("kind", ["torch", "runtime"])
def test_out_of_memory_halves_the_batch(engine, monkeypatch, kind):
    """Out of memory halves the rows decoded at once and goes on with the takes not yet made; every take comes back,
    the same as in a run that never ran out."""
    import torch

    texts = ["A longer text than the others, by far.", "Mid-sized text.", "Short.", "Also short.", "Tiny."]
    chunks = [chunk(i, t, 3 + i % 3) for i, t in enumerate(texts)]
    monkeypatch.setattr(engine, "max_batch", 8)
    clean = engine.synthesize(requests(engine, chunks))
    real, rows_tried = engine.t3.stream, []

    def flaky(chunks, conds, rows):  # runs out after the first check point while more than 2 rows decode
        rows_tried.append(rows)
        for n, item in enumerate(real(chunks, conds, rows)):
            if rows > 2 and n == 1:
                raise torch.cuda.OutOfMemoryError("CUDA out of memory") if kind == "torch" else RuntimeError(
                    "CUDA out of memory. Tried to allocate 2.00 GiB")
            yield item

    monkeypatch.setattr(engine.t3, "stream", flaky)
    takes = engine.synthesize(requests(engine, chunks))
    assert rows_tried == [8, 4, 2] and engine.max_batch == 2
    assert [t.tokens for t in takes] == [c.max_tokens for c in chunks]
    for got, expected in zip(takes, clean, strict=True):
        assert np.array_equal(got.audio, expected.audio)

    def always(chunks, conds, rows):
        raise RuntimeError("CUDA error: out of memory")
        yield

    monkeypatch.setattr(engine.t3, "stream", always)
    monkeypatch.setattr(engine, "max_batch", 1)
    with pytest.raises(RuntimeError):  # one chunk that does not fit is an error, not a loop
        engine.synthesize(requests(engine, chunks[:1]))


@pytest.mark.engine
def test_bench_runs_on_tiny_checkpoint(original_ckpt):
    from cbx_cli.tools.bench import format_report, run_bench

    result = run_bench(original_ckpt, chunks=2, tokens=8)
    for side in ("stock", "batched"):
        s = result[side]
        assert s["tokens"] == 16
        for key in ("wall_s", "tokens_per_s", "audio_s_per_s", "t3_s", "s3gen_s", "peak_mem_mb", "audio_s"):
            assert s[key] > 0, (side, key)
    assert result["speedup_tokens"] > 0 and result["chunks"] == 2 and result["tokens"] == 8
    assert "stock" in format_report(result)
