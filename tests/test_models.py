"""`cbx models`: the list, pulls from a hub-shaped server on a loopback port (progress, resumption, revisions),
carrying models to a machine offline (--to, --from), and a run that names every missing model at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from clirun import run
from hubserver import Repo, files_of, serving

CHATTERBOX = "ResembleAI/chatterbox"
BASE_EN = "Systran/faster-whisper-base.en"


def original_files(seed: int = 1) -> dict[str, bytes]:
    """A repository with the original model's files: big ones served as LFS, as the hub serves weights."""
    big = bytes((i * seed) % 251 for i in range(300_000))
    return {"ve.safetensors": b"v" * 2048, "t3_cfg.safetensors": big, "s3gen.safetensors": big[::-1],
            "tokenizer.json": b'{"tokenizer": 1}', "conds.pt": b"c" * 4096, "README.md": b"# not fetched"}


def whisper_files() -> dict[str, bytes]:
    return {"model.bin": b"w" * 50_000, "config.json": b"{}", "tokenizer.json": b"{}", "vocabulary.txt": b"a\nb\n",
            "preprocessor_config.json": b"{}"}


def test_list_names_every_model_and_what_the_cache_holds(isolated_env):
    from cbx_cli.tools.checkpoints import fill_hf_cache

    folder = isolated_env.hf_home / "whisper"
    folder.mkdir(parents=True)
    for name, data in whisper_files().items():
        (folder / name).write_bytes(data)
    fill_hf_cache(isolated_env.hf_hub_cache, BASE_EN, folder, revision="1" * 40)
    r = run(["models", "list"])
    assert r.exit_code == 0, r.output
    blocks = r.stdout.split("\n")
    assert [line.split()[0] for line in blocks if line and not line.startswith(" ")] == [
        "original", "turbo", "multilingual", "base.en", "small.en", "base", "small"]
    assert "not in the cache (about 3.2 GB): cbx models pull original" in r.stdout
    assert f"in the cache at {'1' * 12} (main), 50 kB: " in r.stdout


def test_pull_fetches_with_progress_and_continues_a_dropped_file(isolated_env, monkeypatch):
    """A connection dropped halfway through a file is taken up where it stopped (the hub library asks for the rest)."""
    from cbx_cli.config.catalog import CATALOG
    from cbx_cli.engine import hub as cache
    from cbx_cli.tools.models import pull

    files, chunk = original_files(), 1 << 16  # the hub library writes what it receives in chunks of this size
    monkeypatch.setattr("huggingface_hub.constants.DOWNLOAD_CHUNK_SIZE", chunk)
    with serving({CHATTERBOX: Repo(files)}, monkeypatch) as hub:
        hub.cut_after["t3_cfg.safetensors"] = 2 * chunk + 100
        seen = []
        pull(["original"], on_progress=seen.append)
    found = cache.find(CATALOG["original"])
    assert found is not None and found.revision == "a" * 40
    assert files_of(found.folder) == {k: v for k, v in files.items() if k != "README.md"}  # the model's files only
    t3 = [ranged for method, path, ranged in hub.log if method == "GET" and path.endswith("t3_cfg.safetensors")]
    assert t3 == [None, f"bytes={2 * chunk}-"]  # the rest, not the whole file again
    total = sum(len(v) for k, v in files.items() if k != "README.md")
    assert seen[-1].done == seen[-1].total == total and all(p.model == "original" for p in seen)
    assert [p.done for p in seen] == sorted(p.done for p in seen)


def test_a_stopped_pull_keeps_the_files_it_finished(isolated_env, monkeypatch):
    from cbx_cli.engine import hub as cache
    from cbx_cli.tools.models import pull

    snapshots = cache.repo_folder(CHATTERBOX, isolated_env.hf_hub_cache) / "snapshots"
    with serving({CHATTERBOX: Repo(original_files())}, monkeypatch) as hub:
        hub.stall_after["t3_cfg.safetensors"] = 1000
        child = subprocess.Popen([sys.executable, "-c", "from cbx_cli.tools.models import pull; pull(['original'])"],
                                 env=os.environ | {"HF_HUB_DISABLE_PROGRESS_BARS": "1"}, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while len(list(snapshots.glob("*/*"))) < 4 and time.monotonic() < deadline:  # a file is done once linked
            assert child.poll() is None, child.stderr.read().decode()
            time.sleep(0.05)
        child.kill()
        child.wait()
        hub.log.clear()
        pull(["original"])
    fetched = [path.rsplit("/", 1)[1] for method, path, _ in hub.log if method == "GET" and "/resolve/" in path]
    assert fetched == ["t3_cfg.safetensors"]  # the four files finished before the stop are not fetched again


def test_pull_a_revision_and_an_unknown_one(isolated_env, monkeypatch):
    from cbx_cli.config.catalog import CATALOG
    from cbx_cli.engine import hub as cache

    with serving({CHATTERBOX: Repo(original_files(), refs={"v1": "b" * 40})}, monkeypatch):
        r = run(["models", "pull", "original@v1"])
        assert r.exit_code == 0, r.output
        assert f"original: {CHATTERBOX} at {'b' * 12}" in r.stderr
        r = run(["models", "pull", "original", "--revision", "v9"])
        assert (r.exit_code, r.stderr) == (4, f"cbx: error: {CHATTERBOX} has no revision 'v9'. Check --revision.\n")
    assert cache.find(CATALOG["original"], "v1").revision == "b" * 40
    assert cache.find(CATALOG["original"]) is None  # main was never fetched


def test_models_carried_to_a_machine_offline(isolated_env, monkeypatch, tmp_path):
    from huggingface_hub import constants

    from cbx_cli.config.catalog import CATALOG
    from cbx_cli.engine import hub as cache

    files, carried = original_files(), tmp_path / "stick"
    with serving({CHATTERBOX: Repo(files), BASE_EN: Repo(whisper_files(), commit="c" * 40)}, monkeypatch):
        r = run(["models", "pull", "original", "base.en", "--to", carried])
    assert r.exit_code == 0, r.output
    assert f"Carry {carried} to the other machine and run there: cbx models pull --from {carried}" in r.stderr
    listed = json.loads((carried / "cbx-models.json").read_text())["models"]
    assert set(listed) == {"original", "base.en"} and listed["base.en"]["revision"] == "c" * 40
    assert files_of(carried / "original") == {k: v for k, v in files.items() if k != "README.md"}
    assert not any(p.is_symlink() for p in carried.rglob("*"))

    other = tmp_path / "offline-cache"  # the machine without the network: an empty cache, offline
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(other))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert cache.find(CATALOG["original"]) is None
    r = run(["models", "pull", "--from", carried, "original"])
    assert r.exit_code == 0, r.output
    found = cache.find(CATALOG["original"])
    assert found is not None and found.revision == "a" * 40 and files_of(found.folder)["tokenizer.json"] == files[
        "tokenizer.json"]
    assert cache.find(CATALOG["base.en"]) is None  # only what was named
    r = run(["models", "pull", "--from", carried])
    assert r.exit_code == 0 and cache.find(CATALOG["base.en"]).revision == "c" * 40

    (carried / "base.en" / "model.bin").write_bytes(b"x" * 50_000)  # damaged on the way
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "third"))
    r = run(["models", "pull", "--from", carried, "base.en"])
    assert (r.exit_code, r.stderr) == (2, f"cbx: error: '{carried / 'base.en' / 'model.bin'}' is not the file that "
                                          "was carried (its size or SHA-256 differs): copy it again from the machine "
                                          "that made the folder.\n")
    assert cache.find(CATALOG["base.en"]) is None


def test_pull_offline_says_how_to_carry_the_models(isolated_env):
    r = run(["models", "pull", "original", "small.en"])
    assert (r.exit_code, r.stderr) == (4, "cbx: error: The Hugging Face hub cannot be reached, and the cache does not "
                                          "hold original, small.en. On a machine with the network run cbx models pull "
                                          "original small.en --to DIR, bring DIR here, and run cbx models pull --from "
                                          "DIR.\n")
    r = run(["models", "pull", "orignal"])
    assert r.exit_code == 2 and "Unknown model 'orignal'. Known: original, turbo, multilingual" in r.stderr


def test_a_run_names_every_missing_model_at_once(tmp_path):
    """The real engines, an empty cache, offline: the headline command fails once, naming every model."""
    script = tmp_path / "a.md"
    script.write_text("# One\n\nA short line.\n")
    out = tmp_path / "a.flac"
    r = run(["book", script, "--preset", "audiobook", "-o", out])
    assert r.exit_code == 4 and not out.exists()
    assert r.stderr == (
        "cbx: error: Not in the Hugging Face cache, and the hub cannot be reached: Chatterbox original "
        "(ResembleAI/chatterbox, about 3.2 GB); speech recognition base.en (Systran/faster-whisper-base.en, about "
        "145 MB), small.en (Systran/faster-whisper-small.en, about 484 MB). Fetch them with: cbx models pull original "
        "base.en small.en (for a machine without the network: add --to DIR on one that has it, then cbx models pull "
        "--from DIR here); or pass --model-dir DIR with a checkpoint folder; or run without checking takes: "
        "--no-verify (or hear them with --verify-model FOLDER).\n")
    r = run(["book", script, "--preset", "audiobook", "-o", out, "--no-verify", "--revision", "v1"])
    assert r.exit_code == 4 and "Fetch it with: cbx models pull original@v1 (" in r.stderr
    assert "base.en" not in r.stderr and "--no-verify" not in r.stderr


@pytest.mark.engine
@pytest.mark.parametrize("model", ["original", "turbo"])
def test_weights_pulled_from_the_hub_load_offline(model, request, isolated_env, monkeypatch, tmp_path):
    """Every file the model's loader reads comes with the pull (turbo's: its tokenizer's files too)."""
    from huggingface_hub import constants

    from cbx_cli.config.catalog import CATALOG

    checkpoint = request.getfixturevalue(f"{model}_ckpt")
    with serving({CATALOG[model].repo: Repo(files_of(checkpoint) | {"README.md": b"# not fetched"})}, monkeypatch):
        r = run(["models", "pull", model])
        assert r.exit_code == 0, r.output
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    out = tmp_path / "hi.wav"
    r = run(["say", "Hello there.", "-o", out, "--model", model, "--device", "cpu", "--max-tokens", "8", "--no-cache",
             "-q"])
    assert r.exit_code == 0, r.output
    assert out.stat().st_size > 1000
