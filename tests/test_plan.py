"""Tests for planning: Markdown → script → chunks, and what the model reads for the sample book.

tests/data/sample_book_chunks.json holds, for every script of samples/book, each chunk's text as written and
as spoken (with the book's lexicon, at the default chunk bound of 250 characters and at 80). A difference
means the model now reads something else. When that is meant, write the file again with
``python tests/test_plan.py`` and review its diff.
"""

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cbx_cli.config.params import AssemblySettings, SynthesisParams
from cbx_cli.errors import InputError
from cbx_cli.parse.markdown import parse_markdown
from cbx_cli.plan.chunks import plan
from cbx_cli.plan.lexicon import Lexicon
from test_sentences import assert_tiles

BOOK = Path(__file__).resolve().parent.parent / "samples" / "book"
EXPECTED = Path(__file__).resolve().parent / "data" / "sample_book_chunks.json"
BOUNDS = (250, 80)


def planned_book() -> dict[str, dict[str, list[list[str]]]]:
    """Every sample script's chunks, as [text, spoken] pairs, per chunk bound."""
    lexicon = Lexicon.load(BOOK / "lexicon.yaml")
    book = {}
    for path in sorted(BOOK.glob("*.md")):
        script = parse_markdown(path.read_text(encoding="utf-8"), path.name)
        book[path.name] = {
            str(bound): [
                [c.text, c.spoken]
                for c in plan(script, SynthesisParams(), AssemblySettings(max_chars=bound), lexicon=lexicon).chunks
            ]
            for bound in BOUNDS
        }
    return book


def test_sample_book_is_read_as_recorded():
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))
    planned = planned_book()
    assert planned.keys() == expected.keys()
    for name, chunks in planned.items():
        for bound in chunks:
            assert chunks[bound] == expected[name][bound], f"{name} at {bound} characters"


_md_piece = st.one_of(
    st.text(min_size=1, max_size=40),
    st.sampled_from(["# Title\n", "\n\n", "- item one\n", "*em* ", "**strong** ", "[link](http://x.y) ", "Dr. ",
                     "3.14 ", "e.g. ", "[laugh] ", "`code` ", "```\ncode\n```\n", "<!-- note -->\n", "1,000 ",
                     "Mr. Smith said: \"Yes.\" ", "Wait... what?! ", "\u00e9t\u00e9 ", "\u4f60\u597d\u3002 ",
                     "今日は晴れです。明日は雨でしょう！", "我" * 90, "，", "03/11/1998 ", "x86-64 "]),
)


@given(st.lists(_md_piece, max_size=25).map("".join), st.integers(min_value=40, max_value=300),
       st.sampled_from([None, "ja", "zh", "fi"]))
@settings(max_examples=150, deadline=None)
def test_pipeline_loses_and_doubles_nothing(source, max_chars, language):
    """Markdown → script → planned chunks: the chunks of each paragraph are exactly its speakable text."""
    try:
        script = parse_markdown(source)
    except InputError:
        return  # a malformed [pause ...] tag is reported, not spoken
    settings_ = AssemblySettings(max_chars=max_chars)
    chunks = plan(script, SynthesisParams(), settings_, model="turbo", language=language).chunks
    by_paragraph: dict[tuple[int, int], list[str]] = {}
    for c in chunks:
        by_paragraph.setdefault((c.chapter, c.paragraph), []).append(c.text)
    for ci, chapter in enumerate(script.chapters):
        for pi, para in enumerate(chapter.paragraphs):
            if para.text.strip():
                assert_tiles(by_paragraph[(ci, pi)], para.text)


@pytest.mark.parametrize("model", ["original", "turbo"])
def test_tags_reach_only_the_model_that_speaks_them(model):
    script = parse_markdown("He laughed [laugh] and went on.\n")
    chunks = plan(script, SynthesisParams(), AssemblySettings(), model=model)
    spoken = " ".join(c.spoken for c in chunks.chunks)
    assert ("[laugh]" in spoken) == (model == "turbo")
    assert bool(chunks.warnings) == (model != "turbo")


if __name__ == "__main__":
    EXPECTED.write_text(json.dumps(planned_book(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
