"""The voice library: add, list, remove; stored conditioning; `cbx voices` commands."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import typer
from typer.testing import CliRunner

from cbx_cli.cli.voices import voices_app
from cbx_cli.config import paths
from cbx_cli.engine.base import EngineSpec, VoicePrompt
from cbx_cli.errors import VoiceError
from cbx_cli.voices.library import (
    NO_VOICES,
    LibraryConditioning,
    Voice,
    add_voice,
    compute_conditioning,
    conds_path,
    get_voice,
    list_voices,
    remove_voice,
    stored_conditioning,
    voices_dir,
)
from clirun import run
from fakes import FakeEngine


def make_wav(path: Path, seconds: float = 6.0, sr: int = 24000, freq: float = 150.0) -> Path:
    t = np.arange(int(seconds * sr)) / sr
    audio = (0.3 * np.sin(2 * np.pi * freq * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t))).astype(np.float32)
    sf.write(str(path), audio, sr, subtype="PCM_16")
    return path


@pytest.fixture
def wav(tmp_path) -> Path:
    return make_wav(tmp_path / "Narrator.WAV")


def voice_error(fn, *args, **kwargs) -> str:
    with pytest.raises(VoiceError) as info:
        fn(*args, **kwargs)
    return info.value.message


def test_add_stores_reference_and_metadata(wav):
    voice = add_voice("narrator", str(wav), "original")
    folder = paths.data_dir() / "voices" / "narrator"
    assert voice.dir == folder and voice.name == "narrator"
    assert voice.reference == folder / "reference.wav"
    assert voice.reference.read_bytes() == wav.read_bytes()
    meta = json.loads((folder / "voice.json").read_text())
    assert meta["name"] == "narrator" and meta["source"] == str(wav.resolve())
    assert meta["seconds"] == pytest.approx(6.0)
    assert datetime.fromisoformat(meta["added"]).tzinfo is not None
    assert voice.seconds == pytest.approx(6.0) and voice.conditioned_models() == []
    assert sorted(p.name for p in voices_dir().iterdir()) == ["narrator"]  # no staging folder left
    assert get_voice("narrator") == voice and list_voices() == [voice]


@pytest.mark.parametrize("name", ["bad name", "a/b", "../x", "x" * 41, "", "é", "v.wav"])
def test_name_rules(wav, name):
    assert voice_error(add_voice, name, str(wav), "original") == (
        f"Voice name '{name}' is not allowed: use 1 to 40 letters, digits, '-' or '_'."
    )
    assert not voices_dir().exists() or list(voices_dir().iterdir()) == []


def test_names_allowed(wav):
    for name in ("a", "Hero_2", "old-man", "x" * 40):
        add_voice(name, str(wav), "original")
    assert [v.name for v in list_voices()] == sorted(["a", "Hero_2", "old-man", "x" * 40])


def test_duplicate_refused_unless_replace(wav, tmp_path):
    first = add_voice("hero", str(wav), "original")
    first.dir.joinpath("conds-original-abc.pt").write_bytes(b"stale")
    assert voice_error(add_voice, "hero", str(wav), "original") == (
        "Voice 'hero' already exists. Pass --replace to overwrite it, or choose another name."
    )
    other = make_wav(tmp_path / "other.flac", seconds=8.0, freq=220.0)
    second = add_voice("hero", str(other), "original", replace=True)
    assert second.reference.name == "reference.flac" and second.seconds == pytest.approx(8.0)
    assert sorted(p.name for p in second.dir.iterdir()) == ["reference.flac", "voice.json"]  # stale conds gone
    assert sorted(p.name for p in voices_dir().iterdir()) == ["hero"]


def test_bad_sources_store_nothing(tmp_path):
    notes = tmp_path / "notes.wav"
    notes.write_text("not audio")
    assert voice_error(add_voice, "hero", str(notes), "original") == (
        f"Voice file '{notes}' is not readable audio. Use a WAV, FLAC, OGG or MP3 recording."
    )
    short = make_wav(tmp_path / "short.wav", seconds=3.0)
    assert voice_error(add_voice, "hero", str(short), "turbo") == (
        f"Voice file '{short}' is 3.0 s long; the turbo model needs at least 5 s of clean speech "
        "(5 to 15 s works best)."
    )
    missing = tmp_path / "missing.wav"
    assert voice_error(add_voice, "hero", str(missing), "original") == (
        f"Voice file '{missing}' does not exist. Pass a WAV/FLAC/MP3 recording with --voice."
    )
    assert list_voices() == [] and get_voice("hero") is None


def test_remove(wav):
    assert voice_error(remove_voice, "x") == "No voices yet. Add one with: cbx voices add NAME FILE"
    for name in ("b", "a"):
        add_voice(name, str(wav), "original")
    assert voice_error(remove_voice, "x") == "Unknown voice 'x'. Known: a, b."
    assert voice_error(remove_voice, "../a") == "Unknown voice '../a'. Known: a, b."
    remove_voice("a")
    assert [v.name for v in list_voices()] == ["b"] and get_voice("a") is None
    assert sorted(p.name for p in voices_dir().iterdir()) == ["b"]


def test_conds_paths(wav):
    voice = add_voice("hero", str(wav), "original")
    assert conds_path(voice.dir, "turbo", "0123abcd") == voice.dir / "conds-turbo-0123abcd.pt"
    assert stored_conditioning(voice.dir, "turbo", "0123abcd") is None
    conds_path(voice.dir, "turbo", "0123abcd").write_bytes(b"x")
    conds_path(voice.dir, "multilingual", "ffff").write_bytes(b"x")
    assert stored_conditioning(voice.dir, "turbo", "0123abcd") == voice.dir / "conds-turbo-0123abcd.pt"
    assert stored_conditioning(None, "turbo", "0123abcd") is None
    assert get_voice("hero").conditioned_models() == ["multilingual", "turbo"]


def test_add_with_engine_stores_conditioning(wav):
    engine = FakeEngine(store=LibraryConditioning())
    voice = add_voice("hero", str(wav), "original", engine=engine)
    assert len(engine.prompts) == 1
    staged = engine.prompts[0]
    assert staged.name == "hero" and staged.path.name == "reference.wav"
    assert (voice.dir / "conds-original-fake0001.pt").read_bytes() == b"conds of reference.wav"
    assert voice.conditioned_models() == ["original"]
    # later, for another model, on the stored voice
    path = compute_conditioning(voice, FakeEngine(EngineSpec(model="turbo"), LibraryConditioning()))
    assert path == voice.dir / "conds-turbo-fake0001.pt" and path.exists()


def test_library_store_keeps_library_voices_only(wav, tmp_path):
    voice = add_voice("hero", str(wav), "original")
    store = LibraryConditioning()
    named = VoicePrompt(voice.reference, "hero")
    assert store.find(named, "original", "abc") is None
    assert store.target(named, "original", "abc") == conds_path(voice.dir, "original", "abc")
    conds_path(voice.dir, "original", "abc").write_bytes(b"x")
    assert store.find(named, "original", "abc") == conds_path(voice.dir, "original", "abc")
    # a file or URL is never stored, nor a named prompt whose recording is outside the library
    assert store.target(VoicePrompt(voice.reference), "original", "abc") is None
    assert store.target(VoicePrompt(wav, "hero"), "original", "abc") is None
    assert store.find(VoicePrompt(wav, "hero"), "original", "abc") is None


def test_conditioning_failure_stores_nothing(wav):
    engine = FakeEngine()
    engine.refusal = "Voice 'hero' cannot be used with the original model: Audio prompt must be longer than 5 seconds!"
    assert voice_error(add_voice, "hero", str(wav), "original", engine=engine) == engine.refusal
    assert list_voices() == [] and list(voices_dir().iterdir()) == []


# -- the commands, mounted on a test-local app ---------------------------------------------------


@pytest.fixture
def cli():
    app = typer.Typer()
    app.add_typer(voices_app, name="voices")

    @app.callback()
    def root() -> None:
        pass

    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def test_commands_list_and_remove(cli, wav):
    r = cli("voices", "list")
    assert r.exit_code == 0 and r.output == NO_VOICES + "\n"
    add_voice("narrator", str(wav), "original")
    add_voice("b", str(wav), "original")
    conds_path(voices_dir() / "narrator", "original", "abc").write_bytes(b"x")
    r = cli("voices", "list")
    assert r.exit_code == 0
    assert r.output.splitlines() == ["b           6.0 s  -", "narrator    6.0 s  original"]
    r = cli("voices", "remove", "b")
    assert r.exit_code == 0 and r.output == "Removed voice 'b'.\n"
    r = cli("voices", "remove", "zz")
    assert isinstance(r.exception, VoiceError) and r.exception.message == "Unknown voice 'zz'. Known: narrator."


def test_command_add_checks_before_loading(cli, tmp_path, wav, monkeypatch):
    def no_load(self):
        raise AssertionError("the model must not load for a bad voice")

    monkeypatch.setattr("cbx_cli.engine.stock.ChatterboxEngine.load", no_load)
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    r = cli("voices", "add", "hero", str(notes), "--device", "cpu")
    assert isinstance(r.exception, VoiceError)
    assert r.exception.message == f"Voice file '{notes}' is not readable audio. Use a WAV, FLAC, OGG or MP3 recording."
    r = cli("voices", "add", "bad name", str(wav))
    assert r.exception.message == "Voice name 'bad name' is not allowed: use 1 to 40 letters, digits, '-' or '_'."
    add_voice("hero", str(wav), "original")
    r = cli("voices", "add", "hero", str(wav))
    assert r.exception.message == "Voice 'hero' already exists. Pass --replace to overwrite it, or choose another name."
    r = cli("voices", "add", "x", str(wav), "--model", "bogus")
    assert r.exit_code == 2


def test_command_add_with_fake_engine(cli, wav, fake_engine):
    r = cli("voices", "add", "hero", str(wav), "--device", "cpu", "--model-dir", "/ckpt")
    assert r.exit_code == 0, r.output
    assert r.output == "Added voice 'hero' (6.0 s); conditioning stored for original.\n"
    spec = fake_engine.made[0].spec
    assert spec.model == "original" and spec.device == "cpu" and str(spec.model_dir) == "/ckpt"
    assert not spec.batched and isinstance(fake_engine.made[0].store, LibraryConditioning)
    assert fake_engine.made[0].loaded
    r = cli("voices", "add", "hero", str(wav), "--replace")
    assert r.output == "Replaced voice 'hero' (6.0 s); conditioning stored for original.\n"


# -- through the real `cbx` entry point (needs cli.py to mount voices_app) -----------------------------


def test_cbx_voices_commands(wav):
    r = run(["voices", "list"])
    assert r.exit_code == 0, r.output
    assert r.stdout == NO_VOICES + "\n"
    r = run(["voices", "remove", "hero"])
    assert r.exit_code == 2
    assert r.stderr.strip() == f"cbx: error: {NO_VOICES}"
    r = run(["voices", "add", "bad name", str(wav)])
    assert r.exit_code == 2
    assert r.stderr.strip() == (
        "cbx: error: Voice name 'bad name' is not allowed: use 1 to 40 letters, digits, '-' or '_'."
    )


# -- with the tiny real checkpoint -----------------------------------------------------------------


@pytest.mark.engine
def test_add_computes_and_stores_real_conditioning(original_ckpt, wav, monkeypatch):
    import hashlib

    import torch
    from chatterbox.tts import ChatterboxTTS, Conditionals

    from cbx_cli.engine.base import EngineSpec
    from cbx_cli.engine.stock import ChatterboxEngine

    r = run(["voices", "add", "hero", str(wav), "--model-dir", str(original_ckpt), "--device", "cpu"])
    assert r.exit_code == 0, r.output
    assert r.stdout == "Added voice 'hero' (6.0 s); conditioning stored for original.\n"
    voice: Voice = get_voice("hero")

    engine = ChatterboxEngine(EngineSpec(model="original", model_dir=original_ckpt, device="cpu"),
                              LibraryConditioning())
    engine.load()
    path = conds_path(voice.dir, "original", engine.info.checkpoint_id)
    assert path.is_file() and stored_conditioning(voice.dir, "original", engine.info.checkpoint_id) == path
    assert voice.conditioned_models() == ["original"]

    computed = []
    real = ChatterboxTTS.prepare_conditionals
    monkeypatch.setattr(ChatterboxTTS, "prepare_conditionals", lambda *a, **k: computed.append(a) or real(*a, **k))
    stored = engine.voice(VoicePrompt(voice.reference, "hero"))  # what a run naming the voice gets: loaded
    assert computed == [] and stored.id == "voice:hero:" + hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    assert engine.voice(VoicePrompt(voice.reference, "hero")) is stored  # kept, not loaded again
    fresh = engine.voice(VoicePrompt(voice.reference))  # the same recording as a plain file: computed
    assert len(computed) == 1 and fresh.id.startswith("file:")
    a, b = stored.conditionals.t3, fresh.conditionals.t3
    assert torch.equal(a.speaker_emb, b.speaker_emb)
    assert torch.equal(a.cond_prompt_speech_tokens, b.cond_prompt_speech_tokens)
    for key, value in fresh.conditionals.gen.items():
        if torch.is_tensor(value):
            assert torch.equal(stored.conditionals.gen[key], value), key

    # the built-in voice stays the checkpoint's own, whichever voices were conditioned before it
    builtin = engine.voice(None)
    shipped = Conditionals.load(original_ckpt / "conds.pt", map_location="cpu")
    assert builtin.id == "builtin"
    assert torch.equal(builtin.conditionals.t3.speaker_emb, shipped.t3.speaker_emb)
    assert not torch.equal(builtin.conditionals.t3.speaker_emb, fresh.conditionals.t3.speaker_emb)

    # the voice added again under its name (what a server's key does with replace) is what the same engine uses next
    other = make_wav(wav.parent / "other.wav", seconds=7.0, freq=220.0)
    assert run(["voices", "add", "hero", str(other), "--replace", "--model-dir", str(original_ckpt),
                "--device", "cpu"]).exit_code == 0
    replaced = engine.voice(VoicePrompt(get_voice("hero").reference, "hero"))
    assert replaced.id != stored.id and not torch.equal(replaced.conditionals.t3.speaker_emb,
                                                        stored.conditionals.t3.speaker_emb)


def test_an_engine_keeps_the_voices_used_last(tmp_path, monkeypatch):
    """A server meets a new recording with every upload: the engine keeps KEPT_VOICES of them, the least recently
    used dropped first (computing is the model's own `prepare_conditionals`, stood in for: only the count matters)."""
    from cbx_cli.engine import stock

    engine = stock.ChatterboxEngine(EngineSpec(model="original", device="cpu"))
    computed: list[Path] = []
    monkeypatch.setattr(engine, "_computed", lambda prompt: computed.append(prompt.path) or f"conds {prompt.path}")
    first = VoicePrompt(make_wav(tmp_path / "first.wav"))
    engine.voice(first)
    for n in range(stock.KEPT_VOICES):
        engine.voice(first)  # used again and again: never the one dropped
        engine.voice(VoicePrompt(make_wav(tmp_path / f"upload-{n}.wav", seconds=5.0)))
    engine.voice(first)
    engine.voice(VoicePrompt(tmp_path / "upload-0.wav"))  # dropped long ago: computed again
    assert len(engine._voices) == stock.KEPT_VOICES
    assert computed.count(first.path) == 1 and computed.count(tmp_path / "upload-0.wav") == 2
