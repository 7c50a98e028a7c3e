"""The documentation stays whole: the CLI reference (written from the Typer app when the site is built) names every
option every command's --help shows, the README is a front door whose links all lead somewhere, and every page is in
the site's navigation. `mkdocs build --strict` (in .ci/run) checks the pages' own links."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml

from clirun import run

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
sys.path.insert(0, str(DOCS / "hooks"))

import cli_reference  # noqa: E402

OPTION = re.compile(r"(?<![\w/.-])(--?[A-Za-z][\w-]*)")


def reference_sections() -> dict[str, str]:
    """The reference's text for each command, by its path (``cbx voices add``)."""
    text = cli_reference.reference()
    parts = re.split(r"^## `([^`]+)`$", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def command_paths() -> list[list[str]]:
    import typer.main

    from cbx_cli.cli import app

    root = typer.main.get_command(app)
    context = root.make_context("cbx", [], resilient_parsing=True)
    return [path for path, _, _ in cli_reference.commands(root, context, ["cbx"])]


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(p))
def test_every_option_in_help_is_in_the_reference(path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # each option's names on one line
    sections = reference_sections()
    shown = run([*path[1:], "--help"])
    assert shown.exit_code == 0, shown.output
    options = shown.stdout.split("\nOptions:", 1)[1].split("\nCommands:", 1)[0]
    rows = [line.strip() for line in options.splitlines() if line.strip().startswith("-")]
    flags = {flag for row in rows for flag in OPTION.findall(row.split("  ")[0])}
    assert flags and "--help" in flags
    section = sections[" ".join(path)]
    missing = sorted(flag for flag in flags if not re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", section))
    assert not missing, f"{' '.join(path)}: {missing} are in --help but not in the reference"


def test_the_reference_has_every_command_once():
    names = [" ".join(p) for p in command_paths()]
    assert list(reference_sections()) == names
    assert {"cbx say", "cbx book", "cbx batch", "cbx serve", "cbx voices add", "cbx cache clear"} <= set(names)


def test_readme_has_the_two_commands_on_lines_of_their_own_and_links_that_lead_somewhere():
    readme = (ROOT / "README.md").read_text()
    lines = [line.strip() for line in readme.splitlines()]
    run_line = next(line for line in lines if line.startswith("python3 -m venv") and "cbx book" in line)
    test_line = next(line for line in lines if line.startswith("python3 -m venv") and "pytest" in line)
    assert 'pip install -e ".[serve]"' in run_line and 'pip install -e ".[test]"' in test_line
    assert test_line.endswith("python -m pytest -q") and "ruff check src tests" in test_line
    assert test_line.split(" && ", 3)[3] in (ROOT / ".ci" / "run").read_text()  # CI runs what the README says
    links = re.findall(r"\]\(((?!https?:)[^)#]+)", readme)
    assert len(links) > 10
    assert all((ROOT / link).is_file() for link in links), [link for link in links if not (ROOT / link).is_file()]


def test_every_page_is_in_the_navigation():
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())

    def pages(nav) -> list[str]:
        found = []
        for entry in nav:
            value = next(iter(entry.values())) if isinstance(entry, dict) else entry
            found += pages(value) if isinstance(value, list) else [value]
        return found

    listed = set(pages(config["nav"]))
    written = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")}
    assert written == listed


PYTHON_TYPES = re.compile(r"<(str|int|float|bool|path)>|\b(list|tuple|dict|Path|Optional)\[|\bNoneType\b", re.I)


def documented_commands() -> list[tuple[str, str]]:
    """Every cbx command line the README and the pages show: in code blocks, indented or fenced (each part of a
    ``&&`` or ``|`` chain that starts with cbx), and in code spans; (where, line)."""
    found = []
    for page in [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]:
        where, fenced = str(page.relative_to(ROOT)), False
        for line in page.read_text().splitlines():
            if line.lstrip().startswith("```"):
                fenced = not fenced
            elif fenced or line.startswith("    "):
                code = line.strip().removeprefix("$ ")
                found += [(where, part.strip()) for part in re.split(r"&&|\|(?![^\[]*\])", code)
                          if part.strip().startswith("cbx ")]
            else:
                found += [(where, span) for span in line.split("`")[1::2] if span.startswith("cbx ")]
    return found


def test_every_command_line_in_the_docs_runs_as_written():
    """Each command and option a page shows is one the CLI has: a new user copying a line gets no "No such
    option"."""
    import shlex

    import typer.main

    from cbx_cli.cli import app

    root = typer.main.get_command(app)
    wrong, checked = [], 0
    for where, line in documented_commands():
        try:
            words = [w.strip("[]") for w in shlex.split(line, comments=True)]
        except ValueError:
            wrong.append(f"{where}: {line}: cannot be split into words")
            continue
        command, path = root, ["cbx"]
        for word in words[1:]:
            if not hasattr(command, "commands") or word.startswith("-"):
                break
            if word in ("...", "NAME", "COMMAND"):
                break
            if word not in command.commands:
                wrong.append(f"{where}: {line}: no command {' '.join(path)} {word}")
                break
            command, path = command.commands[word], [*path, word]
        options = {o for p in command.params for o in (*p.opts, *p.secondary_opts)} | {"--help"}
        for word in words[len(path):]:
            flag = word.split("=", 1)[0]
            if re.fullmatch(r"--?[A-Za-z][\w-]*", flag) and flag not in options:
                wrong.append(f"{where}: {line}: {' '.join(path)} has no {flag}")
        checked += 1
    assert checked > 100
    assert not wrong, "\n".join(wrong)


def test_help_placeholders_say_what_goes_there():
    """A --help shows FILE, NAME, DIR, TEXT or the choices, never a Python type."""
    for path in command_paths():
        shown = run([*path[1:], "--help"])
        assert not PYTHON_TYPES.search(shown.stdout), f"{' '.join(path)}:\n{shown.stdout}"
