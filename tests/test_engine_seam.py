"""The engine seam: what the engine package imports, and how loading behaves when the hub cannot be reached."""

from __future__ import annotations

import ast
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from cbx_cli.engine.weights import no_weights_message

ENGINE = Path(__file__).parents[1] / "src" / "cbx_cli" / "engine"


def engine_modules() -> list[str]:
    return sorted(f"cbx_cli.engine.{p.stem}" for p in ENGINE.glob("*.py") if p.stem not in ("__init__", "__main__"))


def test_engine_modules_import_neither_the_text_stages_nor_the_voice_library():
    """Importing every engine module loads no text stage, no voice library and no torch."""
    code = (
        "import importlib, sys\n"
        f"for name in {engine_modules()!r}: importlib.import_module(name)\n"
        "print(' '.join(sorted(m for m in sys.modules if m.split('.')[:2] in "
        "(['cbx_cli', 'voices'], ['cbx_cli', 'parse'], ['cbx_cli', 'plan']) or m == 'torch')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


@pytest.mark.parametrize("path", sorted(ENGINE.glob("*.py")), ids=lambda p: p.name)
def test_engine_source_never_imports_the_voice_library_or_the_parser(path):
    """Not even inside a function: the engine receives voices and chunks, it does not look them up."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            assert not name.startswith(("cbx_cli.voices", "cbx_cli.parse")), f"{path.name}:{node.lineno} {name}"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("how", ["unreachable endpoint", "HF_HUB_OFFLINE"])
def test_missing_weights_fail_at_once_with_one_line(tmp_path, how):
    """An empty cache and no hub: one line saying what to do, exit 4, none of the hub library's retry lines.

    Run as the user runs it (a new process), so the hub library's own stderr handler is in place.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "CBX_MODEL_DIR", "HF_ENDPOINT")}
    if how == "HF_HUB_OFFLINE":
        env["HF_HUB_OFFLINE"] = "1"
    else:
        env["HF_ENDPOINT"] = f"http://127.0.0.1:{closed_port()}"
    out = tmp_path / "x.wav"
    done = subprocess.run(
        [sys.executable, "-m", "cbx_cli", "say", "Hello there.", "-o", str(out), "--device", "cpu"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert done.stderr == f"cbx: error: {no_weights_message('original')}\n"
    assert done.returncode == 4 and not out.exists()


@pytest.mark.engine
def test_cached_weights_load_when_the_hub_is_unreachable(original_ckpt, isolated_env, monkeypatch, capfd):
    """With the hub out of reach (offline mode not set), the cached snapshot loads, and no hub line is shown."""
    import huggingface_hub

    from cbx_cli.engine import make_engine
    from cbx_cli.engine.base import EngineSpec
    from cbx_cli.tools.checkpoints import fill_hf_cache

    snapshot = fill_hf_cache(isolated_env.hf_hub_cache, "ResembleAI/chatterbox", original_ckpt)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.delenv("HF_HUB_OFFLINE")
    engine = make_engine(EngineSpec(model="original", device="cpu"))
    engine.load()
    assert engine.info.revision == snapshot.name
    assert engine.voice(None).id == "builtin"
    err = capfd.readouterr().err
    assert "huggingface_hub" not in err and "Retry" not in err


def test_stored_conditioning_is_the_same_file_whichever_process_writes_it(tmp_path, monkeypatch):
    """The same conditioning saved twice is the same bytes, so a voice's id (a digest of the file) is stable."""
    import torch
    from chatterbox.models.t3.modules.cond_enc import T3Cond
    from chatterbox.tts import Conditionals

    from cbx_cli.engine.stock import save_conditionals

    t3 = T3Cond(speaker_emb=torch.ones(1, 256), cond_prompt_speech_tokens=torch.arange(150)[None],
                emotion_adv=0.5 * torch.ones(1, 1, 1))
    conds = Conditionals(t3, {"embedding": torch.zeros(1, 192), "prompt_token_len": torch.tensor([150])})
    paths = []
    for pid, folder in ((1111, "a"), (2222, "b")):
        monkeypatch.setattr(os, "getpid", lambda pid=pid: pid)
        paths.append(tmp_path / folder / "conds-original-abc.pt")
        save_conditionals(conds, paths[-1])
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["conds-original-abc.pt"]
    loaded = Conditionals.load(paths[0])
    assert torch.equal(loaded.t3.cond_prompt_speech_tokens, t3.cond_prompt_speech_tokens)
