"""`cbx plan --spoken`, `--language` and `--date-order` through the CLI: round trips through `cbx plan --json`."""

import json

import pytest

from cbx_cli.plan.normalize import normalize
from clirun import run
from test_sentences import assert_tiles

SCRIPT = """# The Harbour

The ferry left at 7:30p.m. on 03/11/1998 with 40kg of mail and a 5%-15% surcharge.

Chapter IX reads version 1.2.3.4 of the x86-64 manual. Call (555) 010-2233.
"""


def plan_json(tmp_path, *flags: str, text: str = SCRIPT, name: str = "book.md") -> dict:
    script = tmp_path / name
    script.write_text(text, encoding="utf-8")
    r = run(["plan", str(script), "--json", *flags])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def chunks_of(data: dict) -> list[dict]:
    return [chunk for chapter in data["chapters"] for chunk in chapter["chunks"]]


def test_spoken_json_round_trip(tmp_path):
    data = plan_json(tmp_path, "--spoken")
    chunks = chunks_of(data)
    for chunk in chunks:
        assert chunk["spoken"] == normalize(chunk["text"])  # what the engine will read, exactly
    spoken = " ".join(c["spoken"] for c in chunks)
    assert "seven thirty p m on the third of November, nineteen ninety-eight with forty kilograms" in spoken
    assert "five to fifteen percent" in spoken and "Chapter Nine" in spoken
    assert "five five five, zero one zero, two two three three" in spoken
    assert data["left_as_written"] == ["1.2.3.4", "x86-64"]
    assert any("not understood" in w and "1.2.3.4, x86-64" in w for w in data["warnings"])
    assert "spoken" not in chunks_of(plan_json(tmp_path))[0]


def test_date_order_reaches_the_plan(tmp_path):
    spoken = " ".join(c["spoken"] for c in chunks_of(plan_json(tmp_path, "--spoken", "--date-order", "mdy")))
    assert "March eleventh, nineteen ninety-eight" in spoken


def test_bad_date_order_is_one_line(tmp_path):
    script = tmp_path / "a.md"
    script.write_text("On 03/11/1998.")
    r = run(["plan", str(script), "--date-order", "dym"])
    assert r.exit_code == 2
    assert r.stderr.strip().splitlines() == ["cbx: error: --date-order dym: Input should be 'dmy', 'mdy' or 'ymd'."]


def test_spoken_table_shows_both_texts(tmp_path):
    script = tmp_path / "a.md"
    script.write_text("It weighs 40kg.")
    r = run(["plan", str(script), "--spoken"])
    assert r.exit_code == 0, r.output
    assert "as written" in r.stdout and "as read" in r.stdout
    assert "40kg" in r.stdout and "forty kilograms" in r.stdout


JAPANESE = "今日は2024年3月14日です。気温は25度でした！本当？\n\n" + "長い文章が続きます、" * 12 + "終わり。\n"


@pytest.mark.parametrize(
    ("language", "read_as"),
    [("ja", "今日は二千二十四年三月十四日です。"), ("zh", "今日は2024年3月14日です。")],
)
def test_language_plans_sentences_and_numbers_of_that_language(tmp_path, language, read_as):
    data = plan_json(tmp_path, "--spoken", "--language", language, text=JAPANESE)
    chunks = chunks_of(data)
    assert data["language"] == language
    assert chunks[0]["text"] == "今日は2024年3月14日です。気温は25度でした！本当？"
    assert chunks[0]["spoken"].startswith(read_as)
    assert_tiles([c["text"] for c in chunks[1:]], JAPANESE.split("\n\n")[1])
    assert len(chunks) > 2  # the long paragraph is cut at its commas, not at the 250-character bound of letters
    left_warning = [w for w in data["warnings"] if "read as written" in w]
    assert bool(left_warning) == (language == "zh")
