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


def engine_classes() -> list[type]:
    """Every class that synthesizes takes for a voice: in cbx's source and the tests' fake, found by their
    `synthesize` and `identity` (a pool of workers synthesizes too, but is not an engine)."""
    import importlib

    found = []
    roots = [(ENGINE.parents[1], "cbx_cli"), (Path(__file__).parent, None)]
    for root, package in roots:
        files = (root / package).rglob("*.py") if package else [root / "fakes.py", root / "speech.py"]
        for path in sorted(files):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in tree.body:
                if isinstance(node, ast.ClassDef) and {"synthesize", "identity"} <= {
                    f.name for f in node.body if isinstance(f, ast.FunctionDef)
                }:
                    parts = path.relative_to(root).with_suffix("").parts
                    module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
                    cls = getattr(importlib.import_module(module), node.name)
                    if not cls.__dict__.get("_is_protocol"):  # the protocol itself
                        found.append(cls)
    return found


def provided_attributes(cls: type) -> set[str]:
    """Names a class gives its instances: class attributes and properties, and what its methods set on self."""
    import inspect

    names = set()
    for klass in cls.__mro__:
        if klass is object:
            continue
        names |= {n for n in vars(klass) if not n.startswith("__")}
        try:
            tree = ast.parse(inspect.getsource(klass))
        except (OSError, TypeError):
            continue
        for node in ast.walk(tree):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
                node, ast.AnnAssign) else []
            names |= {t.attr for t in targets if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name)
                      and t.value.id == "self"}
    return names


def test_every_engine_class_satisfies_the_engine_protocol():
    """Each engine (stock, batched, the server's shared one, the batch driver's, the tests' fake) has every member
    `Engine` declares, its methods taking the same parameters; `stream` is declared, with its default inherited."""
    import inspect

    from cbx_cli.engine.base import Engine

    classes = engine_classes()
    names = {c.__name__ for c in classes}
    assert {"ChatterboxEngine", "BatchedEngine", "SharedEngine", "DriverEngine", "FakeEngine"} <= names, names
    methods = {n: f for n, f in vars(Engine).items() if callable(f) and not n.startswith("_")}
    assert {"load", "identity", "voice", "synthesize", "stream"} <= set(methods)
    attributes = set(Engine.__annotations__)
    for cls in classes:
        assert Engine in cls.__mro__, f"{cls.__name__} does not declare that it is an Engine"
        missing = attributes - provided_attributes(cls)
        assert not missing, f"{cls.__name__} lacks {sorted(missing)}"
        for name, declared in methods.items():
            own = getattr(cls, name)
            wanted = list(inspect.signature(declared).parameters)[1:]
            given = list(inspect.signature(own).parameters)[1:]
            assert given[: len(wanted)] == wanted, f"{cls.__name__}.{name}{given} is not Engine.{name}{wanted}"


def test_an_engine_without_a_stream_of_its_own_streams_what_it_synthesizes():
    from cbx_cli.api import Engine, Synthesis
    from fakes import FakeEngine, speech_like

    class Whole(Engine):
        """An engine that makes a call's takes together (as a remote worker does)."""

        sample_rate = 24000

        def synthesize(self, requests):
            return [Synthesis(speech_like(0.5, i), 10) for i, _ in enumerate(requests)]

    made = list(Whole().stream(["a", "b", "c"]))
    assert [i for i, _ in made] == [0, 1, 2] and all(t.tokens == 10 for _, t in made)
    fake = FakeEngine()
    assert type(fake).stream is not Engine.stream  # the fake streams a take at a time, as the real engines do
