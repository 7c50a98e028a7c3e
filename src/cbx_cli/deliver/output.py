"""Where a narration goes: the audio file (or stdout, or one file per chapter), the manifest and subtitles.

`Delivery.check` runs before any model loads, so a bad path or format fails in a second, not after a render;
`Delivery.write` is the only code that writes a run's outputs, each atomically. The format is worked out once, when
the delivery is made.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from cbx_cli.deliver.export import export, format_for
from cbx_cli.deliver.ffmpeg import COVER_FORMATS, check_options, export_ffmpeg, image_kind, uses_ffmpeg
from cbx_cli.deliver.manifest import write_manifest
from cbx_cli.deliver.safety import Named, check_clashes, stream_alias
from cbx_cli.deliver.subtitles import write_subtitles
from cbx_cli.errors import OutputError
from cbx_cli.files import check_output_path, check_regular, probe_folder
from cbx_cli.narration import Narration


@dataclass(frozen=True)
class Delivery:
    """The files a run writes. ``output`` is a file path, ``-`` for stdout, or a folder with ``split_chapters``."""

    output: str
    fmt: str | None = None
    """The audio format (wav flac mp3 ogg m4b m4a opus); None: from the output's extension (WAV for stdout and for
    --split-chapters). Checked and worked out when the delivery is made: afterwards it is the format written."""
    manifest: Path | None = None
    srt: Path | None = None
    vtt: Path | None = None
    split_chapters: bool = False
    """Write one numbered file per chapter into the folder ``output``."""
    bitrate: str | None = None
    title: str | None = None
    author: str | None = None
    cover: Path | bytes | None = None
    """An image file (--cover), or a book's own cover image (its bytes)."""
    language: str | None = None
    """The language the audio track is tagged with ("en", "fr-CA")."""

    @property
    def format(self) -> str:
        """The audio format this delivery writes."""
        return self.fmt  # type: ignore[return-value] - set by __post_init__

    def __post_init__(self) -> None:
        object.__setattr__(self, "output", stream_alias(self.output))  # -o /dev/stdout streams like -o -
        if self.split_chapters:
            fmt = format_for(f"x.{(self.fmt or 'wav').lower().lstrip('.')}", None)
        else:
            fmt = format_for(self.output, self.fmt)
        object.__setattr__(self, "fmt", fmt)

    @property
    def cover_file(self) -> Path | None:
        """The cover image file the run reads (--cover); None for none, or a book's own cover held in memory."""
        return None if self.cover is None or isinstance(self.cover, bytes) else Path(self.cover)

    def with_book_tags(self, script) -> Delivery:
        """These outputs tagged with what the script (a `Script`) says of itself (front matter, a book's title,
        author, language and cover) wherever the flags left a tag unset; a book's cover only where the format
        carries one."""
        tags = script.metadata
        cover = self.cover
        takes_cover = self.format in COVER_FORMATS and uses_ffmpeg(self.format, self.bitrate)
        if cover is None and script.cover is not None and takes_cover and image_kind(script.cover.data):
            cover = script.cover.data
        return replace(self, title=self.title or tags.get("title"), author=self.author or tags.get("author"),
                       language=self.language or tags.get("language"), cover=cover)

    def outputs(self) -> list[Named]:
        """The files this delivery writes, each with its flag (--split-chapters' files: `chapter_paths`)."""
        found = [] if self.output == "-" or self.split_chapters else [Named("-o", Path(self.output))]
        sides = (("--manifest", self.manifest), ("--srt", self.srt), ("--vtt", self.vtt))
        return found + [Named(flag, Path(side)) for flag, side in sides if side is not None]

    def check(self, reads: Sequence[Named] = (), writes: Sequence[Named] = ()) -> None:
        """Everything about the outputs that can fail, checked before any synthesis: folders, names, kinds, and that
        no output is another output, one of ``reads`` or one of ``writes`` (the take cache)."""
        fmt = self.format
        if self.split_chapters:
            check_split_folder(self.output)
        for named in self.outputs():
            check_output_path(str(named.path), named.label)
        check_clashes([*self.outputs(), *writes], reads)
        if uses_ffmpeg(fmt, self.bitrate):
            check_options(fmt, self.bitrate, self.cover)
        elif self.cover is not None:
            raise OutputError(f"A cover image cannot be attached to .{fmt}; use .m4b, .m4a or .mp3.")
        elif self.bitrate is not None:
            raise OutputError(f"--bitrate applies to .mp3, .opus, .m4a and .m4b, not .{fmt}.")

    def check_run(self, reads: Sequence[Named], chapter_titles: Sequence[str], cache_dir: Path | None = None) -> None:
        """`check` against every file the run reads (a job's ``inputs``) and the take cache, and the files of
        --split-chapters (one per title in ``chapter_titles``) too."""
        self.check(reads, [Named("--cache-dir", Path(cache_dir))] if cache_dir is not None else [])
        if self.split_chapters:
            files = [Named(f"the chapter file {p.name}", p) for p in self.chapter_paths(chapter_titles)]
            for named in files:
                check_regular(named.path, named.label)
            check_clashes([*self.outputs(), *files], reads)

    def chapter_paths(self, titles: Sequence[str]) -> list[Path]:
        """The numbered file --split-chapters writes for each chapter title, in order."""
        width = max(2, len(str(len(titles))))
        return [Path(self.output) / f"{n:0{width}d}-{slug(t)}.{self.format}" for n, t in enumerate(titles, 1)]

    def write(self, narration: Narration, stdout=None) -> None:
        """Write the audio (to ``stdout`` for ``-``), then the manifest and subtitles, each atomically."""
        if self.split_chapters:
            write_chapter_files(narration, Path(self.output), self.format, self)
        else:
            write_audio(narration, self.output, self.format, bitrate=self.bitrate, title=self.title,
                        author=self.author, cover=self.cover, stdout=stdout, language=self.language)
        if self.manifest is not None:
            write_manifest(narration, self.manifest)
        if self.srt is not None:
            write_subtitles(narration, self.srt, "srt")
        if self.vtt is not None:
            write_subtitles(narration, self.vtt, "vtt")


def write_audio(narration: Narration, path: str | Path, fmt: str, *, bitrate: str | None = None,
                title: str | None = None, author: str | None = None, cover: Path | bytes | None = None, stdout=None,
                language: str | None = None) -> None:
    """Write the narration's audio as ``fmt`` to ``path`` atomically (``-``: to ``stdout``); .m4b/.m4a get a chapter
    mark per chapter. ``cover`` is an image file or an image's bytes (a book's own); ``language`` tags the track."""
    path = str(path)
    if uses_ffmpeg(fmt, bitrate):
        chapters = narration.chapters if len(narration.chapters) > 1 else None
        export_ffmpeg(narration.audio, narration.sample_rate, path, fmt, chapters, title, author, cover, bitrate,
                      stdout=stdout, language=language)
    else:
        export(narration.audio, narration.sample_rate, path, fmt, stdout=stdout)


def check_split_folder(folder: str) -> None:
    """--split-chapters writes into a folder: it may exist, or be new inside an existing folder; either way cbx must
    be able to write there."""
    path = Path(folder)
    if folder == "-":
        raise OutputError("--split-chapters writes files into a folder; give -o FOLDER, not -o -.")
    if path.exists() and not path.is_dir():
        raise OutputError(f"--split-chapters needs -o to name a folder, and '{folder}' is not a folder.")
    if not path.exists() and not path.parent.is_dir():
        raise OutputError(f"Output folder '{path.parent}' does not exist. Create it first (mkdir -p {path.parent}).")
    probe_folder(path if path.is_dir() else path.parent, "01-chapter.wav", "-o")


def spoken_chapter_titles(chunks, titles: Sequence[str | None]) -> list[str]:
    """The title of each chapter that has chunks, in order, as its file and chapter mark name it."""
    used = sorted({c.chapter for c in chunks})
    return [titles[ch] or f"Chapter {ch + 1}" for ch in used]


def write_chapter_files(narration: Narration, folder: Path, fmt: str, tags: Delivery) -> list[Path]:
    """One numbered file per chapter, cut from the normalized program, each written atomically."""
    folder.mkdir(exist_ok=True)
    sr = narration.sample_rate
    paths = tags.chapter_paths([title for _, _, title in narration.chapters])
    for (start, end, title), path in zip(narration.chapters, paths, strict=True):
        piece = narration.audio[int(round(start * sr)) : int(round(end * sr))]
        if uses_ffmpeg(fmt, tags.bitrate):
            export_ffmpeg(piece, sr, str(path), fmt, None, title, tags.author, tags.cover, tags.bitrate,
                          language=tags.language)
        else:
            export(piece, sr, str(path), fmt)
    return paths


def slug(title: str) -> str:
    """A file-name-safe form of a chapter title."""
    text = re.sub(r"[^\w\s-]", "", unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode())
    return re.sub(r"[\s_-]+", "-", text).strip("-").lower()[:60] or "chapter"

