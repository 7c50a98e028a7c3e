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

BOOK = """\
# The First Chapter

It was a quiet morning. Dr. Reed opened the shop at 8.30 sharp.

- Bread, still warm.
- Coffee, black.

```
print("this is code and must not be spoken")
```

<!-- a note for the narrator, not for the listener -->

# The Second Chapter

The *afternoon* brought [rain](https://example.com/weather) and customers.
"""


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


def test_book_two_chapters_with_manifest(original_ckpt, tmp_path):
    script = tmp_path / "chapter.md"
    script.write_text(BOOK)
    out, manifest = tmp_path / "chapter.flac", tmp_path / "chapter.json"
    r = run([
        "book", str(script), "--preset", "audiobook", "-o", str(out), "--manifest", str(manifest),
        "--model-dir", str(original_ckpt), *FAST,
    ])
    assert r.exit_code == 0, r.output
    audio, sr = read(out)
    data = json.loads(manifest.read_text())
    texts = [c["text"] for c in data["chunks"]]
    assert texts == [
        "The First Chapter",
        "It was a quiet morning. Dr. Reed opened the shop at 8.30 sharp.",
        "Bread, still warm.",
        "Coffee, black.",
        "The Second Chapter",
        "The afternoon brought rain and customers.",
    ]
    assert all(isinstance(c["seed"], int) for c in data["chunks"])
    assert len({c["seed"] for c in data["chunks"]}) == len(texts)
    starts = [c["start"] for c in data["chunks"]]
    ends = [c["end"] for c in data["chunks"]]
    assert starts == sorted(starts) and all(s < e for s, e in zip(starts, ends, strict=True))
    assert ends[-1] <= len(audio) / sr + 0.01
    # the chapter pause (2.0 s in the audiobook preset) separates the chapters
    assert starts[4] - ends[3] >= 1.9
    assert -23.0 <= integrated_loudness(audio, sr) <= -18.0
    assert peak_dbfs(audio) <= -3.0


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
    from cbx_cli.engine.checkpoints import fill_hf_cache

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


def test_original_drops_tags_with_one_warning(original_ckpt, tmp_path):
    out, manifest = tmp_path / "orig.wav", tmp_path / "orig.json"
    r = run(["say", "Well [laugh] that went well.", "-o", str(out), "--manifest", str(manifest),
             "--model-dir", str(original_ckpt), "--device", "cpu", "--max-tokens", "12", "--retries", "0"])
    assert r.exit_code == 0, r.output
    assert r.stderr.count("Dropped 1 tag(s) ([laugh])") == 1
    assert [c["text"] for c in json.loads(manifest.read_text())["chunks"]] == ["Well that went well."]


def test_strict_fails_on_a_bad_take(original_ckpt, tmp_path):
    # random weights never emit the stop token, so every take runs to its budget: a bad take
    out = tmp_path / "strict.wav"
    r = run(["say", "This take will run to its budget.", "-o", str(out), "--model-dir", str(original_ckpt),
             "--device", "cpu", "--max-tokens", "8", "--retries", "1", "--strict"])
    assert r.exit_code == 3
    assert r.stderr.startswith("cbx: error: 1 chunk(s) still bad after 1 retries (--strict): chunk 1")
    assert not out.exists()


def test_book_accounts_for_every_word(original_ckpt, tmp_path):
    script = tmp_path / "table.md"
    script.write_text("---\ntitle: Stock\n---\n# Shelves\n\n| Item | Count |\n|---|---|\n| Bread | 4 |\n\n"
                      "```\nforgot to close\n\nThe end.\n")
    out, manifest = tmp_path / "t.wav", tmp_path / "t.json"
    r = run(["book", str(script), "-o", str(out), "--manifest", str(manifest), "--model-dir", str(original_ckpt),
             "--device", "cpu", "--max-tokens", "8", "--retries", "0"])
    assert r.exit_code == 0, r.output
    assert [c["text"] for c in json.loads(manifest.read_text())["chunks"]] == ["Shelves", "Item, Count", "Bread, 4"]
    assert ("warning: table.md:10: this code fence is never closed, so the 3 line(s) after it are read as code and "
            "not spoken. Close it with ```.") in r.stderr.splitlines()
