"""`cbx batch` in one process, on the fake engine (tests/fakes.py): scripts from files, folders and globs, one output
per script with the bytes `cbx book` writes, the summary, the take cache shared across scripts and runs, and bad
input. The Ray cluster runs are in test_batch_cluster.py, on a tiny checkpoint."""

from __future__ import annotations

import json

import pytest

from cbx_cli.batch.scripts import expand_scripts, output_paths
from cbx_cli.errors import InputError, OutputError
from clirun import run

FAST = ["--device", "cpu", "--max-tokens", "40", "--retries", "1"]

SCRIPTS = {
    "ch01.md": "# Arrival\n\nThe train was late. Nobody minded.\n\n# Departure\n\nShe left at dawn.\n",
    "ch02.md": "# Letters\n\nThe train was late. Nobody minded.\n\nA letter came on Tuesday, and another on Friday.\n",
    "notes.txt": "A plain text script.\n\nIt has two paragraphs.\n",
}


@pytest.fixture
def scripts(tmp_path):
    folder = tmp_path / "scripts"
    folder.mkdir()
    for name, text in SCRIPTS.items():
        (folder / name).write_text(text)
    (folder / "cover.png").write_bytes(b"not a script")
    return folder


def test_folder_glob_and_files_expand_in_order_each_once(scripts):
    assert [p.name for p in expand_scripts([str(scripts)])] == ["ch01.md", "ch02.md", "notes.txt"]
    found = expand_scripts([str(scripts / "notes.txt"), str(scripts / "ch*.md"), str(scripts)])
    assert [p.name for p in found] == ["notes.txt", "ch01.md", "ch02.md"]


def test_bad_script_arguments_say_what_to_do(scripts, tmp_path):
    with pytest.raises(InputError, match="No file matches"):
        expand_scripts([str(scripts / "*.markdown")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="has no scripts or books"):
        expand_scripts([str(tmp_path / "empty")])
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "ch01.txt").write_text("Hi.")
    with pytest.raises(OutputError, match="would both be written to"):
        output_paths(expand_scripts([str(scripts), str(tmp_path / "other")]), tmp_path / "out", "wav")


def test_batch_writes_what_book_writes_and_a_summary(fake_engine, scripts, tmp_path):
    out = tmp_path / "out"
    r = run(["batch", str(scripts), "-o", out, "--manifests", "--subtitles", "srt", "--cache-dir",
             tmp_path / "cache", *FAST])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.iterdir()) == ["ch01.json", "ch01.srt", "ch01.wav", "ch02.json", "ch02.srt",
                                                     "ch02.wav", "notes.json", "notes.srt", "notes.wav",
                                                     "summary.json"]
    for name in SCRIPTS:
        stem = name.split(".")[0]
        book = tmp_path / f"book-{stem}.wav"
        b = run(["book", scripts / name, "-o", book, "--manifest", tmp_path / f"book-{stem}.json", "--srt",
                 tmp_path / f"book-{stem}.srt", "--cache-dir", tmp_path / f"cache-{stem}", *FAST])
        assert b.exit_code == 0, b.output
        for ext in ("wav", "srt"):
            assert (out / f"{stem}.{ext}").read_bytes() == (tmp_path / f"book-{stem}.{ext}").read_bytes(), ext
        # the manifests differ only in the take cache they name (each book run had its own)
        made, booked = (json.loads(p.read_text()) for p in (out / f"{stem}.json", tmp_path / f"book-{stem}.json"))
        assert made.pop("cache") == str(tmp_path / "cache") and booked.pop("cache") == str(tmp_path / f"cache-{stem}")
        assert made == booked

    summary = json.loads((out / "summary.json").read_text())
    assert [s["script"] for s in summary["scripts"]] == ["ch01.md", "ch02.md", "notes.txt"]
    assert [s["output"] for s in summary["scripts"]] == [str(out / f"{n}.wav") for n in ("ch01", "ch02", "notes")]
    chunks = [json.loads((out / f"{n}.json").read_text())["chunks"] for n in ("ch01", "ch02", "notes")]
    assert [s["chunks"] for s in summary["scripts"]] == [len(c) for c in chunks]
    # the sentence ch01 and ch02 share is rendered once, for ch01; ch02 finds it in the cache
    assert [s["rendered"] for s in summary["scripts"]] == [len(chunks[0]), len(chunks[1]) - 1, len(chunks[2])]
    assert summary["total"]["rendered"] == sum(len(c) for c in chunks) - 1
    assert summary["workers"] == "this process" and summary["per_worker"]["local"]["done"] == summary["total"][
        "rendered"]
    assert "Wrote 3 file(s)" in r.stderr


def test_a_second_run_renders_nothing(fake_engine, scripts, tmp_path):
    args = ["batch", str(scripts / "*.md"), "-o", tmp_path / "out", "--cache-dir", tmp_path / "cache", *FAST]
    assert run(args).exit_code == 0
    first = (tmp_path / "out" / "ch01.wav").read_bytes()
    calls = sum(len(e.calls) for e in fake_engine.made)
    r = run(args)
    assert r.exit_code == 0, r.output
    assert sum(len(e.calls) for e in fake_engine.made) == calls
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["total"]["rendered"] == 0 and summary["total"]["chunks"] > 0
    assert (tmp_path / "out" / "ch01.wav").read_bytes() == first


def test_retries_are_rendered_by_the_workers(fake_engine, scripts, tmp_path):
    """Takes the guards reject are retried where they are rendered; assembly finds every attempt in the cache."""
    fake_engine.knobs["to_budget"] = True
    r = run(["batch", scripts / "notes.txt", "-o", tmp_path / "out", "--no-cache", *FAST])
    assert r.exit_code == 0, r.output
    result = json.loads((tmp_path / "out" / "summary.json").read_text())["scripts"][0]
    assert result["retried"] == result["chunks"] == result["flagged"] == 2
    [worker] = fake_engine.made  # the one engine loaded: the worker's
    assert sum(len(c) for c in worker.calls) == 4  # two chunks, a retry each; assembling them rendered nothing more
    assert "ran to its token budget" in r.stderr


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--cluster", "somewhere"], "--cluster somewhere: Value error, use local, auto or ray://HOST:PORT"),
        (["--subtitles", "ass"], "--subtitles takes srt or vtt, not 'ass'."),
        (["--format", "wma"], "Unknown --format 'wma'"),
        (["--worker-cpus", "0"], "--worker-cpus must be at least 1."),
    ],
)
def test_bad_options_fail_before_any_work(fake_engine, scripts, tmp_path, extra, message):
    r = run(["batch", str(scripts), "-o", tmp_path / "out", *FAST, *extra])
    assert r.exit_code == 2
    assert message in r.stderr and "Traceback" not in r.output
    assert fake_engine.made == []


def test_output_must_be_a_folder(fake_engine, scripts, tmp_path):
    (tmp_path / "file.wav").write_bytes(b"")
    r = run(["batch", str(scripts), "-o", tmp_path / "file.wav", *FAST])
    assert r.exit_code == 2 and "is a file" in r.stderr
    r = run(["batch", str(scripts), "-o", tmp_path / "no" / "such", *FAST])
    assert r.exit_code == 2 and "does not exist" in r.stderr


def test_batch_refuses_to_skip_verification_silently(fake_engine, scripts, tmp_path):
    r = run(["batch", str(scripts), "-o", tmp_path / "out", "--preset", "audiobook", *FAST])
    assert r.exit_code == 2 and not (tmp_path / "out").exists()
    assert r.stderr.strip() == ("cbx: error: cbx batch does not verify takes: pass --no-verify (the audiobook preset "
                                "verifies), or narrate the scripts that need it with cbx book --verify.")
    r = run(["batch", str(scripts), "-o", tmp_path / "out", "--preset", "audiobook", "--no-verify", *FAST])
    assert r.exit_code == 0, r.output
