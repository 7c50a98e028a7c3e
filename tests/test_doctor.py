"""`cbx doctor` checks what the command line it is given would need, prints the fix for each missing piece, and exits
1 when one is missing."""

from __future__ import annotations

import shutil

import pytest

from clirun import run


def lines(r) -> dict[str, str]:
    """Each finding's name → its line (and its fix, on the next line)."""
    found, last = {}, None
    for line in r.stdout.splitlines():
        if line.startswith(("ok  ", "--  ")):
            last = line[4:24].strip()
            found[last] = line
        elif line.strip().startswith("fix:") and last:
            found[last] += "\n" + line.strip()
    return found


@pytest.fixture
def original_ckpt(tmp_path):
    """A folder laid out as an original checkpoint (doctor looks for the files; it loads nothing)."""
    from cbx_cli.config.catalog import CHATTERBOX_FILES

    folder = tmp_path / "ckpt"
    folder.mkdir()
    for name in CHATTERBOX_FILES["original"]:
        (folder / name).write_bytes(b"")
    return folder


def test_the_audiobook_run_offline_needs_three_models_and_says_how_to_fetch_them(tmp_path):
    r = run(["doctor", "--preset", "audiobook", "-o", tmp_path / "book.flac"])
    assert r.exit_code == 1
    found = lines(r)
    assert found["model original"].endswith("fix: cbx models pull original (or --model-dir DIR with a checkpoint)")
    assert found["speech base.en"].startswith("--") and found["speech small.en"].endswith(
        "fix: cbx models pull small.en, or run with --no-verify")
    assert "3 needed piece(s) missing: model original, speech base.en, speech small.en." in r.stdout
    assert r.stdout.rstrip().endswith("Fetch every missing model with: cbx models pull original base.en small.en")
    r = run(["doctor", "--preset", "audiobook", "--no-verify"])  # without verification no speech model is needed
    assert "speech base.en" not in lines(r)


def test_a_checkpoint_folder_and_no_verification_have_everything(original_ckpt, tmp_path):
    r = run(["doctor", "--model-dir", original_ckpt, "-o", tmp_path / "a.wav", "--cache-dir", tmp_path / "takes"])
    assert r.exit_code == 0, r.output
    assert lines(r)["model original"] == f"ok  model original       --model-dir {original_ckpt}"
    r = run(["doctor", "--model-dir", tmp_path, "--model", "turbo"])
    assert r.exit_code == 1 and "is not a Chatterbox turbo checkpoint" in lines(r)["model turbo"]
    assert "fix: pass the folder of a Chatterbox checkpoint with --model-dir" in lines(r)["model turbo"]


def test_ffmpeg_is_needed_only_for_the_formats_that_use_it(original_ckpt, tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)  # a machine without ffmpeg
    base = ["doctor", "--model-dir", original_ckpt, "--cache-dir", tmp_path]
    r = run([*base, "-o", tmp_path / "a.m4b"])
    assert r.exit_code == 1 and lines(r)["ffmpeg"] == (
        "--  ffmpeg               not found: .m4b output needs it\n"
        "fix: apt install ffmpeg (or brew install ffmpeg), or choose .wav or .flac")
    r = run([*base, "-o", tmp_path / "a.flac"])
    assert r.exit_code == 0 and lines(r)["ffmpeg"].startswith("ok  ffmpeg")


@pytest.mark.parametrize("device", ["cuda", "mps"])
def test_a_device_asked_for_that_is_not_there(original_ckpt, device):
    import torch

    if device == "cuda" and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    r = run(["doctor", "--model-dir", original_ckpt, "--device", device])
    assert r.exit_code == 1 and lines(r)[device].startswith(f"--  {device}")
