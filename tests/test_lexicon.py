"""Tests for the pronunciation lexicon (--lexicon): matching and loading its YAML file."""

from pathlib import Path

import pytest

from cbx_cli.errors import InputError
from cbx_cli.plan.lexicon import Lexicon


def test_lexicon_applies_whole_words_case_insensitively():
    lexicon = Lexicon({"Nguyen": "Win", "Ann": "Anh", "Saoirse Ronan": "Sur-sha Ro-nan", "Saoirse": "Seer-sha"})
    assert lexicon.apply("nguyen and NGUYEN met Ann, not Anne.") == "Win and Win met Anh, not Anne."
    assert lexicon.apply("Saoirse Ronan and Saoirse") == "Sur-sha Ro-nan and Seer-sha"  # phrase beats word
    assert lexicon.apply("saoirse\n  ronan") == "Sur-sha Ro-nan"
    assert lexicon.apply("Annex Ann's") == "Annex Anh's"
    assert len(lexicon) == 4
    assert Lexicon().apply("Nguyen") == "Nguyen"


def test_lexicon_known_words():
    assert Lexicon({"Saoirse Ronan": "Sur-sha Ro-nan", "Nguyen": "Win"}).known_words() == {
        "saoirse ronan", "saoirse", "ronan", "nguyen",
    }


def test_lexicon_load(tmp_path: Path):
    path = tmp_path / "lexicon.yaml"
    path.write_text("Nguyen: Win\n'Saoirse Ronan': Sur-sha Ro-nan\n", encoding="utf-8")
    lexicon = Lexicon.load(path)
    assert len(lexicon) == 2
    assert lexicon.apply("Nguyen met Saoirse Ronan.") == "Win met Sur-sha Ro-nan."
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    assert not Lexicon.load(empty)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("- Nguyen\n- Win\n", "{path}: lexicon must be a mapping of 'word or phrase: respelling' lines, not a list."),
        ("just a string\n", "{path}: lexicon must be a mapping of 'word or phrase: respelling' lines, not a string."),
        ("Nguyen: 42\n", "{path}: entry 'Nguyen' must map to a respelling string."),
        ("Nguyen:\n", "{path}: entry 'Nguyen' must map to a respelling string."),
        ("Nguyen: [Win]\n", "{path}: entry 'Nguyen' must map to a respelling string."),
        ("Nguyen: {a: b}\n", "{path}: entry 'Nguyen' must map to a respelling string."),
        ("42: forty\n", "{path}: entry '42' must be a word or phrase; put it in quotes."),
        ("Nguyen: [Win\n", "{path}: line 2 is not valid YAML. Fix the syntax and run again."),
    ],
)
def test_lexicon_bad_files(tmp_path: Path, content: str, message: str):
    path = tmp_path / "lexicon.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as info:
        Lexicon.load(path)
    assert str(info.value) == message.format(path=path)
    assert "\n" not in str(info.value)


def test_lexicon_missing_file(tmp_path: Path):
    path = tmp_path / "nope.yaml"
    with pytest.raises(InputError) as info:
        Lexicon.load(path)
    assert str(info.value) == f"{path}: lexicon file not found. Check the path."
    with pytest.raises(InputError) as info:
        Lexicon.load(tmp_path)
    assert str(info.value) == f"{tmp_path}: lexicon is not a file. Pass a YAML file of 'word: respelling' lines."
