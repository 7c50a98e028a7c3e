"""Delivery formats written by ffmpeg: .m4b/.m4a (AAC) with chapters and cover, .opus, and .mp3 at a chosen bitrate.

The program goes to ffmpeg as 16-bit WAV on its stdin; chapters and tags go in an FFMETADATA1 file; the cover is a
second input attached as cover art. ffmpeg always writes into a temporary file beside the target, which is moved into
place only when complete (`cbx_cli.files.write_atomic`).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from cbx_cli.deliver.export import encode, write_stream
from cbx_cli.errors import OutputError, ParamError
from cbx_cli.files import write_atomic

FFMPEG_FORMATS = {"aac", "m4b", "m4a", "opus"}
"""Formats only ffmpeg writes."""

MISSING_FFMPEG = (
    "ffmpeg is not installed; it is needed for .m4b/.m4a/.opus. Install it (apt install ffmpeg, brew install ffmpeg) "
    "or choose .wav/.flac/.mp3/.ogg."
)
MISSING_FFMPEG_MP3 = (
    "ffmpeg is not installed; it is needed for --bitrate with .mp3. Install it (apt install ffmpeg, "
    "brew install ffmpeg) or leave out --bitrate."
)

MUXERS = {"aac": "adts", "m4b": "ipod", "m4a": "ipod", "opus": "ogg", "mp3": "mp3"}
"""ffmpeg muxer per format, passed with -f because the temporary file's name ends in .part."""
CODECS = {"aac": "aac", "m4b": "aac", "m4a": "aac", "opus": "libopus", "mp3": "libmp3lame"}
DEFAULT_BITRATES = {"aac": "96k", "m4b": "64k", "m4a": "96k", "opus": "48k", "mp3": "128k"}
"""Per channel of speech: 64k AAC is audiobook quality; Opus is transparent on speech well below that."""
COVER_FORMATS = {"m4b", "m4a", "mp3"}
"""Containers that carry cover art. (ffmpeg's Ogg muxer cannot attach a picture to .opus.)"""

_BITRATE_RE = re.compile(r"^(?:(\d+(?:\.\d+)?)[kK]|(\d+))$")
MIN_BITRATE = 6_000
MAX_BITRATE = 512_000


def uses_ffmpeg(fmt: str, bitrate: str | None = None) -> bool:
    """Whether this output goes through ffmpeg: its own formats, and .mp3 when a bitrate is asked for
    (libsndfile cannot set an MP3 bitrate)."""
    return fmt in FFMPEG_FORMATS or (fmt == "mp3" and bitrate is not None)


def require_ffmpeg(fmt: str = "m4b") -> str:
    """The ffmpeg executable, or OutputError with one line saying how to get it. Call before synthesis."""
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise OutputError(MISSING_FFMPEG_MP3 if fmt == "mp3" else MISSING_FFMPEG)
    return exe


def check_bitrate(value: str) -> str:
    """Validate a bitrate such as ``64k``, ``96K`` or ``128000`` (bits per second); return it as ffmpeg takes it."""
    text = str(value).strip()
    match = _BITRATE_RE.match(text)
    if not match:
        raise ParamError(f"--bitrate '{value}' is not a bitrate; use a value such as 64k or 128k.")
    kilo, plain = match.groups()
    bps = float(kilo) * 1000 if kilo is not None else int(plain)
    if not MIN_BITRATE <= bps <= MAX_BITRATE:
        raise ParamError(f"--bitrate '{value}' is out of range; use 6k to 512k, such as 64k or 128k.")
    return f"{kilo}k" if kilo is not None else str(int(plain))


MAX_COVER_BYTES = 20_000_000
"""The largest cover image attached (a 3000-pixel JPEG is a few megabytes)."""


def check_cover(cover: str | Path) -> Path:
    """The cover image's path, or OutputError: it must exist and be a PNG or JPEG file."""
    path = Path(cover)
    if not path.exists():
        raise OutputError(f"Cover image '{cover}' does not exist. Give the path of a .jpg or .png file.")
    if not path.is_file():
        raise OutputError(f"Cover image '{cover}' is not a file. Give the path of a .jpg or .png file.")
    if path.stat().st_size > MAX_COVER_BYTES:
        raise OutputError(f"Cover image '{cover}' is larger than {MAX_COVER_BYTES // 1_000_000} MB. Give a smaller "
                          ".jpg or .png file (1400 to 3000 pixels square is what stores ask for).")
    try:
        with open(path, "rb") as fh:
            head = fh.read(24)
    except OSError as exc:
        raise OutputError(f"Cannot read cover image '{cover}': {exc.strerror or exc}.") from None
    png = head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR" and int.from_bytes(head[16:20], "big") > 0
    jpeg = head.startswith(b"\xff\xd8\xff")
    if not (png or jpeg):
        raise OutputError(f"Cover image '{cover}' is not a PNG or JPEG image. Give a .jpg or .png file.")
    return path


IMAGE_SIGNATURES = ((b"\xff\xd8\xff", "jpeg"), (b"\x89PNG\r\n\x1a\n", "png"), (b"GIF87a", "gif"), (b"GIF89a", "gif"),
                    (b"BM", "bmp"))


def image_kind(data: bytes) -> str | None:
    """jpeg, png, gif, bmp or webp by the image's signature; None for anything else (SVG: ffmpeg cannot draw it)."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return next((kind for signature, kind in IMAGE_SIGNATURES if data.startswith(signature)), None)


LANGUAGES = dict(pair.split(":") for pair in (
    "ar:ara bg:bul ca:cat cs:ces cy:cym da:dan de:deu el:ell en:eng eo:epo es:spa et:est eu:eus fa:fas fi:fin "
    "fr:fra ga:gle gl:glg he:heb hi:hin hr:hrv hu:hun hy:hye id:ind is:isl it:ita ja:jpn ka:kat ko:kor la:lat "
    "lt:lit lv:lav mk:mkd ms:msa mt:mlt nb:nob nl:nld nn:nno no:nor pl:pol pt:por ro:ron ru:rus sk:slk sl:slv "
    "sq:sqi sr:srp sv:swe sw:swa ta:tam th:tha tr:tur uk:ukr ur:urd vi:vie zh:zho").split())
"""ISO 639-1 → ISO 639-2 codes: MP4 and MP3 tag a track's language with three letters."""


def language_code(language: str | None) -> str | None:
    """A language tag as a book gives it ("en-GB", "fr", "deu") → the three-letter code tags take, or None."""
    primary = re.split(r"[-_]", (language or "").strip())[0].lower()
    if len(primary) == 3 and primary.isalpha():
        return primary
    return LANGUAGES.get(primary)


def check_options(
    fmt: str, bitrate: str | None = None, cover: str | Path | bytes | None = None
) -> tuple[str, str, Path | bytes | None]:
    """Everything an ffmpeg output needs, checked before synthesis: (ffmpeg executable, bitrate, cover path).

    Raises OutputError when ffmpeg is missing, the format is not an ffmpeg one, or the cover is missing, not an
    image or not attachable to ``fmt``; ParamError for a bad bitrate.
    """
    if fmt not in MUXERS:
        raise OutputError(f"Format '{fmt}' is not written by ffmpeg; use one of .m4b, .m4a, .opus, .mp3.")
    exe = require_ffmpeg(fmt)
    rate = check_bitrate(bitrate) if bitrate is not None else DEFAULT_BITRATES[fmt]
    picture = None
    if cover is not None:
        if fmt not in COVER_FORMATS:
            raise OutputError(
                f"A cover image cannot be attached to .{fmt}; use .m4b, .m4a or .mp3, or leave out --cover."
            )
        picture = cover if isinstance(cover, bytes) else check_cover(cover)  # a book's own: checked on reading
    return exe, rate, picture


def _escape(value: str) -> str:
    """FFMETADATA escaping: '=', ';', '#', '\\' and newlines take a backslash."""
    out = []
    for ch in str(value):
        if ch in "=;#\\\n":
            out.append("\\")
        out.append(ch)
    return "".join(out)


def ffmetadata(
    chapters: list[tuple[float, float, str]] | None = None,
    title: str | None = None,
    author: str | None = None,
    duration: float | None = None,
) -> str:
    """An FFMETADATA1 document: title, artist and album tags and one [CHAPTER] per (start, end, title) in seconds.

    Chapters are put in start order; each ends no later than the next begins and no later than ``duration``.
    """
    lines = [";FFMETADATA1"]
    if title:
        lines += [f"title={_escape(title)}", f"album={_escape(title)}"]
    if author:
        lines += [f"artist={_escape(author)}", f"album_artist={_escape(author)}"]
    marks = sorted(chapters or [], key=lambda c: c[0])
    end_limit = int(round(duration * 1000)) if duration is not None else None
    for i, (start, end, name) in enumerate(marks):
        a = max(0, int(round(start * 1000)))
        b = int(round(end * 1000))
        if i + 1 < len(marks):
            b = min(b, int(round(marks[i + 1][0] * 1000)))
        if end_limit is not None:
            b = min(b, end_limit)
        b = max(b, a + 1)
        lines += ["[CHAPTER]", "TIMEBASE=1/1000", f"START={a}", f"END={b}", f"title={_escape(name)}"]
    return "\n".join(lines) + "\n"


_GENERIC_RE = re.compile(r"^(Error initializing output stream|Conversion failed)")
_CONTEXT_RE = re.compile(r"^\[[^\]]* @ 0x[0-9a-f]+\]\s*")


def _last_line(stderr: bytes) -> str:
    """ffmpeg's last informative stderr line (its closing "Error initializing output stream ... --" says nothing)."""
    lines = [_CONTEXT_RE.sub("", ln.strip()) for ln in stderr.decode("utf-8", "replace").splitlines()]
    lines = [ln for ln in lines if ln]
    useful = [ln for ln in lines if not _GENERIC_RE.match(ln)]
    return (useful or lines or ["no message"])[-1]


def encode_ffmpeg(
    audio: np.ndarray,
    sr: int,
    fmt: str,
    out_path: Path,
    chapters: list[tuple[float, float, str]] | None = None,
    title: str | None = None,
    author: str | None = None,
    cover: str | Path | bytes | None = None,
    bitrate: str | None = None,
    language: str | None = None,
) -> None:
    """Encode ``audio`` (float, mono ``(n,)`` or ``(n, channels)``) with ffmpeg into ``out_path``, overwriting it.

    ``fmt`` is m4b, m4a, opus or mp3. Chapters are (start, end, title) in seconds. The muxer is named explicitly, so
    ``out_path`` may have any name. Opus is resampled to 48 kHz. Raises OutputError on any failure.
    """
    exe, rate, picture = check_options(fmt, bitrate, cover)

    samples = np.asarray(audio, dtype=np.float32)
    duration = (samples.shape[0] / sr) if sr else 0.0
    wav = encode(samples, sr, "wav")

    with tempfile.TemporaryDirectory(prefix="cbx-ffmpeg-") as work:
        meta = Path(work) / "metadata.txt"
        meta.write_text(ffmetadata(chapters, title, author, duration), encoding="utf-8")
        cmd = [exe, "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
               "-f", "wav", "-i", "pipe:0",
               "-f", "ffmetadata", "-i", str(meta)]
        codec = "copy"
        if isinstance(picture, bytes):  # a book's own cover, held in memory
            kind = image_kind(picture)
            codec = "copy" if kind in ("jpeg", "png") else "png"  # other images are made PNG: MP4 takes JPEG or PNG
            picture_path = Path(work) / f"cover.{kind or 'img'}"
            picture_path.write_bytes(picture)
            picture = picture_path
        if picture is not None:
            cmd += ["-i", str(picture)]
        cmd += ["-map", "0:a", "-map_metadata", "1", "-map_chapters", "1"]
        if picture is not None:
            cmd += ["-map", "2:v", "-c:v", codec, "-disposition:v:0", "attached_pic"]
        code = language_code(language)
        if code:
            cmd += ["-metadata:s:a:0", f"language={code}"]
        cmd += ["-c:a", CODECS[fmt], "-b:a", rate]
        if fmt == "opus":
            cmd += ["-ar", "48000"]
        elif fmt == "mp3":
            cmd += ["-id3v2_version", "3", "-write_id3v1", "1"]
        elif fmt != "aac":  # raw ADTS frames carry no tags or brand
            # The temporary name hides the extension, so say M4B (audiobook) explicitly; players look at the brand.
            cmd += ["-movflags", "+faststart", "-brand", "M4B " if fmt == "m4b" else "M4A "]
        cmd += ["-f", MUXERS[fmt], str(out_path)]
        try:
            proc = subprocess.run(cmd, input=wav, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
        except OSError as exc:
            raise OutputError(f"Cannot run ffmpeg ({exe}): {exc.strerror or exc}.") from None
    if proc.returncode != 0:
        raise OutputError(f"ffmpeg failed to write .{fmt}: {_last_line(proc.stderr)}")


def export_ffmpeg(
    audio: np.ndarray,
    sr: int,
    path: str,
    fmt: str,
    chapters: list[tuple[float, float, str]] | None = None,
    title: str | None = None,
    author: str | None = None,
    cover: str | Path | bytes | None = None,
    bitrate: str | None = None,
    stdout=None,
    language: str | None = None,
) -> None:
    """Like :func:`cbx_cli.audio.export.export` for ffmpeg outputs: atomically to ``path``, or to ``stdout`` for
    ``-`` (the file is made in a temporary folder first, since MP4 needs a seekable output). ``cover`` is an image
    file's path or an image's bytes (a book's own cover); ``language`` tags the audio track."""
    check_options(fmt, bitrate, cover)  # before any temporary file exists
    options = dict(chapters=chapters, title=title, author=author, cover=cover, bitrate=bitrate, language=language)
    if path == "-":
        with tempfile.TemporaryDirectory(prefix="cbx-out-") as work:
            tmp = Path(work) / f"out.{fmt}"
            encode_ffmpeg(audio, sr, fmt, tmp, **options)
            write_stream(tmp.read_bytes(), stdout)
        return
    write_atomic(path, lambda tmp: encode_ffmpeg(audio, sr, fmt, tmp, **options))
