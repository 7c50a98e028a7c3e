"""The layers of the house, drawn again from the code: which package may import which, checked over every import of
every module (at the top, inside functions, and none hidden from this check under TYPE_CHECKING). DESIGN.md shows the
same table; the stages meet only in the library, the clients reach nothing below it, and no stage imports a tool."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "cbx_cli"

STAGES = {"parse", "plan", "render", "verify", "assemble", "deliver", "voices", "engine", "narration"}
"""The pipeline and the parts it is built of: reached by the clients only through the library."""
CLIENTS = {"cli", "serve", "batch"}
BOTTOM = {"errors", "files", "net", "config"}
"""What every layer above may use: the error hierarchy, files written atomically and read within bounds, the
deadline of outbound requests, the settings (which read their files through `files`)."""

ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "files": {"errors"},
    "net": set(),
    "config": {"errors", "files"},
    "engine": {"config", "errors"},
    "parse": {"config", "errors", "files"},
    "plan": {"parse", *BOTTOM},
    "voices": {"engine", *BOTTOM},
    "verify": {"plan", "parse", "engine", *BOTTOM},
    "assemble": {*BOTTOM},
    "render": {"verify", "plan", "engine", "assemble", *BOTTOM},
    "narration": {"render", "plan", *BOTTOM},
    "deliver": {"narration", *BOTTOM},
    "api": {*STAGES, *BOTTOM},
    "tools": {"api", "serve", *STAGES, *BOTTOM},
    "serve": {"api", *BOTTOM},
    "batch": {"api", *BOTTOM},
    "cli": {"api", "tools", "serve", "batch", *BOTTOM},
    "__main__": {"cli"},
}
"""Package (or top-level module) → what it may import besides itself. Any of them may read ``cbx_cli.__version__``
from the package itself, whose public names load the library lazily, for its users."""


def modules() -> dict[str, Path]:
    found = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def unit(module: str) -> str:
    """The row of the table a module belongs to: its package under cbx_cli, or its own name at the top."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "cbx_cli"


def imports(path: Path) -> list[tuple[str, list[str], bool, int]]:
    """Every cbx_cli import in ``path``: (module, names, under TYPE_CHECKING, line), wherever it stands."""
    tree = ast.parse(path.read_text())
    typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If) and "TYPE_CHECKING" in
                   ast.unparse(block.test) for stmt in block.body for n in ast.walk(stmt)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("cbx_cli"):
            found.append((node.module, [a.name for a in node.names], id(node) in typing_only, node.lineno))
        elif isinstance(node, ast.Import):
            found += [(a.name, [], id(node) in typing_only, node.lineno) for a in node.names
                      if a.name.startswith("cbx_cli")]
    return found


def targets(module: str, names: list[str], known: dict[str, Path]) -> set[str]:
    """The modules an import statement loads: ``from cbx_cli.x import y`` is the module ``x.y`` when there is one."""
    found = {module}
    found.update(f"{module}.{name}" for name in names if f"{module}.{name}" in known)
    return found


def test_every_package_has_a_row():
    packages = {unit(m) for m in modules()} - {"cbx_cli"}
    assert packages <= set(ALLOWED), f"place {sorted(packages - set(ALLOWED))} in the table (and in DESIGN.md)"
    assert set(ALLOWED) <= packages | {"__main__"}


def test_every_import_keeps_to_the_table():
    known = modules()
    wrong = []
    for name, path in known.items():
        here = unit(name)
        for module, names, _, line in imports(path):
            if module == "cbx_cli":  # the package itself: its version, or its subpackages by name
                loaded = [f"cbx_cli.{n}" for n in names if n != "__version__"]
                assert all(m in known for m in loaded), f"{path}:{line} imports {names} from the package itself"
            else:
                loaded = [module]
            for there in {unit(m) for m in loaded} - {here}:
                if there not in ALLOWED[here]:
                    wrong.append(f"{path.relative_to(ROOT)}:{line} {here} → {there} ({module})")
    assert not wrong, "imports outside the table:\n" + "\n".join(wrong)


def test_the_table_is_layered():
    """No circle in the table itself: every package sits above all it may import."""
    done: set[str] = set()

    def visit(name: str, stack: tuple[str, ...]) -> None:
        assert name not in stack, "circle: " + " → ".join([*stack, name])
        if name not in done:
            for below in ALLOWED[name]:
                visit(below, (*stack, name))
            done.add(name)

    for name in ALLOWED:
        visit(name, ())


def test_clients_reach_the_stages_only_through_the_library_and_no_stage_imports_a_tool():
    for client in CLIENTS:
        assert not ALLOWED[client] & STAGES, client
    for name, allowed in ALLOWED.items():
        if name not in {"tools", "cli", "__main__"}:
            assert "tools" not in allowed and not allowed & CLIENTS, name


def test_no_import_is_hidden_from_this_check():
    hidden = [f"{path.relative_to(ROOT)}:{line} {module}" for path in modules().values()
              for module, _, typing_only, line in imports(path) if typing_only]
    assert not hidden, "imports under TYPE_CHECKING: " + ", ".join(hidden)


def test_no_private_name_crosses_a_package():
    crossing = [f"{path.relative_to(ROOT)}:{line} {module}.{n}" for name, path in modules().items()
                for module, names, _, line in imports(path) for n in names
                if n.startswith("_") and n != "__version__" and unit(module) != unit(name)]
    assert not crossing, crossing


def test_no_import_circle_between_modules():
    known = modules()
    graph = {name: {t for module, names, _, _ in imports(path) for t in targets(module, names, known)
                    if t in known and t != name}
             for name, path in known.items()}
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in graph[node]:
            if nxt.startswith(node + "."):  # a package's __init__ naming its own modules is not a circle of meaning
                continue
            if state.get(nxt) == 1:
                raise AssertionError("import circle: " + " -> ".join([*stack[stack.index(nxt):], nxt]))
            if nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


def test_design_md_shows_this_table():
    text = (ROOT / "DESIGN.md").read_text()
    rows = re.findall(r"^\| `([\w_]+)` \| (.*?) \|$", text, re.M)
    shown = {name: set(re.findall(r"`([\w_]+)`", allowed)) for name, allowed in rows}
    assert shown == ALLOWED
