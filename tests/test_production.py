"""Narration production end to end on the tiny checkpoint: m4b chapters, subtitles, split chapters, ACX check,
and the commands that inspect before and after (plan, doctor)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
import soundfile as sf

from clirun import run

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffmpeg is not installed")

BOOK = """\
# The Harbour

Mara Quill arrived at 6:40 in the evening. [laugh] She carried one suitcase.

# The Light

The lamp burned until dawn.
"""


def srt_times(text: str) -> list[tuple[float, float]]:
    def sec(stamp: str) -> float:
        h, m, rest = stamp.split(":")
        s, ms = rest.split(",")
        return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000

    return [(sec(a), sec(b)) for a, b in re.findall(r"(\d+:\d+:\d+,\d+) --> (\d+:\d+:\d+,\d+)", text)]


def test_plan_shows_chunks_estimates_and_warnings(tmp_path):
    script = tmp_path / "book.md"
    script.write_text(BOOK)
    r = run(["plan", str(script), "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert [c["title"] for c in data["chapters"]] == ["The Harbour", "The Light"]
    texts = [chunk["text"] for chapter in data["chapters"] for chunk in chapter["chunks"]]
    assert texts[1] == "Mara Quill arrived at 6:40 in the evening. She carried one suitcase."
    assert data["estimated_seconds"] > 0
    assert any("only --model turbo speaks tags" in w for w in data["warnings"])
    assert any("Mara" in w and "Quill" not in w for w in data["warnings"])  # a quill is an ordinary word
    table = run(["plan", str(script)])
    assert table.exit_code == 0 and "2 chapter(s), 4 chunk(s)" in table.stdout


def test_doctor_reports_the_setup():
    r = run(["doctor"])
    assert r.exit_code == 1, r.output  # the weights are not in the (empty) cache: nothing could run
    assert re.search(r"torch\s+\d", r.stdout)
    assert "--  model original" in r.stdout and "not in the Hugging Face cache" in r.stdout
    assert "fix: cbx models pull original (or --model-dir DIR with a checkpoint)" in r.stdout
    assert "ffmpeg" in r.stdout




def test_check_fails_a_file_that_breaks_a_requirement(tmp_path):
    import numpy as np

    loud = tmp_path / "loud.wav"
    t = np.arange(24000 * 3) / 24000
    sf.write(loud, (0.99 * np.sin(2 * np.pi * 200 * t)).astype(np.float32), 24000)
    r = run(["check", str(loud), "--acx"])
    assert r.exit_code == 1
    assert "FAIL" in r.stdout


@needs_ffmpeg
def test_m4b_with_chapters_subtitles_split_and_acx(fake_engine, scripted_asr, tmp_path):
    script = tmp_path / "book.md"
    script.write_text(BOOK)
    common = ["--preset", "audiobook", "--device", "cpu", "--max-tokens", "80",
              "--retries", "0", "--quiet"]
    out, manifest, srt, vtt = (tmp_path / n for n in ("book.m4b", "book.json", "book.srt", "book.vtt"))
    r = run(["book", str(script), "-o", str(out), "--manifest", str(manifest), "--srt", str(srt), "--vtt", str(vtt),
             "--title", "Harbour Tales", "--author", "A. Writer", *common])
    assert r.exit_code == 0, r.output

    probe = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-show_chapters", "-show_format", "-of", "json", str(out)],
        capture_output=True, text=True, check=True).stdout)
    assert [c["tags"]["title"] for c in probe["chapters"]] == ["The Harbour", "The Light"]
    data = json.loads(manifest.read_text())
    second_chapter = next(c for c in data["chunks"] if c["chapter"] == 1)
    assert abs(float(probe["chapters"][1]["start_time"]) - second_chapter["start"]) < 0.05
    assert probe["format"]["tags"]["title"] == "Harbour Tales"
    assert data["versions"]["cbx"] and data["versions"]["torch"]

    # subtitles: sentence cues inside their chunk's span, in order, the same in SRT and VTT
    cues = srt_times(srt.read_text())
    assert len(cues) == 5  # title, two sentences, title, one sentence
    spans = [(c["start"], c["end"]) for c in data["chunks"]]
    assert cues[0][0] == pytest.approx(spans[0][0], abs=0.002) and cues[-1][1] == pytest.approx(spans[-1][1], abs=0.002)
    assert all(a < b for a, b in cues) and all(cues[i][1] <= cues[i + 1][0] + 1e-9 for i in range(len(cues) - 1))
    assert vtt.read_text().startswith("WEBVTT") and vtt.read_text().count(" --> ") == 5

    # the audiobook preset's output passes ACX's checks
    check = run(["check", str(out), "--acx"])
    assert check.exit_code == 0, check.stdout

    # one file per chapter, from the take cache this time
    folder = tmp_path / "chapters"
    r = run(["book", str(script), "-o", str(folder), "--split-chapters", "--format", "flac", *common])
    assert r.exit_code == 0, r.output
    files = sorted(p.name for p in folder.iterdir())
    assert files == ["01-the-harbour.flac", "02-the-light.flac"]
    assert all(sf.info(str(folder / f)).duration > 0 for f in files)
