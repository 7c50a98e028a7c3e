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


def test_a_disk_too_full_for_the_take_cache(original_ckpt, tmp_path, monkeypatch):
    """A full disk cannot be made here without root: `shutil.disk_usage` stands in for one, for the cache's folder
    only."""
    real = shutil.disk_usage
    takes = tmp_path / "takes"

    def nearly_full_at_takes(path):
        usage = real(path)
        return usage._replace(free=200 * 10**6) if str(path).startswith(str(tmp_path)) else usage

    monkeypatch.setattr(shutil, "disk_usage", nearly_full_at_takes)
    r = run(["doctor", "--model-dir", original_ckpt, "-o", tmp_path / "a.wav", "--cache-dir", takes])
    assert r.exit_code == 1
    assert lines(r)["take cache"] == (
        f"--  take cache           {takes}, 0.2 GB free\n"
        "fix: free some disk there, or pass --cache-dir FOLDER on a disk with 1 GB or more free (takes need about "
        "350 MB per hour of audio)")
    assert "1 needed piece(s) missing: take cache." in r.stdout
    assert not takes.exists()  # doctor looks; it makes nothing


def test_gpu_memory_is_checked_against_the_model(original_ckpt, monkeypatch):
    """No GPU here: torch.cuda's answers stand in for one GPU with 3 of 24 GiB free."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i: "a stand-in GPU")
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda i: (3 * 2**30, 24 * 2**30))
    r = run(["doctor", "--model-dir", original_ckpt])
    assert r.exit_code == 1 and lines(r)["cuda:0"] == (
        "--  cuda:0               a stand-in GPU, 3.0 of 24.0 GiB free\n"
        "fix: free GPU memory: the original model needs about 6 GiB (stop what else runs on it), or run on the CPU "
        "(--device cpu)")
    r = run(["doctor", "--model-dir", original_ckpt, "--device", "cpu"])  # the run would not use the GPU
    assert r.exit_code == 0 and lines(r)["cuda:0"].startswith("ok  cuda:0")
