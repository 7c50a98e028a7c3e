import time
from pathlib import Path

import pytest

from cbx_cli.config import paths
from cbx_cli.config.params import AssemblySettings, SynthesisOverrides, SynthesisParams
from cbx_cli.config.presets import all_presets, get_preset, resolve
from cbx_cli.errors import PresetError
from clirun import run

EXPECTED = {
    # exaggeration, temperature, cfg_weight, top_p, repetition_penalty
    "agent": (0.7, 0.5, 0.6, 0.8, 1.2),
    "game": (1.2, 1.0, 0.8, 0.9, 1.3),
    "narration": (0.5, 0.3, 0.5, 0.7, 1.1),
    "meme": (1.8, 1.2, 1.0, 1.0, 1.0),
    "audiobook": (0.6, 0.4, 0.5, 0.8, 1.3),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_builtin_preset_values(name):
    synthesis, assembly = resolve(name)
    got = (synthesis.exaggeration, synthesis.temperature, synthesis.cfg_weight, synthesis.top_p,
           synthesis.repetition_penalty)
    assert got == EXPECTED[name]
    assert synthesis.min_p == 0.05
    assert isinstance(assembly, AssemblySettings)


def test_audiobook_loudness_is_acx_friendly():
    _, assembly = resolve("audiobook")
    assert -23.0 <= assembly.loudness <= -18.0
    assert assembly.peak <= -3.0


def test_all_five_presets_are_listed():
    assert set(EXPECTED) <= set(all_presets())


def test_unknown_preset_names_the_known_ones():
    with pytest.raises(PresetError) as exc:
        get_preset("audibook")
    assert str(exc.value) == "Unknown preset 'audibook'. Known: agent, audiobook, game, meme, narration."


def _user_preset(name: str, text: str) -> Path:
    folder = paths.user_presets_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(text)
    return path


def test_user_preset_is_listed_and_resolved():
    _user_preset("calm", "description: Calm.\nsynthesis:\n  temperature: 0.2\nassembly:\n  loudness: -19\n")
    synthesis, assembly = resolve("calm")
    assert synthesis.temperature == 0.2
    assert synthesis.exaggeration == SynthesisParams().exaggeration
    assert assembly.loudness == -19
    assert "calm" in all_presets()


def test_typo_in_preset_names_file_and_field():
    path = _user_preset("typo", "synthesis:\n  temprature: 0.2\n")
    with pytest.raises(PresetError) as exc:
        resolve("typo")
    assert str(exc.value) == f"{path}: unknown field 'synthesis.temprature'. Remove it or check its spelling."


def test_out_of_range_preset_value_names_range():
    path = _user_preset("hot", "synthesis:\n  exaggeration: 3.5\n")
    with pytest.raises(PresetError) as exc:
        resolve("hot")
    assert str(exc.value) == f"{path}: synthesis.exaggeration = 3.5 is out of range; allowed 0.0 to 2.0."


def test_bad_yaml_is_one_line():
    path = _user_preset("broken", "synthesis: [unclosed\n")
    with pytest.raises(PresetError) as exc:
        resolve("broken")
    assert str(exc.value).startswith(f"{path}: line ")


def test_merge_order_defaults_preset_config_flags():
    config = paths.user_config_file()
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("synthesis:\n  temperature: 0.9\n  top_p: 0.5\n")
    flags = SynthesisOverrides(top_p=0.95)
    synthesis, _ = resolve("agent", flags)
    assert synthesis.exaggeration == 0.7  # preset
    assert synthesis.temperature == 0.9  # user config over preset
    assert synthesis.top_p == 0.95  # flag over config
    assert synthesis.seed == 42  # default


def test_a_broken_user_preset_breaks_only_itself():
    broken = _user_preset("broken", "synthesis: [unclosed\n")
    shadow = _user_preset("audiobook", "assembly:\n  loudness: [1, 2]\n")
    _user_preset("calm", "description: Calm.\n")
    assert set(all_presets()) == {"agent", "calm", "game", "meme", "narration"}
    assert resolve("agent")[0].exaggeration == 0.7 and get_preset("calm").description == "Calm."
    with pytest.raises(PresetError, match=f"^{shadow}: assembly.loudness"):
        get_preset("audiobook")  # never the built-in one in its place, silently
    r = run(["presets"])
    assert r.exit_code == 0
    assert [line.split()[0] for line in r.stdout.splitlines()] == ["agent", "calm", "game", "meme", "narration"]
    assert r.stderr.splitlines() == [
        f"warning: {shadow}: assembly.loudness = [1, 2]: Input should be a valid number. (this preset is left out "
        "until then)",
        f"warning: {broken}: line 2 is not valid YAML. Fix the syntax and run again. (this preset is left out until "
        "then)",
    ]


def test_alias_bomb_is_refused_at_once():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 12)]
    path = _user_preset("bomb", "\n".join(lines) + "\n")
    started = time.monotonic()
    with pytest.raises(PresetError) as exc:
        get_preset("bomb")
    assert time.monotonic() - started < 1.0
    assert str(exc.value) == (f"{path}: line 2 uses a YAML alias (*a0), which cbx does not expand. Write the value "
                              "out instead.")
