"""The safety net: a batched path that fails (other than by memory) hands the run to the stock path, with one
warning and nothing lost; and `cbx doctor --self-test`, batched against stock on the tiny checkpoint.

The failure is injected for real: one internal step of the T3 batch decoder raises, as a device fault would.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

from clirun import run
from test_batched import chunk, requests

pytestmark = pytest.mark.engine

FAST = ["--device", "cpu", "--max-tokens", "6", "--retries", "0", "--quiet", "--no-cache"]
WARNING = "the batched engine failed"


def broken_prefill(calls: list, fail_from: int = 0):
    """A `T3BatchDecoder._prefill` that works for the first `fail_from` batches and then fails as a device would."""
    from cbx_cli.engine.t3_batch import T3BatchDecoder

    real = T3BatchDecoder._prefill

    def prefill(self, st):
        calls.append(1)
        if len(calls) > fail_from:
            raise RuntimeError("CUDA error: an illegal memory access was encountered")
        return real(self, st)

    return prefill


def warnings_of(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and WARNING in r.getMessage()]


def test_failed_batched_run_equals_no_batch(original_ckpt, tmp_path, monkeypatch, caplog):
    """Three chunks in three engine calls (--batch-size 1): the decoder fails at once, every take comes from the
    stock path, the file is byte for byte the --no-batch one, and the warning is given once."""
    from cbx_cli.engine.t3_batch import T3BatchDecoder

    args = ["say", "First one here. Then a second. And a third.", "--model-dir", original_ckpt, *FAST]
    stock = tmp_path / "stock.wav"
    assert run([*args, "--no-batch", "-o", stock]).exit_code == 0
    calls: list = []
    monkeypatch.setattr(T3BatchDecoder, "_prefill", broken_prefill(calls))
    out = tmp_path / "fallback.wav"
    with caplog.at_level(logging.WARNING):
        r = run([*args, "--batch-size", "1", "-o", out])
    assert r.exit_code == 0, r.output
    assert calls == [1]  # tried once; later calls go straight to the stock path
    assert out.read_bytes() == stock.read_bytes()
    assert len(warnings_of(caplog)) == 1
    assert "RuntimeError: CUDA error: an illegal memory access" in warnings_of(caplog)[0]


def test_takes_made_before_the_failure_are_kept(original_ckpt, monkeypatch, caplog):
    """One row at a time, each take through S3Gen as soon as its row ends: the first chunk decoded (the longer: the
    engine takes the longest first) is made, the next one's prefill fails. The first take is the batched one, the
    other is stock's."""
    from cbx_cli.engine.base import EngineSpec
    from cbx_cli.engine.batched import BatchedEngine
    from cbx_cli.engine.stock import ChatterboxEngine
    from cbx_cli.engine.t3_batch import T3BatchDecoder

    stock = ChatterboxEngine(EngineSpec(model_dir=original_ckpt, device="cpu"))
    engine = BatchedEngine(stock, max_batch=1)
    engine.cpu_workers = False
    engine.load()
    chunks = [chunk(0, "Short.", 4), chunk(1, "A longer one, the second.", 5)]
    batched = engine.synthesize(requests(engine, chunks[1:]))[0]
    expected = stock.synthesize(requests(engine, chunks[:1]))[0]
    monkeypatch.setattr(T3BatchDecoder, "_prefill", broken_prefill([], fail_from=1))
    with caplog.at_level(logging.WARNING):
        takes = engine.synthesize(requests(engine, chunks))
    assert engine.fell_back and len(warnings_of(caplog)) == 1
    assert np.array_equal(takes[1].audio, batched.audio) and takes[1].tokens == 5
    assert np.array_equal(takes[0].audio, expected.audio) and takes[0].tokens == expected.tokens == 4


def test_out_of_memory_is_not_a_fallback(original_ckpt, monkeypatch):
    """Running out of memory on a single chunk is an error (the batch cannot be halved), not a silent switch."""
    from cbx_cli.engine.base import EngineSpec
    from cbx_cli.engine.batched import BatchedEngine
    from cbx_cli.engine.stock import ChatterboxEngine
    from cbx_cli.engine.t3_batch import T3BatchDecoder

    engine = BatchedEngine(ChatterboxEngine(EngineSpec(model_dir=original_ckpt, device="cpu")))
    engine.load()

    def oom(self, st):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(T3BatchDecoder, "_prefill", oom)
    with pytest.raises(RuntimeError, match="out of memory"):
        engine.synthesize(requests(engine, [chunk(0, "Short.", 4)]))
    assert not engine.fell_back


def test_doctor_self_test_passes_on_tiny_checkpoint(original_ckpt):
    r = run(["doctor", "--self-test", "--model-dir", original_ckpt, "--device", "cpu"])
    assert r.exit_code == 0, r.output
    line = next(x for x in r.stdout.splitlines() if "self-test" in x)
    assert line.startswith("ok ") and "batched path matches stock: 3 chunks x 24 tokens on cpu" in line
    assert r.stderr.splitlines() == [  # what it is doing, as it does it
        "self-test: loading the original model ...",
        "self-test: 3 chunks of 24 tokens through the batched engine on cpu, in one batch ...",
        "self-test: the same 3 chunks through stock Chatterbox, one at a time ..."]


def test_doctor_self_test_reports_a_mismatch(original_ckpt, monkeypatch):
    """A batched path that draws other tokens than stock (here: every row's first draw forced to token 0) fails
    the self-test with exit code 1."""
    import cbx_cli.engine.t3_batch as t3_batch

    real, steps = t3_batch.race, []

    def race(probs, uniforms):
        tok = real(probs, uniforms)
        steps.append(1)
        if len(steps) == 1:
            tok[:] = 0 if int(tok[0]) != 0 else 1
        return tok

    monkeypatch.setattr(t3_batch, "race", race)
    r = run(["doctor", "--self-test", "--model-dir", original_ckpt, "--device", "cpu"])
    assert r.exit_code == 1
    line = next(x for x in r.stdout.splitlines() if "self-test" in x)
    assert line.startswith("-- ") and "batched path differs from stock" in line and "Use --no-batch" in line
