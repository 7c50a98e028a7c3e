"""`cbx --help` and `cbx --version` start fast: they load neither torch nor the text libraries, and no module of
cbx imports another in a circle."""

from __future__ import annotations

import ast
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


def _imports(path: Path) -> set[str]:
    """The cbx_cli modules ``path`` imports, at module level or inside functions (not for type checking only)."""
    tree = ast.parse(path.read_text())
    typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If) and "TYPE_CHECKING" in
                   ast.unparse(block.test) for stmt in block.body for n in ast.walk(stmt)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("cbx_cli"):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("cbx_cli"))
    return found


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_import_cycles():
    modules = {_module_name(p): p for p in SRC.rglob("*.py")}
    graph = {name: {m for m in _imports(path) if m in modules and m != name} for name, path in modules.items()}
    # a package's __init__ importing its own submodules to register them is not a cycle of meaning
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in graph[node]:
            if nxt.startswith(node + "."):
                continue
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*stack[stack.index(nxt):], nxt]))
            if nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
