"""`cbx say` and `cbx book` as a user meets them: manifests, chapters, warnings and exit codes, on the fake engine
(tests/fakes.py). What the real engine does is tested in test_cli_engine.py on a tiny checkpoint."""

from __future__ import annotations

import json

import soundfile as sf

from cbx_cli.assemble.loudness import integrated_loudness, peak_dbfs
from clirun import run

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


def test_book_two_chapters_with_manifest(fake_engine, tmp_path):
    script = tmp_path / "chapter.md"
    script.write_text(BOOK)
    out, manifest = tmp_path / "chapter.flac", tmp_path / "chapter.json"
    r = run([
        "book", str(script), "--preset", "audiobook", "-o", str(out), "--manifest", str(manifest),
        *FAST,
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


def test_original_drops_tags_with_one_warning(fake_engine, tmp_path):
    out, manifest = tmp_path / "orig.wav", tmp_path / "orig.json"
    r = run(["say", "Well [laugh] that went well.", "-o", str(out), "--manifest", str(manifest),
             "--device", "cpu", "--max-tokens", "12", "--retries", "0"])
    assert r.exit_code == 0, r.output
    assert r.stderr.count("Dropped 1 tag(s) ([laugh])") == 1
    assert [c["text"] for c in json.loads(manifest.read_text())["chunks"]] == ["Well that went well."]


def test_strict_fails_on_a_bad_take(fake_engine, tmp_path):
    fake_engine.knobs["to_budget"] = True  # every take runs to its token budget: a bad take, every retry too
    out = tmp_path / "strict.wav"
    r = run(["say", "This take will run to its budget.", "-o", str(out),
             "--device", "cpu", "--max-tokens", "8", "--retries", "1", "--strict"])
    assert r.exit_code == 3
    assert r.stderr.startswith("cbx: error: 1 chunk(s) still bad after 1 retries (--strict): chunk 1")
    assert not out.exists()


def test_book_accounts_for_every_word(fake_engine, tmp_path):
    script = tmp_path / "table.md"
    script.write_text("---\ntitle: Stock\n---\n# Shelves\n\n| Item | Count |\n|---|---|\n| Bread | 4 |\n\n"
                      "```\nforgot to close\n\nThe end.\n")
    out, manifest = tmp_path / "t.wav", tmp_path / "t.json"
    r = run(["book", str(script), "-o", str(out), "--manifest", str(manifest),
             "--device", "cpu", "--max-tokens", "8", "--retries", "0"])
    assert r.exit_code == 0, r.output
    assert [c["text"] for c in json.loads(manifest.read_text())["chunks"]] == ["Shelves", "Item, Count", "Bread, 4"]
    assert ("warning: table.md:10: this code fence is never closed, so the 3 line(s) after it are read as code and "
            "not spoken. Close it with ```.") in r.stderr.splitlines()


def test_summary_line_counts_in_words(fake_engine, tmp_path):
    out = tmp_path / "one.wav"
    r = run(["say", "Just the one sentence.", "-o", str(out), "--device", "cpu"])
    assert r.exit_code == 0, r.output
    assert r.stderr.startswith(f"Wrote {out}: 1 chunk (1 rendered, 0 from cache, 0 retried, 0 flagged), ")
    script = tmp_path / "two.txt"
    script.write_text("The first paragraph.\n\nThe second paragraph.\n")
    r = run(["book", str(script), "-o", str(out), "--device", "cpu"])
    assert r.exit_code == 0, r.output
    assert f"Wrote {out}: 2 chunks (" in r.stderr
