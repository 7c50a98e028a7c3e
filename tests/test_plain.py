"""Tests for parsing plain text into a Script."""

from hypothesis import given, settings
from hypothesis import strategies as st

from cbx_cli.parse.plain import parse_plain
from cbx_cli.parse.script import Script


def outline(script: Script) -> list[tuple[str | None, list[str]]]:
    return [(c.title, [p.text for p in c.paragraphs]) for c in script.chapters]


def test_plain_paragraphs_and_lines():
    source = "\nFirst   paragraph\nstill first.\n\n  \n\tSecond one.\n\n\nThird\r\nline two\n"
    script = parse_plain(source)
    assert outline(script) == [(None, ["First paragraph still first.", "Second one.", "Third line two"])]
    assert [p.line for p in script.paragraphs] == [2, 6, 9]
    assert not any(p.is_title for p in script.paragraphs)


def test_plain_empty():
    assert parse_plain("  \n\n \t\n").is_empty()
    assert parse_plain("").speakable_text() == ""


def test_plain_has_no_headings():
    assert outline(parse_plain("# A")) == [(None, ["# A"])]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab .\n\n\t\r\x0c\u2028\u00a0é"))) | st.text())
def test_plain_keeps_all_text(source):
    assert parse_plain(source).speakable_text() == " ".join(source.split())
