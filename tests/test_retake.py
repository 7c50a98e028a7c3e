"""`cbx retake`: single chunks rendered again with a new seed, the pick kept beside the script for later runs, the
output rebuilt from the take cache; on the fake engine."""

from __future__ import annotations

import json

import pytest

from clirun import run

BOOK = """\
# The Harbour

The ferry reached the point at dusk.

Mara stepped onto the pier.

# The Light

The lamp burned until dawn.
"""


@pytest.fixture
def book(tmp_path):
    script = tmp_path / "book.md"
    script.write_text(BOOK)
    return script


def narrate(command: str, script, tmp_path, *extra: str) -> tuple[bytes, dict]:
    out, manifest = tmp_path / "book.wav", tmp_path / "book.json"
    r = run([command, str(script), "-o", str(out), "--manifest", str(manifest), "--preset", "audiobook", "--no-verify",
             *extra])
    assert r.exit_code == 0, r.output
    return out.read_bytes(), json.loads(manifest.read_text())


def test_retake_renders_one_chunk_and_a_plain_rerun_keeps_it(book, tmp_path, fake_engine):
    first, before = narrate("book", book, tmp_path)
    retaken, after = narrate("retake", book, tmp_path, "--chunk", "3")
    assert fake_engine.last.calls == [[2]]  # only chunk 3 (index 2) was synthesized; the rest came from the cache
    assert retaken != first
    assert after["chunks"][2]["retake"] == 1 and after["chunks"][2]["seed"] != before["chunks"][2]["seed"]
    for n in (0, 1, 3, 4):
        assert after["chunks"][n]["seed"] == before["chunks"][n]["seed"] and "retake" not in after["chunks"][n]
    made = len(fake_engine.made)
    again, kept = narrate("book", book, tmp_path)
    assert len(fake_engine.made) == made  # every take came from the cache: no engine was made, none loaded
    assert "(0 rendered, 5 from cache, 0 retried, 0 flagged, 1 with a retake's seed)" in run(
        ["book", str(book), "-o", str(tmp_path / "other.wav"), "--preset", "audiobook", "--no-verify"]).stderr
    assert again == retaken and kept["chunks"] == after["chunks"]
    assert (tmp_path / "book.md.retakes.json").is_file()


def test_each_retake_takes_the_next_seed_or_the_given_one(book, tmp_path, fake_engine):
    _, plain = narrate("book", book, tmp_path)
    _, one = narrate("retake", book, tmp_path, "--chunk", "2")
    _, two = narrate("retake", book, tmp_path, "--chunk", "2")
    seeds = [m["chunks"][1]["seed"] for m in (plain, one, two)]
    assert len(set(seeds)) == 3 and two["chunks"][1]["retake"] == 2
    _, given = narrate("retake", book, tmp_path, "--chunks", "2,4-5", "--take-seed", "1234")
    assert [given["chunks"][n].get("seed") for n in (1, 3, 4)] == [1234, 1234, 1234]
    assert [given["chunks"][n].get("retake") for n in range(5)] == [None, 3, None, 1, 1]


def test_pick_follows_its_chunk_when_the_script_changes_elsewhere(book, tmp_path, fake_engine):
    _, picked = narrate("retake", book, tmp_path, "--chunk", "3")
    book.write_text(BOOK.replace("# The Harbour\n", "# The Harbour\n\nA new first line.\n"))
    _, edited = narrate("book", book, tmp_path)
    moved = edited["chunks"][3]
    assert moved["text"] == "Mara stepped onto the pier." and moved["seed"] == picked["chunks"][2]["seed"]
    assert moved["retake"] == 1


def test_a_repeated_text_is_retaken_where_it_was_picked(tmp_path, fake_engine):
    script = tmp_path / "echo.md"
    script.write_text("Yes.\n\nThe bell rang.\n\nYes.\n")
    _, before = narrate("book", script, tmp_path)
    assert before["chunks"][0]["seed"] == before["chunks"][2]["seed"]  # one text, one planned seed
    _, after = narrate("retake", script, tmp_path, "--chunk", "3")
    assert after["chunks"][0]["seed"] == before["chunks"][0]["seed"] and "retake" not in after["chunks"][0]
    assert after["chunks"][2]["seed"] != before["chunks"][2]["seed"] and after["chunks"][2]["retake"] == 1


def test_seed_is_the_base_seed_as_in_book_and_run_seed_still_says_so(book, tmp_path, fake_engine):
    _, seeded = narrate("book", book, tmp_path, "--seed", "7")
    _, retaken = narrate("retake", book, tmp_path, "--chunk", "1", "--seed", "7")
    assert fake_engine.last.calls == [[0]]  # the other chunks keep the takes --seed 7 gave them
    assert [c["seed"] for c in retaken["chunks"][1:]] == [c["seed"] for c in seeded["chunks"][1:]]
    r = run(["retake", str(book), "-o", str(tmp_path / "book.wav"), "--preset", "audiobook", "--no-verify", "--chunk",
             "2", "--run-seed", "7"])
    assert r.exit_code == 0 and r.stderr.startswith("warning: --run-seed is deprecated: --seed gives the run's base "
                                                    "seed in every command (the retaken chunks' own seed is "
                                                    "--take-seed).\n")
    assert fake_engine.last.calls == [[1]]


def test_retake_from_a_manifest_writes_what_retake_with_the_options_typed_writes(tmp_path, fake_engine):
    """Two copies of one script, narrated with the same options: one retaken from its manifest alone, the other with
    every option typed again. Same bytes; the manifest's options hold unless a flag is given."""
    outs = {}
    flags = ["--preset", "audiobook", "--no-verify", "--seed", "3", "--speed", "1.1", "--title", "Harbour",
             "--chapters", "1"]
    for kind in ("manifest", "typed"):
        folder = tmp_path / kind
        folder.mkdir()
        (folder / "book.md").write_text(BOOK)
        out, manifest, srt = folder / "book.flac", folder / "book.json", folder / "book.srt"
        sides = ["-o", out, "--manifest", manifest, "--srt", srt]
        assert run(["book", folder / "book.md", *sides, *flags]).exit_code == 0
        if kind == "manifest":
            r = run(["retake", manifest, "--chunk", "2"])
        else:
            r = run(["retake", folder / "book.md", "--chunk", "2", *sides, *flags])
        assert r.exit_code == 0, r.output
        outs[kind] = out.read_bytes(), srt.read_bytes(), json.loads(manifest.read_text())
    assert outs["manifest"][:2] == outs["typed"][:2]
    chunks = [outs[k][2]["chunks"] for k in outs]
    assert chunks[0] == chunks[1] and chunks[0][1]["retake"] == 1
    recorded = outs["manifest"][2]["command"]
    assert recorded["script"] == str(tmp_path / "manifest" / "book.md")
    assert recorded["options"]["seed"] == 3 and recorded["options"]["speed"] == 1.1
    assert recorded["options"]["chapters"] == "1" and len(chunks[0]) == 3  # the book's reading options too
    assert recorded["options"]["retakes"] == str(tmp_path / "manifest" / "book.md.retakes.json")

    manifest = tmp_path / "manifest" / "book.json"
    other = tmp_path / "manifest" / "slow.wav"
    r = run(["retake", manifest, "--chunk", "2", "-o", other, "--speed", "0.9"])  # a flag given overrides
    assert r.exit_code == 0, r.output
    assert json.loads(manifest.read_text())["command"]["options"]["speed"] == 0.9 and other.exists()


def test_retake_from_a_manifest_that_records_no_options_says_what_to_do(tmp_path, fake_engine):
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"chunks": []}))
    r = run(["retake", old, "--chunk", "1"])
    assert (r.exit_code, r.stderr) == (2, f"cbx: error: Manifest '{old}' does not record the options of its run (it "
                                          "was written before cbx kept them): give the script and the options "
                                          "instead, as for cbx book.\n")


@pytest.mark.parametrize("args, message", [
    (["--chunk", "9"], "Chunk 9 is out of range: the script has 5 chunk(s), numbered from 1"),
    (["--chunk", "0"], "Chunk 0 is out of range"),
    (["--chunks", "2-x"], "--chunks '2-x' is not a list of chunk numbers; write e.g. 3,7-9."),
    ([], "Name the chunks to retake with --chunk N or --chunks 3,7-9"),
    (["--chunk", "1", "--take-seed", "-1"], "seed"),
])
def test_bad_chunk_choices_are_one_line_before_any_render(book, tmp_path, fake_engine, args, message):
    r = run(["retake", str(book), "-o", str(tmp_path / "out.wav"), *args])
    assert r.exit_code == 2 and message in r.stderr and "Traceback" not in r.output
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out.wav").exists() and not (tmp_path / "book.md.retakes.json").exists()
    assert all(not e.calls for e in fake_engine.made)


def test_retake_needs_a_script_file(tmp_path, fake_engine):
    r = run(["retake", "-", "-o", str(tmp_path / "out.wav"), "--chunk", "1"], input="Hello there.")
    assert r.exit_code == 2 and "needs a manifest or a script file, not stdin" in r.stderr


def test_damaged_retake_file_is_named(book, tmp_path, fake_engine):
    (tmp_path / "book.md.retakes.json").write_text("{oops")
    r = run(["book", str(book), "-o", str(tmp_path / "out.wav")])
    assert r.exit_code == 2 and "book.md.retakes.json' cannot be read" in r.stderr and "delete it" in r.stderr


def test_output_never_replaces_the_retake_file(book, tmp_path, fake_engine):
    narrate("retake", book, tmp_path, "--chunk", "1")
    picks = (tmp_path / "book.md.retakes.json").read_bytes()
    r = run(["book", str(book), "-o", str(tmp_path / "out.wav"), "--manifest", str(tmp_path / "book.md.retakes.json")])
    assert r.exit_code == 2 and "the retake file" in r.stderr
    assert (tmp_path / "book.md.retakes.json").read_bytes() == picks


def test_library_retake_as_the_readme_shows(book, tmp_path):
    import cbx_cli as cbx
    from fakes import FakeEngine

    narrator = cbx.Narrator(cache_dir=tmp_path / "takes", engine_factory=FakeEngine)
    script, name = cbx.load_script(str(book))
    job = narrator.prepare(script, cbx.Options(), source_name=name, retakes=cbx.Retakes.beside(book))
    planned = [c.seed for c in job.chunks]
    job = cbx.retake(job, [2])
    assert [c.seed != p for c, p in zip(job.chunks, planned, strict=True)] == [False, True, False, False, False]
    job.retakes.save()
    again = narrator.prepare(script, cbx.Options(), source_name=name, retakes=cbx.Retakes.beside(book))
    assert [c.seed for c in again.chunks] == [c.seed for c in job.chunks]
    assert cbx.manifest(narrator.narrate(again))["chunks"][1]["retake"] == 1


def test_a_chapters_retake_holds_in_the_whole_book_and_in_batch(tmp_path, fake_engine):
    """The samples' Makefile: chapters and the whole book (the chapters joined) share one file of picks; a chunk
    retaken from a chapter's manifest is the same take in the book and in `cbx batch`, rendered once."""
    chapters = tmp_path / "book"
    chapters.mkdir()
    (chapters / "01.md").write_text("# One\n\nThe ferry reached the point at dusk.\n\nMara stepped onto the pier.\n")
    (chapters / "02.md").write_text("# Two\n\nThe lamp burned until dawn.\n")
    picks, out = chapters / "retakes.json", tmp_path / "out"
    out.mkdir()
    flags = ["--preset", "audiobook", "--no-verify", "--retakes", picks]
    for name in ("01", "02"):
        assert run(["book", chapters / f"{name}.md", "-o", out / f"{name}.wav", "--manifest", out / f"{name}.json",
                    *flags]).exit_code == 0
    r = run(["retake", out / "01.json", "--chunk", "3"])
    assert r.exit_code == 0, r.output
    retaken = json.loads((out / "01.json").read_text())["chunks"][2]
    assert retaken["retake"] == 1 and picks.is_file()
    whole = out / "book.md"
    whole.write_text((chapters / "01.md").read_text() + "\n" + (chapters / "02.md").read_text())
    made = len(fake_engine.made)
    r = run(["book", whole, "-o", out / "book.wav", "--manifest", out / "book.json", *flags])
    assert r.exit_code == 0, r.output
    book = json.loads((out / "book.json").read_text())["chunks"]
    assert book[2]["seed"] == retaken["seed"] and book[2]["retake"] == 1
    assert len(fake_engine.made) == made  # every take, the retaken one too, came from the cache
    r = run(["batch", chapters / "01.md", "-o", tmp_path / "batch", "--manifests", *flags])
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "batch" / "01.json").read_text())["chunks"][2]["seed"] == retaken["seed"]
    assert (tmp_path / "batch" / "01.wav").read_bytes() == (out / "01.wav").read_bytes()


def test_a_library_retake_checks_its_seed(tmp_path):
    from cbx_cli import api
    from cbx_cli.errors import ParamError

    job = api.prepare("One sentence. Another one.")
    with pytest.raises(ParamError, match="--seed 1208925819614629174706176 is out of range"):
        api.retake(job, [1], seed=2**80)
    assert api.retake(job, [1], seed=7).chunks[0].seed == 7
