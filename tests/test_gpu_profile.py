"""The GPU's code paths on the CPU (`CBX_DEVICE_PROFILE`): full-size KV cache, graph-shaped decode steps and their
compaction rule, the bfloat16 T3 copy, S3Gen's flow batched with padded rows. Only CUDA graph capture and replay
are left out.

What is guaranteed, and tested here on the tiny random checkpoint (greedy):
* `gpu-fp32`: the same tokens as stock `T3.inference`, alone and in batches of mixed lengths and budgets.
* `gpu` (bfloat16 transformer): a chunk's tokens are the same alone and in any batch, and the first step's logits
  are those of float32 to bfloat16 precision. Its tokens are not promised equal to float32's: one rounding can
  move an argmax between two near-equal logits, and the greedy runs part there.
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

pytestmark = pytest.mark.engine


def load(ckpt, profile: str):
    from cbx_cli.engine.base import EngineSpec
    from cbx_cli.engine.batched import BatchedEngine
    from cbx_cli.engine.stock import ChatterboxEngine

    engine = BatchedEngine(ChatterboxEngine(EngineSpec(model="original", model_dir=ckpt, device="cpu")),
                           profile=profile)
    engine.load()
    return engine


@pytest.fixture(scope="module")
def fp32(original_ckpt):
    return load(original_ckpt, "gpu-fp32")


@pytest.fixture(scope="module")
def bf16(original_ckpt):
    return load(original_ckpt, "gpu")


@pytest.fixture(scope="module")
def cpu(original_ckpt):
    return load(original_ckpt, "auto")


def mixed_chunks(budgets=(7, 12, 4, 19)):
    return [chunk(i, t, b, GREEDY_ODD if i % 2 else GREEDY) for i, (t, b) in enumerate(zip(TEXTS, budgets,
                                                                                          strict=True))]


def test_profile_from_environment(original_ckpt, monkeypatch):
    from cbx_cli.engine.base import EngineSpec
    from cbx_cli.engine.batched import BatchedEngine
    from cbx_cli.engine.stock import ChatterboxEngine
    from cbx_cli.errors import ParamError

    stock = ChatterboxEngine(EngineSpec(model_dir=original_ckpt, device="cpu"))
    monkeypatch.setenv("CBX_DEVICE_PROFILE", "gpu-fp32")
    assert BatchedEngine(stock).profile == "gpu-fp32"
    monkeypatch.setenv("CBX_DEVICE_PROFILE", "gpu32")
    with pytest.raises(ParamError, match="CBX_DEVICE_PROFILE='gpu32' is not a device profile"):
        BatchedEngine(stock)


def test_fp32_profile_tokens_equal_stock(fp32, monkeypatch):
    """Mixed prompt lengths, budgets and settings in one batch: each row's tokens are stock's; the cache is
    allocated once at full size (it never grows) and every step is the graph-shaped one."""
    from cbx_cli.engine.t3_batch import KVCache

    assert fp32.gpu_shaped and fp32.t3.bf16 is None
    grown = []
    monkeypatch.setattr(KVCache, "grow", lambda self, capacity: grown.append(capacity))
    chunks = mixed_chunks()
    got = t3_tokens(fp32, chunks)
    assert grown == []
    for c, tokens in zip(chunks, got, strict=True):
        assert tokens.tolist() == stock_tokens(fp32, c).tolist(), c.spoken
    assert t3_tokens(fp32, [chunks[1]])[0].tolist() == got[1].tolist()


def selections(engine, monkeypatch, chunks):
    """(tokens, rows kept at each compaction) for one batch."""
    from cbx_cli.engine.t3_batch import DecodeState

    kept, real = [], DecodeState.select

    def select(self, keep_host, keep, rows):
        kept.append(len(keep_host))
        real(self, keep_host, keep, rows)

    with monkeypatch.context() as patch:
        patch.setattr(DecodeState, "select", select)
        return t3_tokens(engine, chunks), kept


def test_compaction_waits_for_half_the_rows(fp32, cpu, monkeypatch):
    """A captured graph fixes the batch size: the GPU shape drops finished rows only once half the batch is done
    (the CPU shape at every check). Either way each row keeps stock's tokens."""
    chunks = [chunk(i, t, b, GREEDY) for i, (t, b) in enumerate(zip(TEXTS, (3, 20, 20, 40), strict=True))]
    gpu_tokens, gpu_kept = selections(fp32, monkeypatch, chunks)
    cpu_tokens, cpu_kept = selections(cpu, monkeypatch, chunks)
    assert cpu_kept == [3, 1]  # step 16: one row done; step 32: three
    assert gpu_kept == [1]  # step 16: 3 of 4 rows left, more than half: no new (smaller) graph yet
    assert [t.tolist() for t in gpu_tokens] == [t.tolist() for t in cpu_tokens]
    assert gpu_tokens[3].tolist() == stock_tokens(fp32, chunks[3]).tolist()


def test_bf16_profile_is_batch_invariant(bf16):
    import torch

    assert bf16.t3.bf16 is not None
    layers, _norm = bf16.t3.bf16
    assert next(layers.parameters()).dtype == torch.bfloat16
    assert bf16.stock.model.t3.tfmr.layers[0].mlp.up_proj.weight.dtype == torch.float32  # stock's own untouched
    chunks = mixed_chunks()
    batch = t3_tokens(bf16, chunks)
    assert [len(t) for t in batch] == [7, 12, 4, 19]
    for c, tokens in zip(chunks, batch, strict=True):
        assert t3_tokens(bf16, [c])[0].tolist() == tokens.tolist(), c.spoken
    reordered = t3_tokens(bf16, [chunks[3], chunks[0]])
    assert reordered[0].tolist() == batch[3].tolist() and reordered[1].tolist() == batch[0].tolist()


def test_bf16_logits_within_bf16_precision(bf16, fp32):
    """The first step's logits (prefill) of the bfloat16 copy against float32's: within a few bfloat16 ulps of
    the logits' scale (bfloat16 keeps 8 significant bits: 2**-8 relative per rounding)."""
    import torch

    c = chunk(0, TEXTS[2], 4)
    logits = {}
    for name, engine in (("bf16", bf16), ("fp32", fp32)):
        conds = [engine.voice(None).conditionals.t3]
        with torch.inference_mode():
            st = engine.t3._start([c], conds, [0], c.max_tokens)
            logits[name] = engine.t3._prefill(st)
    scale = float(logits["fp32"].abs().max())
    err = float((logits["bf16"] - logits["fp32"]).abs().max())
    assert 0 < err < 0.05 * scale


def test_gpu_shaped_takes_match_the_cpu_shape(fp32, cpu):
    """Whole takes: the GPU shape (S3Gen flow batched with padded rows, no worker threads) against the CPU shape,
    on the same greedy tokens; equal to float rounding (padding reorders the flow decoder's sums)."""
    chunks = [chunk(i, t, b, GREEDY) for i, (t, b) in enumerate(zip(TEXTS[:3], (4, 6, 3), strict=True))]
    gpu = fp32.synthesize(requests(fp32, chunks))
    takes = cpu.synthesize(requests(cpu, chunks))
    for a, b in zip(gpu, takes, strict=True):
        assert a.tokens == b.tokens and a.audio.shape == b.audio.shape
        np.testing.assert_allclose(a.audio, b.audio, rtol=0, atol=1e-3)
