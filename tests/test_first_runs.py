"""A person's first runs: nothing loads that is not needed, the run says what it is doing, warnings are read once.

On the fake engine (its factory lists every engine made) and, for the real loading path, a tiny checkpoint.
"""

from __future__ import annotations

import io
import json
import re

import pytest

from clirun import run

BOOK = "# One\n\nThe ferry reached the point at dusk.\n\nMara stepped onto the pier.\n\n# Two\n\nThe lamp burned.\n"


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "book.md"
    path.write_text(BOOK)
    return path


def book(script, tmp_path, *extra):
    out, manifest = tmp_path / "book.wav", tmp_path / "book.json"
    r = run(["book", script, "-o", out, "--manifest", manifest, "--no-verify", *extra])
    assert r.exit_code == 0, r.output
    return r, out.read_bytes(), json.loads(manifest.read_text())


def test_a_run_whose_takes_are_all_cached_makes_no_engine(script, tmp_path, fake_engine):
    r, first, _ = book(script, tmp_path)
    assert len(fake_engine.made) == 1 and fake_engine.last.loaded
    r, again, _ = book(script, tmp_path)
    assert len(fake_engine.made) == 1  # no engine made, so none loaded
    assert again == first
    assert r.stderr.rstrip().endswith("every take from the cache, no model loaded.")
    r = run(["retake", tmp_path / "book.json", "--chunk", "2"])  # its neighbours come from the cache
    assert r.exit_code == 0, r.output
    assert len(fake_engine.made) == 2 and fake_engine.last.calls == [[1]]


def test_a_cached_run_with_verification_hears_nothing_again(script, tmp_path, fake_engine, scripted_asr):
    out = tmp_path / "v.wav"
    assert run(["book", script, "-o", out, "--verify"]).exit_code == 0
    heard = {name: list(t) for name, t in scripted_asr.heard.items()}
    assert heard["base.en"]
    assert run(["book", script, "-o", out, "--verify"]).exit_code == 0
    assert {name: t for name, t in scripted_asr.heard.items() if t} == {}  # the new transcribers heard nothing
    assert len(fake_engine.made) == 1


def test_adding_a_recording_the_library_has_conditioning_for_loads_nothing(fake_engine, voice_wav, isolated_env):
    assert run(["voices", "add", "narrator", voice_wav]).exit_code == 0
    assert len(fake_engine.made) == 1
    stored = sorted((isolated_env.data / "cbx" / "voices" / "narrator").glob("conds-*.pt"))
    before = [p.read_bytes() for p in stored]
    r = run(["voices", "add", "narrator", voice_wav, "--replace"])  # as a Makefile does on every build
    assert r.exit_code == 0, r.output
    r = run(["voices", "add", "reader", voice_wav])
    assert r.exit_code == 0 and "conditioning stored for original" in r.stdout
    assert len(fake_engine.made) == 1
    assert [p.read_bytes() for p in stored] == before
    assert (isolated_env.data / "cbx" / "voices" / "reader" / stored[0].name).read_bytes() == before[0]


def test_a_voice_outside_5_to_15_seconds_gets_one_warning_with_the_reason(script, tmp_path, fake_engine):
    from cbx_cli.tools.checkpoints import write_voice_wav

    short = write_voice_wav(tmp_path / "short.wav", seconds=2.0, sr=24000)
    r, _, manifest = book(script, tmp_path, "--voice", short)
    assert r.stderr.count("warning:") == 1
    assert "warning: Voice file 'short.wav' is 2.0 s long: Chatterbox copies a voice best from 5-15 s of clean " \
           "speech, and a clip this short gives it little of the voice to copy.\n" in r.stderr
    long = write_voice_wav(tmp_path / "long.wav", seconds=20.0, sr=24000)
    r = run(["voices", "add", "long", long])
    assert r.exit_code == 0 and "warning: Voice 'long' is 20.0 s long: Chatterbox copies a voice from 5-15 s of " \
                                "clean speech and uses only the first 10 s of a longer clip; cut the part you want." \
                                in r.stderr


def test_warnings_are_one_line_per_kind_and_a_cached_take_is_not_told_again(script, tmp_path, fake_engine):
    fake_engine.knobs["to_budget"] = True
    r, _, manifest = book(script, tmp_path, "--retries", "1")
    warnings = [line for line in r.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == ["warning: 5 takes ran to their token budget without stopping: chunks 1, 2, 3, 4, 5"]
    assert all(c["warnings"][0].startswith("take ran to its token budget") for c in manifest["chunks"])
    r, _, _ = book(script, tmp_path, "--retries", "1")
    warnings = [line for line in r.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == ["warning: 5 flagged takes from an earlier run, still used: chunks 1, 2, 3, 4, 5 (cbx review "
                        "to hear them, cbx retake --chunk N to redo one)"]
    r, _, _ = book(script, tmp_path, "--retries", "1", "--verbose")
    details = [line for line in r.stderr.splitlines() if line.startswith("warning:")]
    assert len(details) == 5 and details[1].startswith('warning: chunk 2 ("The ferry reached the point at dusk."): '
                                                       "take ran to its token budget")


def test_the_library_tells_stages_and_every_take_as_it_finishes(script, tmp_path, fake_engine):
    import cbx_cli as cbx
    from cbx_cli.api import load_script

    narrator = cbx.Narrator(cache_dir=tmp_path / "takes", engine_factory=fake_engine)
    stages, reports = [], []
    narrator.on_stage = lambda s: stages.append(s.name)
    job = narrator.prepare(load_script(str(script))[0], cbx.Options(verify=False))
    narrator.narrate(job, on_progress=reports.append)
    assert stages == ["loading", "rendering", "assembling"]
    assert [p.done for p in reports] == [1, 2, 3, 4, 5, 5] and {p.total for p in reports} == {5}
    assert reports[-1].made_seconds > 0 and reports[-1].made_seconds == pytest.approx(reports[-1].audio_seconds)
    stages.clear()
    reports.clear()
    narrator = cbx.Narrator(cache_dir=tmp_path / "takes", engine_factory=fake_engine)
    narrator.on_stage = lambda s: stages.append(s.name)
    narrator.narrate(job, on_progress=reports.append)
    assert stages == ["assembling"] and narrator.loads == 0
    assert reports[0].done == 5 and reports[-1].made_seconds == 0.0


def test_the_live_display_shows_the_stage_and_the_chunks_at_once(tmp_path):
    from rich.console import Console

    from cbx_cli.api import Progress
    from cbx_cli.cli.progress import RunProgress

    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120)
    with RunProgress(console, enabled=True, started=0.0) as progress:
        progress.stage("loading the original model")
        progress.chunks(40)
        progress._bar.refresh()
        first = screen.getvalue()
        progress.update(Progress(12, 40, 30.0, 5.0, 2, 25.0))
        progress._bar.refresh()
    shown = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", screen.getvalue())
    assert "loading the original model" in first and "0/40 chunks" in re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", first)
    assert "12/40 chunks" in shown and "30.0 s audio" in shown
    assert progress.made == 25.0 and f"{progress.speed:.2f}x" in shown  # the figure the summary prints


@pytest.mark.engine
def test_the_real_engine_is_not_loaded_for_a_run_from_the_cache(original_ckpt, tmp_path):
    import cbx_cli as cbx

    def narrate():
        narrator = cbx.Narrator(model_dir=original_ckpt, device="cpu", cache_dir=tmp_path / "takes")
        narration = narrator.narrate("A short line. And another one.", cbx.Options(max_tokens=10, retries=0))
        return narrator, narration

    first, made = narrate()
    assert first.loads == 1
    again, kept = narrate()
    assert again.loads == 0 and kept.stats.cached == len(kept.takes) >= 1
    assert (kept.audio == made.audio).all() and kept.info["engine"] == made.info["engine"]
