"""What an operator sets once for every request: the serve config file (read like a preset, every mistake one line
naming the file and field), and what its defaults do to requests of every API on a real loopback server."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest

from cbx_cli.errors import InputError, PresetError
from cbx_cli.serve import Defaults
from cbx_cli.serve.service import shared_voices
from cbx_cli.serve.settings import load_settings
from cbx_cli.tools.checkpoints import write_voice_wav
from clirun import run
from servers import KEY, running


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "serve.yaml"
    path.write_text(text)
    return path


def test_a_full_config_file_gives_the_defaults(tmp_path):
    from cbx_cli.voices.library import add_voice

    add_voice("narrator", str(write_voice_wav(tmp_path / "v.wav", seconds=6.0, sr=24000)), "original",
              root=shared_voices(tmp_path / "serve"))
    (tmp_path / "voices").mkdir()
    defaults, preset = load_settings(config(tmp_path, """
preset: narration
voice: narrator
max_tokens: 400
retries: 1
voices_dir: voices
public_url: https://tts.example.com/
http_webhooks: true
fields:
  segmind: [seed, exaggeration]
  fish: [format]
"""), shared_voices(tmp_path / "serve"))
    assert preset == "narration"
    assert (defaults.voice, defaults.max_tokens, defaults.retries) == ("narrator", 400, 1)
    assert defaults.voices_dir == tmp_path / "voices" and defaults.public_url == "https://tts.example.com"
    assert defaults.fields == {"segmind": {"text", "seed", "exaggeration"}, "fish": {"text", "format"}}


BAD = [
    ("max_tokns: 4", "unknown field 'max_tokns'"),
    ("max_tokens: 5000", "max_tokens = 5000 is out of range; allowed 1 to 1000"),
    ("retries: -1", "retries"),
    ("fields: {segmnd: [seed]}", "unknown API 'segmnd'. Known: cbx, fish, openai, pixazo, resonance, segmind"),
    ("fields: {segmind: [sead]}", "fields.segmind: unknown field 'sead'"),
    ("fields: {resonance: [text]}", "fields.resonance: unknown field 'text'"),
    ("voice: nobody", "voice 'nobody' is not one of the server's shared voices"),
    ("voices_dir: missing", "voices_dir 'missing' is not a folder"),
    ("public_url: ftp://x", "public_url"),
    ("[1, 2]", "expected a mapping"),
    ("a: [", "not valid YAML"),
]


@pytest.mark.parametrize("text, words", BAD)
def test_a_bad_config_file_is_one_line_naming_the_file_and_field(tmp_path, text, words):
    path = config(tmp_path, text)
    with pytest.raises(InputError) as refused:
        load_settings(path, shared_voices(tmp_path / "serve"))
    assert words in refused.value.message and str(path) in refused.value.message
    assert "\n" not in refused.value.message


def test_cbx_serve_refuses_a_bad_config_before_loading_a_model(tmp_path):
    result = run(["serve", "--config", config(tmp_path, "retries: 99"), "--data-dir", tmp_path / "data"])
    assert result.exit_code == 2 and "retries = 99 is out of range" in result.stderr
    unknown = run(["serve", "--config", config(tmp_path, "preset: audibook")])
    assert unknown.exit_code == 2 and "Unknown preset 'audibook'" in unknown.stderr
    missing = run(["serve", "--config", tmp_path / "none.yaml"])
    assert missing.exit_code == 2 and "is not a file" in missing.stderr
    assert "Traceback" not in result.stderr + unknown.stderr + missing.stderr
    with pytest.raises(PresetError):
        load_settings(config(tmp_path, "preset: audibook"), shared_voices(tmp_path / "serve"))


def test_defaults_fill_what_requests_leave_out_and_narrowed_fields_are_ignored(fake_engine, tmp_path):
    """The operator's voice, token cap and retries reach a Segmind request that carries none of them; a field the
    config does not let Segmind requests set (seed) is ignored; cbx's own requests may still set theirs."""
    from cbx_cli.voices.library import add_voice

    add_voice("narrator", str(write_voice_wav(tmp_path / "v.wav", seconds=6.0, sr=24000)), "original",
              root=shared_voices(tmp_path / "serve"))
    fake_engine.knobs["to_budget"] = True  # every take runs to its token budget, as random weights do
    defaults = Defaults(voice="narrator", max_tokens=10, retries=0, fields={"segmind": frozenset({"text"})})
    with running(tmp_path / "serve", fake_engine, defaults=defaults) as base, \
            httpx.Client(base_url=base, timeout=60) as http:
        seeded = http.post("/v1/chatterbox-tts", headers={"x-api-key": KEY}, json={"text": "Hello.", "seed": 9})
        unseeded = http.post("/v1/chatterbox-tts", headers={"x-api-key": KEY}, json={"text": "Hello."})
        own = http.post("/v1/tts", headers={"x-api-key": KEY}, json={"text": "Hello.", "max_tokens": 50})
    engine = fake_engine.last
    assert seeded.status_code == 200 and seeded.content == unseeded.content
    assert float(seeded.headers["x-cbx-audio-seconds"]) < 0.6  # 10 tokens at most
    assert seeded.headers["x-cbx-chunks"] == "1" and engine.calls[:1] == [[0]] and len(engine.calls) == 2
    assert float(own.headers["x-cbx-audio-seconds"]) > 1.5  # its own max_tokens
    assert {p.name for p in engine.prompts if p is not None} == {"narrator"}


def test_a_job_store_from_before_the_hosted_apis_opens_and_gains_its_columns(tmp_path):
    from cbx_cli.serve.jobs import JobStore

    path = tmp_path / "jobs.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE jobs (id TEXT PRIMARY KEY, key_id TEXT NOT NULL, status TEXT NOT NULL, request TEXT "
                   "NOT NULL, reference TEXT, created REAL NOT NULL, started REAL, finished REAL, chunks_total "
                   "INTEGER NOT NULL DEFAULT 0, chunks_done INTEGER NOT NULL DEFAULT 0, error TEXT, output TEXT, "
                   "metrics TEXT, webhook TEXT, webhook_attempts INTEGER NOT NULL DEFAULT 0, webhook_delivered "
                   "INTEGER NOT NULL DEFAULT 0)")
        db.execute("INSERT INTO jobs (id, key_id, status, request, created) VALUES (?, 'open', 'QUEUED', '{}', 1)",
                   ("a" * 32,))
    store = JobStore(path)
    row = store.get("a" * 32)
    store.close()
    assert row["api"] == "cbx" and row["webhook_mode"] is None and row["internal"] == 0
