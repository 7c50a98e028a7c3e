"""Tests for parsing Markdown into a Script."""

from hypothesis import given, settings
from hypothesis import strategies as st

from cbx_cli.errors import InputError
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
    # a broken directive (`<!-- cbx:` unclosed, empty or not key=value) is the user's to fix: one line, no crash
    try:
        script = parse_markdown(source)
    except InputError as exc:
        assert "<!-- cbx: ... -->" in exc.message and "\n" not in exc.message
        return
    assert all(p.text and p.text == " ".join(p.text.split()) for p in script.paragraphs)


def test_table_rows_are_spoken_without_pipes():
    script = parse_markdown("| Name | Age |\n|------|----:|\n| Alice | 30 |\n| Bob `[pause 1s]` | |\n\nAfter.\n")
    assert [p.text for p in script.paragraphs] == ["Name, Age", "Alice, 30", "Bob [pause 1s]", "After."]
    assert [p.line for p in script.paragraphs] == [1, 3, 4, 6]
    assert "|" not in script.speakable_text() and not script.warnings


def test_front_matter_is_metadata_not_speech():
    source = "---\ntitle: The Long Road\nauthor: [Ann Lee, Bo Chen]\ndraft: true\n---\n# One\n\nIt began.\n"
    script = parse_markdown(source, "b.md")
    assert outline(script) == [("One", ["One", "It began."])]
    assert script.metadata == {"title": "The Long Road", "author": "Ann Lee, Bo Chen"}
    assert script.paragraphs[0].line == 6 and not script.warnings


def test_front_matter_that_is_not_yaml_is_named_not_spoken():
    cases = (("title: ok\nauthor: a: b\n", "line 3 is not valid YAML"), ("a: &x 1\nb: *x\n", "YAML alias (*x)"))
    for body, reason in cases:
        script = parse_markdown(f"---\n{body}---\nText.\n", "b.md")
        assert [p.text for p in script.paragraphs] == ["Text."] and script.metadata == {}
        assert script.warnings[0].startswith("b.md:1: front matter is not read, and not spoken: ")
        assert reason in script.warnings[0]


def test_a_separator_and_heading_are_not_front_matter():
    assert outline(parse_markdown("---\nJust a line.\n---\n")) == [("Just a line.", ["Just a line."])]


def test_hidden_text_is_named_with_its_line():
    source = ("Intro.\n\n<div>\nSecret words.\n</div>\n\n```\ncode\n```\n\n    indented\n\n"
              "<!-- note never closed\n\nLost paragraph.\n")
    script = parse_markdown(source, "c.md")
    assert [p.text for p in script.paragraphs] == ["Intro."]
    assert script.warnings == (
        "c.md:3: text inside an HTML block is not spoken ('Secret words.'); write it as Markdown, outside the HTML, to "
        "have it spoken.",
        "c.md:13: an HTML comment opened here is never closed, so the 2 line(s) after it are not spoken. Close it "
        "with -->.",
        "c.md: 2 code block(s) are not spoken (lines 7, 11).",
    )


def test_unclosed_fence_is_named_with_its_line():
    script = parse_markdown("# One\n\nSpoken.\n\n~~~~\nnot closed\n\n# Two\n\nLost.\n", "c.md")
    assert [p.text for p in script.paragraphs] == ["One", "Spoken."]
    assert script.warnings == ("c.md:5: this code fence is never closed, so the 5 line(s) after it are read as code "
                               "and not spoken. Close it with ~~~~.",)


def test_comments_and_directives_are_silent_without_warnings():
    script = parse_markdown("<!-- a note -->\n\n<!-- cbx: seed=3 -->\nText.\n")
    assert [p.text for p in script.paragraphs] == ["Text."] and not script.warnings


def test_any_nesting_depth_is_read_to_the_end():
    items = "\n".join("  " * i + f"- item {i}" for i in range(400))
    quotes = ">" * 3000 + " deep quote"
    inline_lists = "- " * 1000 + "deep item"
    script = parse_markdown(f"# One\n\n{items}\n\n{quotes}\n\n{inline_lists}\n\n# Two\n\nLast.\n")
    texts = [p.text for p in script.paragraphs]
    assert texts == ["One", *(f"item {i}" for i in range(400)), "deep quote", "deep item", "Two", "Last."]
    assert [p.line for p in script.paragraphs[400:]] == [402, 404, 406, 408, 410]


def test_toml_front_matter_is_metadata_too():
    script = parse_markdown('+++\ntitle = "Hugo Book"\nauthor = ["A. Writer"]\n+++\nText.\n')
    assert script.metadata == {"title": "Hugo Book", "author": "A. Writer"}
    assert [p.text for p in script.paragraphs] == ["Text."] and script.paragraphs[0].line == 5
