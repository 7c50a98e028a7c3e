"""`cbx say` and `cbx book` end to end through the real Chatterbox code path, on a tiny random checkpoint."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import soundfile as sf

from cbx_cli.assemble.loudness import integrated_loudness, peak_dbfs
from clirun import run

pytestmark = pytest.mark.engine

FAST = ["--device", "cpu", "--max-tokens", "12", "--retries", "0", "--quiet"]

def read(path):
    audio, sr = sf.read(str(path), dtype="float32")
    return audio, sr


def test_say_writes_a_normalized_wav(original_ckpt, tmp_path):
    out = tmp_path / "notice.wav"
    r = run(["say", "Your order has shipped.", "-o", str(out), "--model-dir", str(original_ckpt), *FAST])
    assert r.exit_code == 0, r.output
    audio, sr = read(out)
    assert sr == 24000
    assert 0.2 < len(audio) / sr < 2.0
    assert abs(integrated_loudness(audio, sr) - -16.0) < 1.0
    assert peak_dbfs(audio) <= -1.0 + 0.01
    assert r.stdout_bytes == b""


def test_same_command_same_bytes(original_ckpt, tmp_path):
    args = ["say", "Same words. Same seed.", "--model-dir", str(original_ckpt), "--no-cache", *FAST]
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    assert run([*args, "-o", str(a)]).exit_code == 0
    assert run([*args, "-o", str(b)]).exit_code == 0
    assert a.read_bytes() == b.read_bytes()
    c = tmp_path / "c.wav"
    assert run([*args, "-o", str(c), "--seed", "7"]).exit_code == 0
    assert c.read_bytes() != a.read_bytes()




def test_stdin_to_stdout_pipeline(original_ckpt, tmp_path):
    r = run(["say", "-", "--preset", "agent", "-o", "-", "--model-dir", str(original_ckpt), "--device", "cpu",
             "--max-tokens", "10", "--retries", "0"], input="Build finished.\n")
    assert r.exit_code == 0, r.stderr
    assert r.stdout_bytes[:4] == b"RIFF"
    audio, sr = sf.read(io.BytesIO(r.stdout_bytes))
    assert sr == 24000 and len(audio) > 0


def test_model_dir_from_environment(original_ckpt, tmp_path, monkeypatch):
    monkeypatch.setenv("CBX_MODEL_DIR", str(original_ckpt))
    out = tmp_path / "env.ogg"
    r = run(["say", "From the environment.", "-o", str(out), *FAST])
    assert r.exit_code == 0, r.output
    assert read(out)[1] == 24000


def test_voice_file_and_resampling(original_ckpt, voice_wav, tmp_path, monkeypatch):
    from chatterbox.tts import ChatterboxTTS

    calls = []
    real = ChatterboxTTS.prepare_conditionals

    def counting(self, *args, **kwargs):
        calls.append(args)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(ChatterboxTTS, "prepare_conditionals", counting)
    out = tmp_path / "voiced.mp3"
    r = run(["say", "One. Two. Three. Four.", "--voice", str(voice_wav), "-o", str(out), "--sample-rate", "16000",
             "--model-dir", str(original_ckpt), *FAST, "--batch-size", "2"])
    assert r.exit_code == 0, r.output
    assert len(calls) == 1  # conditioning computed once per run, not per chunk
    audio, sr = read(out)
    assert sr == 16000 and len(audio) > 0


def test_from_pretrained_offline_cache(original_ckpt, tmp_path, monkeypatch):
    from cbx_cli.tools.checkpoints import fill_hf_cache

    hub = tmp_path / "hub"
    fill_hf_cache(hub, "ResembleAI/chatterbox", original_ckpt)
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(hub))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    monkeypatch.delenv("CBX_MODEL_DIR", raising=False)
    out = tmp_path / "cached.wav"
    r = run(["say", "Straight from the cache.", "-o", str(out), *FAST])
    assert r.exit_code == 0, r.output
    assert np.any(read(out)[0])


def test_turbo_keeps_tags(turbo_ckpt, tmp_path):
    out, manifest = tmp_path / "turbo.wav", tmp_path / "turbo.json"
    r = run(["say", "Well [laugh] that went well.", "--model", "turbo", "-o", str(out), "--manifest", str(manifest),
             "--model-dir", str(turbo_ckpt), *FAST])
    assert r.exit_code == 0, r.output
    assert "Dropped" not in r.stderr
    assert [c["text"] for c in json.loads(manifest.read_text())["chunks"]] == ["Well [laugh] that went well."]
    assert len(read(out)[0]) > 0





