"""The library API: what `cbx book` does is what the library does, byte for byte."""

from __future__ import annotations

import json

import pytest

import cbx_cli as cbx
from clirun import run

SCRIPT = """\
# One

The first chapter has two sentences. Here is the second.

# Two

And a short second chapter.
"""


def test_public_surface_is_named():
    assert set(cbx.__all__) >= {"Narrator", "Narration", "Options", "prepare", "load_script", "Delivery"}
    for name in cbx.__all__:
        assert getattr(cbx, name) is not None
    with pytest.raises(AttributeError):
        cbx.NotAThing  # noqa: B018


def test_options_are_checked_where_they_are_built():
    with pytest.raises(cbx.CbxError, match=r"^--speed 3.0 is out of range; use 0.5 to 2.0.$"):
        from cbx_cli.config.params import check_options

        check_options(cbx.Options, speed=3.0)


def test_prepare_plans_without_a_model(tmp_path):
    script = tmp_path / "s.md"
    script.write_text(SCRIPT)
    parsed, name = cbx.load_script(str(script))
    job = cbx.prepare(parsed, cbx.Options(preset="narration", max_tokens=8), source_name=name)
    assert [(c.chapter, c.text) for c in job.chunks] == [
        (0, "One"), (0, "The first chapter has two sentences. Here is the second."), (1, "Two"),
        (1, "And a short second chapter."),
    ]
    assert job.plan.chapter_titles == ["One", "Two"]
    assert all(c.max_tokens == 8 for c in job.chunks)


@pytest.mark.engine
def test_cli_and_library_write_the_same_bytes(original_ckpt, tmp_path):
    script = tmp_path / "s.md"
    script.write_text(SCRIPT)
    by_cli = tmp_path / "cli.flac"
    r = run(["book", str(script), "-o", str(by_cli), "--model-dir", str(original_ckpt), "--device", "cpu",
             "--preset", "narration", "--max-tokens", "8", "--retries", "0", "--no-cache", "--quiet",
             "--manifest", str(tmp_path / "cli.json")])
    assert r.exit_code == 0, r.output

    narrator = cbx.Narrator(model_dir=original_ckpt, device="cpu", cache_dir=None)
    parsed, name = cbx.load_script(str(script))
    narration = narrator.narrate(parsed, cbx.Options(preset="narration", max_tokens=8, retries=0))
    by_library = tmp_path / "library.flac"
    cbx.export(narration, by_library)
    cbx.write_manifest(narration, tmp_path / "library.json")

    assert by_library.read_bytes() == by_cli.read_bytes()
    by_cli_manifest = json.loads((tmp_path / "cli.json").read_text())
    command = by_cli_manifest.pop("command")  # the CLI records its command line, for cbx retake MANIFEST
    assert command["script"] == str(script) and command["options"]["preset"] == "narration"
    assert json.loads((tmp_path / "library.json").read_text()) == by_cli_manifest
    assert [title for _, _, title in narration.chapters] == ["One", "Two"]
    assert len(narration.takes) == len(narration.plan.chunks)
