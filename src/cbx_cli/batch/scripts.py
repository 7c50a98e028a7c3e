"""`cbx batch` arguments → script files in order, and the output each one gets (named after the script)."""

from __future__ import annotations

import glob
from pathlib import Path

from cbx_cli.api import BOOK_SUFFIXES, FORMATS, MARKDOWN_SUFFIXES, TEXT_SUFFIXES
from cbx_cli.errors import InputError, OutputError

SCRIPT_SUFFIXES = (MARKDOWN_SUFFIXES | TEXT_SUFFIXES | set(BOOK_SUFFIXES)) - {""}


def expand_scripts(args: list[str]) -> list[Path]:
    """Each argument is a script file, a folder (its scripts and books, sorted; not its subfolders) or a glob
    pattern; the scripts in argument order, each once."""
    found: list[Path] = []
    seen: set[Path] = set()
    for arg in args:
        for path in _one_argument(arg):
            if path.resolve() not in seen:
                seen.add(path.resolve())
                found.append(path)
    if not found:
        raise InputError("No scripts to narrate. Pass script or book files, folders of them, or a glob such as "
                         "'chapters/*.md'.")
    return found


def _one_argument(arg: str) -> list[Path]:
    if arg == "-":
        raise InputError("cbx batch reads scripts from files; for stdin use 'cbx book -'.")
    path = Path(arg)
    if path.is_dir():
        scripts = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in SCRIPT_SUFFIXES)
        if not scripts:
            raise InputError(f"Folder '{path}' has no scripts or books ({FORMATS}). Pass the scripts or another "
                             "folder.")
        return scripts
    if path.exists() or not glob.has_magic(arg):
        return [path]  # a missing file is reported when it is read, with the other script errors
    matched = sorted(Path(p) for p in glob.glob(arg) if Path(p).is_file())
    if not matched:
        raise InputError(f"No file matches '{arg}'. Check the pattern (quote it so the shell leaves it to cbx).")
    return matched


def output_paths(scripts: list[Path], folder: Path, fmt: str) -> list[Path]:
    """`ch01.md` → `FOLDER/ch01.<fmt>`; two scripts with one name would overwrite each other, so that fails."""
    outputs: dict[str, Path] = {}
    for script in scripts:
        if script.stem in outputs:
            raise OutputError(f"Scripts '{outputs[script.stem]}' and '{script}' would both be written to "
                              f"'{folder / script.stem}.{fmt}'. Rename one, or narrate them in separate runs.")
        outputs[script.stem] = script
    return [folder / f"{script.stem}.{fmt}" for script in scripts]
