"""Tests for parsing plain text and Markdown into a Script."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cbx_cli.parse.script import TAG_RE, Script, parse_markdown, parse_plain, parse_source, strip_tags


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


MARKDOWN = """\
# Chapter *One*

Some *emphasis* and **strong** text with a [link](https://example.com/secret-url).

- first item
- second `item`
  - nested item

```python
print("secret code")
```

<!-- a hidden comment -->

Line one
line two\\
line three

---

## Chapter Two

> A quoted paragraph.

    indented code block

Tom &amp; Jerry &lt;3 ![a cat](cat.png) <span>inline</span> tail.
"""


def test_markdown_chapters():
    script = parse_markdown(MARKDOWN)
    assert outline(script) == [
        (
            "Chapter One",
            [
                "Chapter One",
                "Some emphasis and strong text with a link.",
                "first item",
                "second item",
                "nested item",
                "Line one line two line three",
            ],
        ),
        ("Chapter Two", ["Chapter Two", "A quoted paragraph.", "Tom & Jerry <3 a cat inline tail."]),
    ]
    spoken = script.speakable_text()
    for hidden in ("secret", "print", "hidden comment", "indented", "https", "<!--", "<span>", "---"):
        assert hidden not in spoken


def test_markdown_titles_and_lines():
    script = parse_markdown(MARKDOWN)
    first = script.chapters[0].paragraphs[0]
    assert first.is_title and first.text == "Chapter One" and first.line == 1
    assert [p.is_title for p in script.chapters[1].paragraphs] == [True, False, False]
    assert script.chapters[1].paragraphs[0].line == 21
    assert [p.line for p in script.chapters[0].paragraphs[2:5]] == [5, 6, 7]


def test_markdown_text_before_first_heading():
    script = parse_markdown("Preface text.\n\n# Start\n\nBody.\n")
    assert outline(script) == [(None, ["Preface text."]), ("Start", ["Start", "Body."])]
    assert outline(parse_markdown("# Start\n\nBody.\n"))[0][0] == "Start"


def test_markdown_setext_heading():
    assert outline(parse_markdown("Title\n=====\n\ntext\n")) == [("Title", ["Title", "text"])]


def test_tags_kept_by_parse_and_stripped():
    script = parse_markdown("He said [laugh] that was *funny* [clear throat] okay.\n")
    text = script.paragraphs[0].text
    assert text == "He said [laugh] that was funny [clear throat] okay."
    assert strip_tags(text) == ("He said that was funny okay.", ["[laugh]", "[clear throat]"])
    assert parse_plain("Hi [sigh] there").paragraphs[0].text == "Hi [sigh] there"


def test_tag_regex():
    assert TAG_RE.fullmatch("[laugh]") and TAG_RE.fullmatch("[clear throat]")
    assert not TAG_RE.fullmatch("[Laugh]") and not TAG_RE.fullmatch("[1]")
    assert strip_tags("no tags  here") == ("no tags here", [])


def test_parse_source():
    assert outline(parse_source("# A", "markdown")) == [("A", ["A"])]
    assert outline(parse_source("# A", "plain")) == [(None, ["# A"])]


def test_parse_source_unknown_kind():
    with pytest.raises(ValueError):
        parse_source("x", "html")


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_markdown_never_raises(source):
    script = parse_markdown(source)
    assert all(p.text and p.text == " ".join(p.text.split()) for p in script.paragraphs)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab .\n\n\t\r\x0c\u2028\u00a0é"))) | st.text())
def test_plain_keeps_all_text(source):
    assert parse_plain(source).speakable_text() == " ".join(source.split())
