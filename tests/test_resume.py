"""A run killed with SIGKILL half-way and run again renders only what is missing, and writes the same bytes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from clirun import kill_once_cached, run

pytestmark = pytest.mark.engine

BOOK = """\
# One

First sentence of the first chapter.

# Two

The second chapter starts. It ends soon.
"""


def entries(cache: Path) -> int:
    return len(list(cache.glob("*/*.take")))


def test_sigkill_then_resume_gives_identical_bytes(original_ckpt, tmp_path, isolated_env):
    script = tmp_path / "book.md"
    script.write_text(BOOK)
    common = ["--model-dir", str(original_ckpt), "--device", "cpu", "--max-tokens", "8", "--retries", "0",
              "--batch-size", "1", "--preset", "audiobook", "--no-verify"]

    # an uninterrupted run, with a cache of its own
    clean = tmp_path / "clean.flac"
    r = run(["book", str(script), "-o", str(clean), "--cache-dir", str(tmp_path / "cache-a"), "--quiet", *common])
    assert r.exit_code == 0, r.output

    # the same command in a child process, killed once a couple of takes are in its cache
    cache = tmp_path / "cache-b"
    out = tmp_path / "resumed.flac"
    saved = kill_once_cached(["book", script, "-o", out, "--cache-dir", cache, *common], cache)
    assert 2 <= saved < 4
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]

    r = run(["book", str(script), "-o", str(out), "--cache-dir", str(cache), *common])
    assert r.exit_code == 0, r.output
    summary = re.search(r"(\d+) rendered, (\d+) from cache", r.stderr)
    assert summary and int(summary.group(2)) == saved and int(summary.group(1)) == 4 - saved
    assert out.read_bytes() == clean.read_bytes()
