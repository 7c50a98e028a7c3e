"""Pauses in a script: [pause ...] tags and separator lines (cbx_cli.parse.pauses)."""

import pytest

from cbx_cli.errors import InputError
from cbx_cli.parse.markdown import parse_markdown
from cbx_cli.parse.plain import parse_plain
from cbx_cli.parse.script import Paragraph


def error(source: str, name: str | None = None, plain: bool = False) -> str:
    with pytest.raises(InputError) as info:
        (parse_plain if plain else parse_markdown)(source, name)
    return info.value.message


def pauses(script) -> list[tuple[str, float | None]]:
    return [(p.text, p.pause_after) for p in script.paragraphs]


@pytest.mark.parametrize("parse", [parse_markdown, parse_plain])
def test_pauses_split_paragraphs(parse):
    script = parse("One. [pause 1.5s] Two. [pause 500ms] Three. [pause 2] Four. [PAUSE 0.25 S] Five.\n")
    assert pauses(script) == [("One.", 1.5), ("Two.", 0.5), ("Three.", 2.0), ("Four.", 0.25), ("Five.", None)]
    assert [p.line for p in script.paragraphs] == [1] * 5


@pytest.mark.parametrize("parse", [parse_markdown, parse_plain])
def test_pause_alone_attaches_to_previous(parse):
    script = parse("[pause 3s] Start.\n\nMiddle.\n\n[pause 1s]\n\nEnd. [pause 2s]\n\n[pause 1s]\n")
    assert pauses(script) == [("Start.", None), ("Middle.", 1.0), ("End.", 3.0)]
    assert [p.line for p in script.paragraphs] == [1, 3, 7]
    assert parse("[pause 2s]\n").paragraphs == []


def test_pause_lines_across_line_breaks():
    source = "Title\n\nFirst line\nsecond [pause 1s] third\nfourth.\n"
    for parse in (parse_markdown, parse_plain):
        script = parse(source)
        assert pauses(script)[1:] == [("First line second", 1.0), ("third fourth.", None)]
        assert [p.line for p in script.paragraphs] == [1, 3, 4]


def test_pause_after_heading_and_in_list():
    script = parse_markdown("# Title [pause 2s]\n\n- a [pause 1s]\n- b\n")
    assert script.chapters[0].title == "Title"
    assert pauses(script) == [("Title", 2.0), ("a", 1.0), ("b", None)]


HINT = "Write [pause 1.5s], [pause 500ms] or [pause 2] (seconds, 0 to 30)."


@pytest.mark.parametrize(
    "source, message",
    [
        ("x [pause x] y", f"[pause x] is not a pause. {HINT}"),
        ("x [pause] y", f"[pause] is not a pause. {HINT}"),
        ("x [pause -1s] y", f"[pause -1s] is not a pause. {HINT}"),
        ("x [pause 31s] y", "[pause 31s] is too long: pauses are 0 to 30 s."),
        ("x [pause 30001ms] y", "[pause 30001ms] is too long: pauses are 0 to 30 s."),
        ("x [pause 2s y", f"'[pause 2s y' is not a pause: it has no closing ']'. {HINT}"),
    ],
)
def test_bad_pauses(source, message):
    source = "Intro.\n\nMore\n" + source + "\n"
    assert error(source, "c.md") == f"c.md:4: {message}"
    assert error(source, plain=True) == f"line 4: {message}"
    assert error(source, "c.txt", plain=True) == f"c.txt:4: {message}"


def test_pause_limits():
    assert pauses(parse_plain("A [pause 30s] B [pause 0] C"))[:2] == [("A", 30.0), ("B", 0.0)]


def test_markdown_separators_become_pauses():
    source = "# T\n\nOne.\n\n***\n\nTwo.\n\n* * *\n\nThree.\n\n---\n\n___\n\nFour.\n"
    script = parse_markdown(source)
    assert pauses(script) == [("T", None), ("One.", 1.5), ("Two.", 1.5), ("Three.", 3.0), ("Four.", None)]
    assert parse_markdown("***\n\nText.\n").paragraphs == [Paragraph("Text.", 3)]


def test_plain_separators_become_pauses():
    source = "One.\n\n***\n\nTwo.\n\n---\n\nThree.\n\n###\n\nFour.\n\n* * *\n\nFive.\n\n# Not a separator\n"
    script = parse_plain(source)
    assert pauses(script) == [
        ("One.", 1.5), ("Two.", 1.5), ("Three.", 1.5), ("Four.", 1.5), ("Five.", None), ("# Not a separator", None),
    ]
    assert pauses(parse_plain("One.\n***\n")) == [("One. ***", None)]  # not alone in its paragraph: spoken
