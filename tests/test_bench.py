"""`cbx bench` on a tiny checkpoint: the per-stage figures it reports, and the model methods it times put back.

The figures themselves (speed) are never asserted: they are shown with `cbx bench` output, in the README.
"""

from __future__ import annotations

import pytest


@pytest.mark.engine
def test_bench_reports_stages_for_turbo(turbo_ckpt):
    """Turbo (through the engines' turbo path): each side's S3Gen is split into flow steps, vocoder and
    watermark, the watermark's cost per second of audio is given, and the timed methods are the model's again."""
    from cbx_cli.tools.bench import format_report, run_bench

    result = run_bench(turbo_ckpt, model="turbo", chunks=1, tokens=4, threads=1)
    assert result["model"] == "turbo" and result["chunks"] == 1
    for side in ("stock", "batched"):
        s = result[side]
        for key in ("flow_steps_s", "vocoder_s", "watermark_s", "watermark_s_per_audio_s", "latency_s"):
            assert s[key] > 0, (side, key)
        assert s["flow_steps_s"] + s["vocoder_s"] + s["watermark_s"] <= s["s3gen_s"] * 1.05 + 0.05, side
        assert s["watermark_s_per_audio_s"] == pytest.approx(s["watermark_s"] / s["audio_s"], rel=0.1)  # rounded
    report = format_report(result)
    assert "watermark s / audio s" in report and "latency" in report


@pytest.mark.engine
def test_stage_clock_puts_methods_back(original_ckpt):
    from cbx_cli.engine import make_engine
    from cbx_cli.engine.base import EngineSpec
    from cbx_cli.engine.s3gen_batch import StageClock
    from cbx_cli.tools.bench import _stage_clock

    eng = make_engine(EngineSpec(model="original", model_dir=original_ckpt, device="cpu"))
    eng.load()
    model = eng.stock.model
    with _stage_clock(model, StageClock()):
        assert "apply_watermark" in vars(model.watermarker)
    assert "apply_watermark" not in vars(model.watermarker)
    assert "decode" not in vars(model.s3gen.mel2wav) and "forward" not in vars(model.s3gen.flow.decoder.estimator)


@pytest.mark.engine
def test_bench_builds_the_checkpoint_the_tests_build(tmp_path, original_ckpt):
    """Without --model-dir, `cbx bench` builds random weights in a child process: the same builder, with the same
    seeds, as the tests' checkpoint (here cut to its 2 layers; the bench builds all 30)."""
    import hashlib

    from cbx_cli.tools.bench import build_random_weights

    built = build_random_weights(tmp_path / "random", "original", layers=2)
    assert sorted(p.name for p in built.iterdir()) == sorted(p.name for p in original_ckpt.iterdir())
    for name in ("t3_cfg.safetensors", "tokenizer.json", "conds.pt"):
        digests = {hashlib.sha256((folder / name).read_bytes()).hexdigest() for folder in (built, original_ckpt)}
        assert len(digests) == 1, name


@pytest.mark.engine
def test_latency_bench_compares_a_stream_with_its_whole_take(original_ckpt):
    """`cbx bench --latency` on the tiny checkpoint: the same sentence whole and streamed, the stream in pieces whose
    audio adds up to the whole take's length, and the drift figures of the same tokens decoded in one piece."""
    from cbx_cli.tools.bench_latency import format_latency_report, run_latency_bench

    result = run_latency_bench(original_ckpt, tokens=16, first_piece=8)
    whole, streamed, drift = result["whole"], result["streamed"], result["drift"]
    assert streamed["pieces"] == 2 and 0 < streamed["audio_s"] == whole["audio_s"] <= 16 * 0.04
    assert 0 < streamed["first_audio_s"] < streamed["wall_s"]
    assert drift["lengths_equal"] and drift["snr_db"] == "exact" or drift["snr_db"] > 20
    assert drift["prompt_tokens"] == drift["reference_tokens"] == 25  # the checkpoint's voice: a 1 s reference
    report = format_latency_report(result)
    assert "time to first audio, streamed / whole" in report and "first 25 of 25 speech tokens" in report
