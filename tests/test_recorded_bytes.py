"""The same command writes the same bytes as when these hashes were recorded: audio in several formats, manifests,
subtitles, chapter files and a batch, on the fake engine and through the real Chatterbox code on the tiny checkpoint.

A change that is meant to leave what cbx writes alone (moving code, renaming, tidying) must leave these alone. When a
change is meant to alter the output, record the new hashes with ``CBX_RECORD=1 python -m pytest -q -s
tests/test_recorded_bytes.py`` and say in the commit why they changed.

Manifests are hashed without the fields that name this machine or this build rather than the narration: the take
cache's folder, the versions of the libraries, and (on the tiny checkpoint, whose identity includes its files'
modification times) the checkpoint's identity and the take-cache keys derived from it.
"""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from clirun import run

RECORDED = {
    "fake/say.wav": "43c1e1af2534d15036e318431fb0fe9b500864831db4c33a3e2060354d88d189",
    "fake/say.mp3": "1b4ef0454a0735514f1c48f92fc8c683c0babf88605344fbf1c498bf6d2d58e2",
    "fake/book.flac": "4b16fd9c2bcfb1d071e7d1c90d75f795d85d41f648d028e34ca41ad2a72f0b97",
    "fake/book.json": "d4aaee478f45baf629fec85ee7936fbc9fb3ee18921844c041a2a265c762f9d5",
    "fake/book.srt": "8b42574affc008c27109f3993e8bf6ab26d58b71bef17543a99ee940979558a1",
    "fake/book.vtt": "611077cdb7db44980a856035ddd0e4a5dc1a193b7ad748cc4e9890efff0febfb",
    "fake/chapters/01-the-harbour.flac": "57ef4cb246ecbf7fb3cb5bbd3ca700dbb28efe2f9ea329af4b0c5bd23851bb27",
    "fake/chapters/02-the-market.flac": "6c34e1c4973991f784ee94d43efaab6b7fd6bd8b1698cf70bb233a443ca5a6b5",
    "fake/batch/one.wav": "f0e92d98e712ec11c60393714b69de514ea5d29b24371d930ae72e3ebeb09d5b",
    "fake/batch/one.json": "f4624e5b11b96e030ca0586ba47686c10bc2a2a7a85ac76320f3b8f3fb5a9f13",
    "fake/batch/one.srt": "d5b11c3fcb5c3f50748247766710684b991cb670616258997e44ad6bc90dfd88",
    "fake/batch/two.wav": "0f9a75bbad1796662ac902c9bd27477968e2f0bf581a7dc636b4a952165e3716",
    "tiny/say.wav": "938013165abe13512477c6724c51250bed802160d66ebd0cab18a56c1da54456",
    "tiny/book.flac": "9d8e709a566f02673c0d256228a4692488ee50bcbe70555790d639c1b5d1d2c0",
    "tiny/book.json": "d89c96c2873e5afd2cc91ea12b288771d1cf269b82d0f672456e49e89893e385",
    "tiny/book.srt": "6178013a0c9b04cedc40ff4a0a8e4ec0522569c1a0ba113fd36617827fc15167",
}

BOOK = """\
---
title: Two Ports
author: A. Writer
---
# The Harbour

The boats came in at 6:40, one after another. Dr. Reed counted 12 of them. [pause 0.5s] Then the fog.

- Nets, still wet.
- Rope, coiled.

<!-- cbx: preset=game exaggeration=0.9 -->
"Is that all?" she asked.

# The Market

<!-- cbx: seed=7 -->
Prices rose by 5% on Tuesday, and again on the 14th of March.

***

The stalls closed early.
"""

FAKE = ["--device", "cpu", "--max-tokens", "60", "--retries", "1", "--quiet"]
TINY = ["--device", "cpu", "--max-tokens", "12", "--retries", "0", "--quiet", "--no-cache"]
MACHINE_FIELDS = ("cache", "versions", "command")
"""Fields that name the machine: the take cache, the versions installed, the run's paths (`"command"`)."""
BUILD_FIELDS = ("checkpoint", "engine")


def digest(path, drop_build: bool = False) -> str:
    """The SHA-256 of a file; of a manifest, without the fields that name the machine (and the build)."""
    data = path.read_bytes()
    if path.suffix == ".json":
        manifest = json.loads(data)
        for name in MACHINE_FIELDS + (BUILD_FIELDS if drop_build else ()):
            manifest.pop(name, None)
        if drop_build:
            for chunk in manifest["chunks"]:
                chunk.pop("take", None)
        data = json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=True).encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def check(found: dict[str, str]) -> None:
    if os.environ.get("CBX_RECORD"):
        print("\n".join(f'    "{name}": "{value}",' for name, value in found.items()))
        return
    expected = {name: RECORDED[name] for name in found}
    assert found == expected


@pytest.fixture
def book(tmp_path):
    path = tmp_path / "two-ports.md"
    path.write_text(BOOK, encoding="utf-8")
    return path


def test_fake_engine_outputs_are_the_recorded_bytes(fake_engine, voice_wav, book, tmp_path):
    out = tmp_path / "fake"
    out.mkdir()
    line = "Your order has shipped. It left the warehouse at 9 a.m. and arrives on Friday."
    for name in ("say.wav", "say.mp3"):
        r = run(["say", line, "-o", out / name, "--preset", "agent", "--sample-rate", "22050", *FAKE])
        assert r.exit_code == 0, r.output
    r = run(["book", book, "-o", out / "book.flac", "--manifest", out / "book.json", "--srt", out / "book.srt",
             "--vtt", out / "book.vtt", "--voice", voice_wav, "--preset", "narration", "--speed", "1.1",
             "--volume", "-2", *FAKE])
    assert r.exit_code == 0, r.output
    (out / "chapters").mkdir()
    r = run(["book", book, "-o", out / "chapters", "--split-chapters", "--format", "flac", "--preset", "audiobook",
             "--no-verify", *FAKE])
    assert r.exit_code == 0, r.output
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "one.md").write_text("# One\n\nThe first script. It has two sentences.\n\nAnd a second paragraph.\n")
    (scripts / "two.txt").write_text("The first script. It has two sentences.\n\nA plain text script.\n")
    r = run(["batch", scripts, "-o", out / "batch", "--manifests", "--subtitles", "srt", "--preset", "narration",
             *FAKE])
    assert r.exit_code == 0, r.output
    check({name: digest(tmp_path / name) for name in RECORDED if name.startswith("fake/")})


@pytest.mark.engine
def test_tiny_checkpoint_outputs_are_the_recorded_bytes(original_ckpt, voice_wav, tmp_path):
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # float sums in the same order on any machine's core count
    try:
        out = tmp_path / "tiny"
        out.mkdir()
        r = run(["say", "Same words. Same seed.", "-o", out / "say.wav", "--model-dir", original_ckpt, *TINY])
        assert r.exit_code == 0, r.output
        script = tmp_path / "short.md"
        script.write_text("# One\n\nA first line.\n\n# Two\n\nA second line, then an end.\n")
        r = run(["book", script, "-o", out / "book.flac", "--manifest", out / "book.json", "--srt", out / "book.srt",
                 "--voice", voice_wav, "--batch-size", "2", "--model-dir", original_ckpt, *TINY])
        assert r.exit_code == 0, r.output
    finally:
        torch.set_num_threads(threads)
    check({name: digest(tmp_path / name, drop_build=True) for name in RECORDED if name.startswith("tiny/")})
