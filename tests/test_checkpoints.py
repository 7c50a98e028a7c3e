"""The tiny checkpoints load through chatterbox's own loaders and run its real per-chunk path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cbx_cli.engine.layers import count_t3_layers, t3_sized_to
from cbx_cli.tools.checkpoints import fill_hf_cache, synthetic_voice

SR = 24000
SAMPLES_PER_TOKEN = 960  # S3Gen: 2 mel frames per speech token, 480 samples per frame (40 ms at 24 kHz)


def _check_wav(wav, n_tokens: int) -> None:
    assert isinstance(wav, np.ndarray) and wav.dtype.kind == "f" and wav.ndim == 1
    assert np.all(np.isfinite(wav))
    assert np.any(wav != 0)
    # perth resamples to its own rate and back, which may move the length by a few samples
    assert abs(len(wav) - n_tokens * SAMPLES_PER_TOKEN) <= 0.02 * SR, (len(wav), n_tokens)


def original_chunk(model, text: str, budget: int = 12, cfg_weight: float = 0.5):
    """`ChatterboxTTS.generate`'s per-chunk path, on a token budget. Returns (wav, n_speech_tokens)."""
    import torch
    import torch.nn.functional as F
    from chatterbox.models.s3tokenizer import drop_invalid_tokens
    from chatterbox.tts import punc_norm

    text_tokens = model.tokenizer.text_to_tokens(punc_norm(text)).to(model.device)
    text_tokens = torch.cat([text_tokens, text_tokens], dim=0)  # CFG: cond + uncond
    text_tokens = F.pad(text_tokens, (1, 0), value=model.t3.hp.start_text_token)
    text_tokens = F.pad(text_tokens, (0, 1), value=model.t3.hp.stop_text_token)
    with torch.inference_mode():
        speech_tokens = model.t3.inference(
            t3_cond=model.conds.t3,
            text_tokens=text_tokens,
            max_new_tokens=budget,
            temperature=0.8,
            cfg_weight=cfg_weight,
            repetition_penalty=1.2,
            min_p=0.05,
            top_p=1.0,
        )
        speech_tokens = drop_invalid_tokens(speech_tokens[0])
        speech_tokens = speech_tokens[speech_tokens < 6561].to(model.device)
        wav, _ = model.s3gen.inference(speech_tokens=speech_tokens, ref_dict=model.conds.gen)
        wav = wav.squeeze(0).detach().cpu().numpy()
        return model.watermarker.apply_watermark(wav, sample_rate=model.sr), len(speech_tokens)


def turbo_chunk(model, text: str, budget: int = 10):
    """`ChatterboxTurboTTS.generate`'s per-chunk path, on a token budget. Returns (wav, n_speech_tokens)."""
    import torch
    from chatterbox.models.s3gen.const import S3GEN_SIL
    from chatterbox.tts_turbo import punc_norm

    text_tokens = model.tokenizer(punc_norm(text), return_tensors="pt", padding=True, truncation=True)
    text_tokens = text_tokens.input_ids.to(model.device)
    with torch.inference_mode():
        speech_tokens = model.t3.inference_turbo(
            t3_cond=model.conds.t3,
            text_tokens=text_tokens,
            temperature=0.8,
            top_k=1000,
            top_p=0.95,
            repetition_penalty=1.2,
            max_gen_len=budget,
        )
        speech_tokens = speech_tokens[speech_tokens < 6561].to(model.device)
        silence = torch.tensor([S3GEN_SIL, S3GEN_SIL, S3GEN_SIL]).long().to(model.device)
        speech_tokens = torch.cat([speech_tokens, silence])
        wav, _ = model.s3gen.inference(
            speech_tokens=speech_tokens, ref_dict=model.conds.gen, n_cfm_timesteps=2
        )
        wav = wav.squeeze(0).detach().cpu().numpy()
        return model.watermarker.apply_watermark(wav, sample_rate=model.sr), len(speech_tokens)


def test_layers_module_imports_without_torch():
    code = "import sys, cbx_cli.engine.layers; assert 'torch' not in sys.modules, 'torch imported'"
    src = str(Path(__file__).parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_synthetic_voice_is_deterministic():
    a, b = synthetic_voice(1.0, 16000), synthetic_voice(1.0, 16000)
    assert a.dtype == np.float32 and a.shape == (16000,)
    assert np.array_equal(a, b) and 0.1 < np.abs(a).max() <= 1.0


@pytest.mark.engine
def test_t3_sized_to_patches_and_restores(original_ckpt, turbo_ckpt, tmp_path):
    from chatterbox.models.t3.llama_configs import LLAMA_CONFIGS

    assert count_t3_layers(original_ckpt / "t3_cfg.safetensors") == ("Llama_520M", "num_hidden_layers", 2)
    assert count_t3_layers(turbo_ckpt / "t3_turbo_v1.safetensors") == ("GPT2_medium", "n_layer", 2)
    llama, gpt2 = LLAMA_CONFIGS["Llama_520M"], LLAMA_CONFIGS["GPT2_medium"]
    with t3_sized_to(original_ckpt / "t3_cfg.safetensors"):
        assert (llama["num_hidden_layers"], gpt2["n_layer"]) == (2, 24)
    with pytest.raises(RuntimeError), t3_sized_to(turbo_ckpt / "t3_turbo_v1.safetensors"):
        assert (llama["num_hidden_layers"], gpt2["n_layer"]) == (30, 2)
        raise RuntimeError("restored even on error")
    with t3_sized_to(tmp_path / "missing.safetensors"):
        assert (llama["num_hidden_layers"], gpt2["n_layer"]) == (30, 24)
    assert (llama["num_hidden_layers"], gpt2["n_layer"]) == (30, 24)


@pytest.mark.engine
def test_original_loads_with_from_local_and_speaks(original_ckpt):
    import torch
    from chatterbox.tts import ChatterboxTTS

    with t3_sized_to(original_ckpt / "t3_cfg.safetensors"):
        model = ChatterboxTTS.from_local(original_ckpt, "cpu")
    assert len(model.t3.tfmr.layers) == 2 and model.conds is not None
    assert model.conds.t3.cond_prompt_speech_tokens.shape == (1, 150)
    torch.manual_seed(0)
    wav, n_tokens = original_chunk(model, "hello world; this is a tiny checkpoint", budget=12)
    assert 0 < n_tokens <= 12  # random weights: some sampled ids are >= 6561 and get dropped
    _check_wav(wav, n_tokens)


@pytest.mark.engine
def test_turbo_loads_with_from_local_and_speaks(turbo_ckpt):
    import torch
    from chatterbox.tts_turbo import ChatterboxTurboTTS

    with t3_sized_to(turbo_ckpt / "t3_turbo_v1.safetensors"):
        model = ChatterboxTurboTTS.from_local(turbo_ckpt, "cpu")
    assert len(model.t3.tfmr.h) == 2 and model.conds is not None
    assert max(model.tokenizer("Hello, wörld!").input_ids) < 50276
    torch.manual_seed(0)
    wav, n_tokens = turbo_chunk(model, "Hello world, this is turbo.", budget=10)
    assert 3 < n_tokens <= 11 + 3  # 1 + max_gen_len sampled, minus dropped ids, plus 3 silence tokens
    _check_wav(wav, n_tokens)


@pytest.mark.engine
def test_original_from_pretrained_offline(original_ckpt, isolated_env):
    import huggingface_hub
    from chatterbox.tts import REPO_ID, ChatterboxTTS

    snapshot = fill_hf_cache(isolated_env.hf_hub_cache, REPO_ID, original_ckpt)
    assert huggingface_hub.constants.HF_HUB_OFFLINE
    path = huggingface_hub.hf_hub_download(REPO_ID, "conds.pt")
    assert path == str(snapshot / "conds.pt")
    assert huggingface_hub.snapshot_download(REPO_ID) == str(snapshot)
    with t3_sized_to(snapshot / "t3_cfg.safetensors"):
        model = ChatterboxTTS.from_pretrained("cpu")
    assert len(model.t3.tfmr.layers) == 2 and model.conds is not None


@pytest.mark.engine
def test_fill_hf_cache_serves_turbo_snapshot_offline(turbo_ckpt, isolated_env):
    import huggingface_hub
    from chatterbox.tts_turbo import REPO_ID

    snapshot = fill_hf_cache(isolated_env.hf_hub_cache, REPO_ID, turbo_ckpt)
    # the call ChatterboxTurboTTS.from_pretrained makes
    path = huggingface_hub.snapshot_download(
        repo_id=REPO_ID, token=None, allow_patterns=["*.safetensors", "*.json", "*.txt", "*.pt", "*.model"]
    )
    assert path == str(snapshot)
    assert sorted(p.name for p in snapshot.iterdir()) == sorted(p.name for p in turbo_ckpt.iterdir())
