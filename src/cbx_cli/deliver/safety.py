"""No output lands on an input, on another output, or on anything that is not a regular file.

"The same file" means real identity: the same inode when both paths exist (hard links and symlinks included),
else the same absolute path once every link in it is resolved. Every path a run writes is compared, before any
model loads, with every path it reads (a job's ``inputs``): the script, the voice recordings, the lexicon, the cover,
the user's presets and config, the checkpoint's files.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cbx_cli.errors import OutputError

STREAM_ALIASES = ("/dev/stdout", "/dev/fd/1", "/proc/self/fd/1")
"""Output paths that mean standard output: ``-o /dev/stdout`` is taken as ``-o -``."""
MODEL_DIR_FILES = 1000
"""At most this many files of a --model-dir are compared with the outputs (a checkpoint holds a handful)."""


@dataclass(frozen=True)
class Named:
    """A path a run reads or writes, with how messages name it: a flag (``-o``, ``--voice``) or words."""

    label: str
    path: Path


def stream_alias(output: str) -> str:
    """``-`` for an output path that names standard output, else the path unchanged."""
    return "-" if output in STREAM_ALIASES else output


def same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` are one file: one inode when both exist, else one resolved absolute path."""
    try:
        sa, sb = os.stat(a), os.stat(b)
    except OSError:
        return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def check_clashes(writes: Sequence[Named], reads: Iterable[Named]) -> None:
    """Fail when two outputs are one file, or an output is one of the inputs; the message names both."""
    reads = list(reads)
    for i, out in enumerate(writes):
        for other in writes[:i]:
            if same_file(out.path, other.path):
                raise OutputError(
                    f"{other.label} and {out.label} name the same file ('{out.path}'). Give each output its own path."
                )
        for source in reads:
            if same_file(out.path, source.path):
                raise OutputError(
                    f"{out.label} and {source.label} name the same file ('{out.path}'): cbx never writes over what "
                    f"it reads. Choose another path for {out.label}."
                )


def user_files() -> list[Named]:
    """The user's preset files and config file (read by every run that resolves a preset)."""
    from cbx_cli.config import paths

    found = [Named(f"your preset file {p.name}", p) for p in sorted(paths.user_presets_dir().glob("*.y*ml"))]
    return [*found, Named("your config file", paths.user_config_file())]


def model_dir_files(model_dir: Path | None) -> list[Named]:
    """The files of a checkpoint folder (``--model-dir``), a bounded number of them."""
    if model_dir is None or not Path(model_dir).is_dir():
        return []
    found = []
    for root, _dirs, files in os.walk(model_dir):
        found += [Named("--model-dir", Path(root) / f) for f in files]
        if len(found) >= MODEL_DIR_FILES:
            break
    return found[:MODEL_DIR_FILES]
