"""Batched S3Gen (engine/s3gen_batch.py) on the tiny checkpoints (S3Gen is full size in them), CPU only.

The GPU's path, padded rows through the flow decoder, runs here too (`group` > 1): each row's take matches the
take decoded alone within a stated tolerance, for the original model (10 CFG steps) and turbo (2 mean-flow
steps), in batches of mixed lengths. The CPU's own path (one single-threaded worker per core, `workers`) gives
a chunk the same take bit for bit in any batch. The per-take vocoder noise is stock's for the same seed.
"""

from __future__ import annotations

import numpy as np
import pytest

SR = 24000
AUDIO_ATOL = 2e-3
"""Padded rows change matrix shapes and so the order of float sums: mels agree to ~1e-5, and the vocoder (whose
sine source integrates f0 over the take) carries that into samples of amplitude up to 0.99 as up to ~1e-4."""
MEL_ATOL = 1e-4


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """One intra-op thread, as in test_batched.py: a busy shared runner makes OpenMP's spinning threads slow."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def load(model: str, ckpt):
    from cbx_cli.engine import make_engine
    from cbx_cli.engine.base import EngineSpec

    eng = make_engine(EngineSpec(model=model, model_dir=ckpt, device="cpu"))
    eng.load()
    return eng.stock.model


@pytest.fixture(scope="module")
def original(original_ckpt):
    return load("original", original_ckpt)


@pytest.fixture(scope="module")
def turbo(turbo_ckpt):
    return load("turbo", turbo_ckpt)


def speech(lengths, seed=3):
    import torch

    g = torch.Generator().manual_seed(seed)
    return [torch.randint(0, 6561, (n,), generator=g) for n in lengths]


def takes(model, tokens, seeds, group, workers=False):
    from cbx_cli.engine.s3gen_batch import watermarked_takes

    return watermarked_takes(model, model.conds.gen, tokens, seeds, group, workers, SR)


@pytest.mark.engine
def test_vocoder_noise_is_stocks_for_the_seed(original):
    """`hift_wave` with a seed is stock's `hift_inference` (and trim fade) after `torch.manual_seed(seed)`."""
    import torch

    from cbx_cli.engine.s3gen_batch import hift_wave

    s3 = original.s3gen
    mel = torch.randn(1, 80, 30, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        torch.manual_seed(77)
        stock, _ = s3.hift_inference(mel, None)
        stock[:, : len(s3.trim_fade)] *= s3.trim_fade
        ours = hift_wave(s3, mel, 77)
        other = hift_wave(s3, mel, 78)
    assert torch.equal(ours, stock)
    assert not torch.equal(other, stock)


@pytest.mark.engine
def test_turbo_flow_one_row_is_stocks(turbo):
    """One row through `flow_mels` on a mean-flow S3Gen is stock's turbo `flow_inference` (silence tokens
    appended, 2 steps) bit for bit, for the same noise."""
    import torch
    from chatterbox.models.s3gen.const import S3GEN_SIL

    from cbx_cli.engine.s3gen_batch import SILENCE_TOKENS, flow_mels

    s3, ref = turbo.s3gen, turbo.conds.gen
    tokens = speech([5])[0]
    with torch.inference_mode():
        torch.manual_seed(9)
        stock = s3.flow_inference(torch.cat([tokens, torch.tensor([S3GEN_SIL] * SILENCE_TOKENS)]), ref_dict=ref,
                                  finalize=True)
        ours = flow_mels(s3, ref, [tokens], [9])[0]
    assert ours.shape == (1, 80, 2 * (5 + SILENCE_TOKENS))
    assert torch.equal(ours, stock)


@pytest.mark.engine
@pytest.mark.parametrize("model", ["original", "turbo"])
def test_padded_batch_matches_alone(model, request):
    """Mixed lengths (an empty row among them) in one padded flow batch: each take is the take decoded alone,
    within AUDIO_ATOL, and of the same length; a different seed gives a different take."""
    m = request.getfixturevalue(model)
    tokens = speech([6, 2, 0, 4])
    seeds = [11, 22, 33, 44]
    batch = takes(m, tokens, seeds, group=4)
    alone = [takes(m, [t], [s], group=1)[0] for t, s in zip(tokens, seeds, strict=True)]
    extra = 3 if model == "turbo" else 0  # turbo decodes its silence tokens, even for an empty row
    for got, one, t in zip(batch, alone, tokens, strict=True):
        assert got.dtype == np.float32 and got.shape == one.shape == ((len(t) + extra) * 960 if t.numel() or extra
                                                                     else 0,)
        np.testing.assert_allclose(got, one, rtol=0, atol=AUDIO_ATOL)
    assert np.abs(batch[0]).max() > 1e-3
    assert not np.allclose(takes(m, tokens[:1], [12], group=1)[0], alone[0], atol=AUDIO_ATOL)


@pytest.mark.engine
def test_padded_flow_rows_match_alone_original(original):
    """The mels themselves, padded batch against alone: equal within MEL_ATOL (mels of magnitude ~5)."""
    import torch

    from cbx_cli.engine.s3gen_batch import flow_mels

    s3, ref = original.s3gen, original.conds.gen
    tokens = speech([5, 1, 3], seed=4)
    with torch.inference_mode():
        batch = flow_mels(s3, ref, tokens, [1, 2, 3])
        for row, t, s in zip(batch, tokens, [1, 2, 3], strict=True):
            torch.testing.assert_close(row, flow_mels(s3, ref, [t], [s])[0], rtol=0, atol=MEL_ATOL)


@pytest.mark.engine
def test_cpu_workers_give_the_same_take_in_any_batch(original):
    """With two torch threads, each chunk's S3Gen runs in its own single-threaded worker: a chunk's take is the
    same bit for bit alone, in a batch of three, or in turn single-threaded; the thread count comes back."""
    import torch

    from cbx_cli.engine.s3gen_batch import StageClock, watermarked_takes

    tokens, seeds = speech([3, 5, 2], seed=6), [7, 8, 9]
    in_turn = takes(original, tokens, seeds, group=1)
    torch.set_num_threads(2)
    try:
        clock = StageClock()
        together = watermarked_takes(original, original.conds.gen, tokens, seeds, 1, True, SR, clock)
        alone = takes(original, tokens[1:2], seeds[1:2], group=1, workers=True)[0]
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(1)
    for a, b in zip(in_turn, together, strict=True):
        assert np.array_equal(a, b)
    assert np.array_equal(alone, together[1])
    assert all(clock.seconds[stage] > 0 for stage in ("flow", "vocoder", "watermark"))
