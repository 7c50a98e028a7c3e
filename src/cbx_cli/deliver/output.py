"""Where a narration goes: the audio file (or stdout, or one file per chapter), the manifest and subtitles.

`Delivery.check` runs before any model loads, so a bad path or format fails in a second, not after a render;
`Delivery.write` is the only code that writes a run's outputs, each atomically.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cbx_cli.deliver.export import check_output_path, export, format_for, write_bytes_atomic
from cbx_cli.deliver.ffmpeg import check_options, export_ffmpeg, uses_ffmpeg
from cbx_cli.errors import OutputError

if TYPE_CHECKING:
    from cbx_cli.api import Narration


@dataclass(frozen=True)
class Delivery:
    """The files a run writes. ``output`` is a file path, ``-`` for stdout, or a folder with ``split_chapters``."""

    output: str
    fmt: str | None = None
    """The audio format (wav flac mp3 ogg m4b m4a opus); None: from the output's extension (WAV for stdout and for
    --split-chapters)."""
    manifest: Path | None = None
    srt: Path | None = None
    vtt: Path | None = None
    split_chapters: bool = False
    """Write one numbered file per chapter into the folder ``output``."""
    bitrate: str | None = None
    title: str | None = None
    author: str | None = None
    cover: Path | None = None

    @property
    def format(self) -> str:
        """The audio format this delivery writes (checked)."""
        if self.split_chapters:
            return format_for(f"x.{(self.fmt or 'wav').lower().lstrip('.')}", None)
        return format_for(self.output, self.fmt)

    def check(self) -> None:
        """Everything about the outputs that can fail, checked before any synthesis."""
        fmt = self.format
        if self.split_chapters:
            check_split_folder(self.output)
        else:
            check_output_path(self.output)
        for flag, side in (("--manifest", self.manifest), ("--srt", self.srt), ("--vtt", self.vtt)):
            if side is not None:
                check_output_path(str(side))
                if str(side) == self.output:
                    raise OutputError(f"{flag} must not be the audio output path. Choose another file name.")
        if uses_ffmpeg(fmt, self.bitrate):
            check_options(fmt, self.bitrate, self.cover)
        elif self.cover is not None:
            raise OutputError(f"A cover image cannot be attached to .{fmt}; use .m4b, .m4a or .mp3.")
        elif self.bitrate is not None:
            raise OutputError(f"--bitrate applies to .mp3, .opus, .m4a and .m4b, not .{fmt}.")

    def write(self, narration: Narration, stdout=None) -> None:
        """Write the audio (to ``stdout`` for ``-``), then the manifest and subtitles, each atomically."""
        if self.split_chapters:
            write_chapter_files(narration, Path(self.output), self.format, self)
        else:
            narration.export(self.output, self.format, bitrate=self.bitrate, title=self.title, author=self.author,
                             cover=self.cover, stdout=stdout)
        if self.manifest is not None:
            narration.write_manifest(self.manifest)
        if self.srt is not None:
            narration.write_subtitles(self.srt, "srt")
        if self.vtt is not None:
            narration.write_subtitles(self.vtt, "vtt")


def check_split_folder(folder: str) -> None:
    """--split-chapters writes into a folder: it may exist, or be new inside an existing folder."""
    path = Path(folder)
    if folder == "-":
        raise OutputError("--split-chapters writes files into a folder; give -o FOLDER, not -o -.")
    if path.exists() and not path.is_dir():
        raise OutputError(f"--split-chapters needs -o to name a folder, and '{folder}' is a file.")
    if not path.exists() and not path.parent.is_dir():
        raise OutputError(f"Output folder '{path.parent}' does not exist. Create it first (mkdir -p {path.parent}).")


def write_chapter_files(narration: Narration, folder: Path, fmt: str, tags: Delivery) -> list[Path]:
    """One numbered file per chapter, cut from the normalized program, each written atomically."""
    folder.mkdir(exist_ok=True)
    written = []
    sr = narration.sample_rate
    width = max(2, len(str(len(narration.chapters))))
    for n, (start, end, title) in enumerate(narration.chapters, 1):
        piece = narration.audio[int(round(start * sr)) : int(round(end * sr))]
        path = folder / f"{n:0{width}d}-{slug(title)}.{fmt}"
        if uses_ffmpeg(fmt, tags.bitrate):
            export_ffmpeg(piece, sr, str(path), fmt, None, title, tags.author, tags.cover, tags.bitrate)
        else:
            export(piece, sr, str(path), fmt)
        written.append(path)
    return written


def slug(title: str) -> str:
    """A file-name-safe form of a chapter title."""
    text = re.sub(r"[^\w\s-]", "", unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode())
    return re.sub(r"[\s_-]+", "-", text).strip("-").lower()[:60] or "chapter"


def write_text(path: Path, text: str) -> None:
    """A UTF-8 text output (manifest, subtitles), written atomically."""
    write_bytes_atomic(path, text.encode("utf-8"))
