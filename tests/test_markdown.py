"""Tests for parsing Markdown into a Script."""

from hypothesis import given, settings
from hypothesis import strategies as st

from cbx_cli.parse.markdown import parse_markdown
from cbx_cli.parse.script import Script


def outline(script: Script) -> list[tuple[str | None, list[str]]]:
    return [(c.title, [p.text for p in c.paragraphs]) for c in script.chapters]


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


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_markdown_never_raises(source):
    script = parse_markdown(source)
    assert all(p.text and p.text == " ".join(p.text.split()) for p in script.paragraphs)
