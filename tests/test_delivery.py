import io
import json
import shutil
import struct
import subprocess
import zlib

import numpy as np
import pytest
import soundfile as sf

from cbx_cli.assemble.assemble import assemble
from cbx_cli.assemble.program import chapters_from_spans
from cbx_cli.deliver.ffmpeg import (
    MISSING_FFMPEG,
    check_bitrate,
    check_cover,
    export_ffmpeg,
    ffmetadata,
    uses_ffmpeg,
)
from cbx_cli.errors import OutputError, ParamError

SR = 24000
needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")


def tone(seconds: float, freq: float, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def png(width: int = 8, height: int = 8) -> bytes:
    """A minimal RGB PNG, written by hand."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[..., 0] = 200
    pixels[: height // 2, :, 2] = 255
    raw = b"".join(b"\0" + pixels[y].tobytes() for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def ffprobe(path, *entries: str) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", *entries, "-of", "json", str(path)], capture_output=True, check=True
    ).stdout
    return json.loads(out)


def program():
    """Three chapters, one take each, with pauses between them."""
    takes = [tone(1.0, 220), tone(1.5, 330), tone(0.8, 440)]
    return assemble(takes, [1.0, 1.2, 0.0], SR)


@pytest.fixture
def cover(tmp_path):
    path = tmp_path / "cover.png"
    path.write_bytes(png())
    return path


@needs_ffmpeg
def test_m4b_has_chapters_tags_and_cover(tmp_path, cover):
    prog = program()
    marks = chapters_from_spans(prog.spans, [0, 1, 2], ["Opening", "The Middle", None], prog.duration)
    path = tmp_path / "book.m4b"
    export_ffmpeg(prog.audio, SR, str(path), "m4b", chapters=marks, title="A Book", author="Ann Author", cover=cover)

    info = ffprobe(path, "-show_chapters", "-show_format", "-show_streams")
    chapters = info["chapters"]
    assert len(chapters) == 3
    assert [c["tags"]["title"] for c in chapters] == ["Opening", "The Middle", "Chapter 3"]
    expected = [0.0, prog.spans[1][0], prog.spans[2][0]]
    for chapter, start in zip(chapters, expected, strict=True):
        assert float(chapter["start_time"]) == pytest.approx(start, abs=0.05)
    assert float(chapters[-1]["end_time"]) == pytest.approx(prog.duration, abs=0.05)

    tags = info["format"]["tags"]
    assert tags["title"] == "A Book" and tags["artist"] == "Ann Author" and tags["album"] == "A Book"
    assert tags["major_brand"].strip() == "M4B"

    audio = [s for s in info["streams"] if s["codec_type"] == "audio"]
    pictures = [s for s in info["streams"] if s.get("disposition", {}).get("attached_pic") == 1]
    assert [s["codec_name"] for s in audio] == ["aac"]
    assert [s["codec_name"] for s in pictures] == ["png"]
    assert float(info["format"]["duration"]) == pytest.approx(prog.duration, abs=0.1)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


@needs_ffmpeg
def test_m4a_and_bitrate(tmp_path):
    audio = tone(4.0, 220)
    for rate in ("48k", "128k"):
        path = tmp_path / f"a{rate}.m4a"
        export_ffmpeg(audio, SR, str(path), "m4a", bitrate=rate)
        assert ffprobe(path, "-show_streams")["streams"][0]["codec_name"] == "aac"
    small, big = (tmp_path / "a48k.m4a").stat().st_size, (tmp_path / "a128k.m4a").stat().st_size
    assert big > small


@needs_ffmpeg
def test_opus_decodes(tmp_path):
    path = tmp_path / "a.opus"
    export_ffmpeg(tone(2.0, 220), SR, str(path), "opus", title="T", chapters=[(0.0, 1.0, "A"), (1.0, 2.0, "B")])
    stream = ffprobe(path, "-show_streams")["streams"][0]
    assert stream["codec_name"] == "opus" and stream["sample_rate"] == "48000"
    wav = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-f", "wav", "-"], capture_output=True, check=True
    ).stdout
    data, sr = sf.read(io.BytesIO(wav))
    assert sr == 48000
    assert len(data) / sr == pytest.approx(2.0, abs=0.05)
    assert np.sqrt(np.mean(data**2)) == pytest.approx(0.3 / np.sqrt(2), rel=0.1)


@needs_ffmpeg
def test_mp3_bitrate_goes_through_ffmpeg(tmp_path, cover):
    assert uses_ffmpeg("mp3", "64k") and not uses_ffmpeg("mp3") and uses_ffmpeg("opus") and not uses_ffmpeg("wav")
    path = tmp_path / "a.mp3"
    export_ffmpeg(tone(4.0, 220), SR, str(path), "mp3", bitrate="64k", title="T", author="A", cover=cover)
    info = ffprobe(path, "-show_format", "-show_streams")
    assert info["streams"][0]["codec_name"] == "mp3"
    assert int(info["streams"][0]["bit_rate"]) == 64000
    assert info["format"]["tags"]["artist"] == "A"


@needs_ffmpeg
def test_m4b_to_stdout(tmp_path):
    out = io.BytesIO()
    export_ffmpeg(tone(1.0, 220), SR, "-", "m4b", stdout=out)
    assert out.getvalue()[4:8] == b"ftyp"


@needs_ffmpeg
def test_ffmpeg_failure_is_one_line_and_leaves_nothing(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(png()[:33] + b"garbage" * 4)  # a valid header, then no image data
    target = tmp_path / "out" / "book.m4b"
    target.parent.mkdir()
    with pytest.raises(OutputError) as err:
        export_ffmpeg(tone(1.0, 220), SR, str(target), "m4b", cover=bad)
    message = str(err.value)
    assert message.startswith("ffmpeg failed to write .m4b: ") and "\n" not in message
    assert len(message) > len("ffmpeg failed to write .m4b: ")
    assert list(target.parent.iterdir()) == []


def test_missing_ffmpeg_is_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    target = tmp_path / "book.m4b"
    with pytest.raises(OutputError) as err:
        export_ffmpeg(tone(0.5, 220), SR, str(target), "m4b")
    assert str(err.value) == (
        "ffmpeg is not installed; it is needed for .m4b/.m4a/.opus. Install it (apt install ffmpeg, "
        "brew install ffmpeg) or choose .wav/.flac/.mp3/.ogg."
    )
    assert str(err.value) == MISSING_FFMPEG
    assert list(tmp_path.iterdir()) == []


def test_missing_ffmpeg_via_which(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda *a, **k: None)
    with pytest.raises(OutputError, match=r"^ffmpeg is not installed; it is needed for \.m4b/\.m4a/\.opus\."):
        export_ffmpeg(tone(0.5, 220), SR, str(tmp_path / "a.opus"), "opus")
    with pytest.raises(OutputError, match="needed for --bitrate with .mp3"):
        export_ffmpeg(tone(0.5, 220), SR, str(tmp_path / "a.mp3"), "mp3", bitrate="64k")


@pytest.mark.parametrize(("given", "expected"), [("64k", "64k"), ("96k", "96k"), ("128000", "128000"), ("96K", "96k")])
def test_bitrate_accepted(given, expected):
    assert check_bitrate(given) == expected


@pytest.mark.parametrize("given", ["7x", "", "k", "64 kbps", "-64k", "64m", "1.5"])
def test_bitrate_rejected(given):
    with pytest.raises(ParamError) as err:
        check_bitrate(given)
    assert str(err.value) == f"--bitrate '{given}' is not a bitrate; use a value such as 64k or 128k."


@pytest.mark.parametrize("given", ["1k", "5000", "2000k"])
def test_bitrate_out_of_range(given):
    with pytest.raises(ParamError, match="out of range"):
        check_bitrate(given)


def test_cover_checks(tmp_path, cover):
    assert check_cover(cover) == cover
    with pytest.raises(OutputError, match="does not exist") as err:
        check_cover(tmp_path / "missing.jpg")
    assert "\n" not in str(err.value)
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(OutputError, match="is not a PNG or JPEG image"):
        check_cover(text)
    with pytest.raises(OutputError, match="is not a file"):
        check_cover(tmp_path)


def test_cover_on_opus_is_refused(tmp_path, cover, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda *a, **k: "/usr/bin/ffmpeg")
    with pytest.raises(OutputError, match="cannot be attached to .opus"):
        export_ffmpeg(tone(0.5, 220), SR, str(tmp_path / "a.opus"), "opus", cover=cover)


def test_ffmetadata_document():
    doc = ffmetadata([(2.0, 9.0, "Two; #2 = b"), (0.0, 2.5, "One")], title="T=1", author="A\\B", duration=5.0)
    assert doc == (
        ";FFMETADATA1\n"
        "title=T\\=1\nalbum=T\\=1\nartist=A\\\\B\nalbum_artist=A\\\\B\n"
        "[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=2000\ntitle=One\n"
        "[CHAPTER]\nTIMEBASE=1/1000\nSTART=2000\nEND=5000\ntitle=Two\\; \\#2 \\= b\n"
    )


def test_chapters_from_spans():
    spans = [(0.2, 1.0), (1.5, 2.0), (3.0, 4.0), (4.5, 5.0)]
    marks = chapters_from_spans(spans, [0, 0, 1, 1], ["Intro", ""], 5.5)
    assert marks == [(0.0, 3.0, "Intro"), (3.0, 5.5, "Chapter 2")]
