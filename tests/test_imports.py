"""`cbx --help` and `cbx --version` start fast: they load neither torch nor the text libraries. (Which module may import
which is in test_layers.py.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "cbx_cli"
HEAVY = ("torch", "chatterbox", "numpy", "pysbd", "num2words", "markdown_it", "pydantic", "yaml", "soundfile")


def modules_after(args: list[str]) -> set[str]:
    """The top-level modules a fresh interpreter holds after running `cbx ARGS`."""
    code = (
        "import sys\n"
        "from cbx_cli.cli import main\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "sys.stderr.write(__import__('json').dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


@pytest.mark.parametrize("args", [["--help"], ["--version"]])
def test_help_and_version_load_no_heavy_library(args):
    loaded = modules_after(args)
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_command_help_loads_no_model_or_text_library():
    # Typer itself brings pydantic for a command's options; the model and the text libraries stay out.
    loaded = modules_after(["book", "--help"])
    assert not loaded & {"torch", "chatterbox", "pysbd", "num2words", "markdown_it"}
