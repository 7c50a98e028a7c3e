"""The wheel carries every package and the built-in presets (pyproject lists packages one by one, because the
presets live at the top of the repository and are mapped into cbx_cli.presets)."""

from __future__ import annotations

from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_is_listed():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT / "src").parts) for p in (ROOT / "src").rglob("__init__.py")}
    assert found | {"cbx_cli.presets"} == listed


def test_presets_ship_as_package_data():
    from importlib import resources

    names = sorted(e.name for e in resources.files("cbx_cli.presets").iterdir() if e.name.endswith(".yaml"))
    assert names == sorted(p.name for p in (ROOT / "presets").glob("*.yaml"))
    assert {"agent.yaml", "audiobook.yaml", "game.yaml", "meme.yaml", "narration.yaml"} <= set(names)
