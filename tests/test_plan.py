"""Tests for planning: Markdown → script → chunks, and what the model reads for the sample book.

tests/data/sample_book_chunks.json holds, for every script of samples/book, each chunk's text as written and
as spoken (with the book's lexicon, at the default chunk bound of 250 characters and at 80). A difference
means the model now reads something else. When that is meant, write the file again with
``python tests/test_plan.py`` and review its diff.
"""

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cbx_cli.config.params import AssemblySettings, SynthesisParams
from cbx_cli.errors import InputError
from cbx_cli.parse.markdown import parse_markdown
from cbx_cli.plan.chunks import check_silence, plan
from cbx_cli.plan.lexicon import Lexicon
from clirun import run
from rejoin import rejoins

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
    assert_chunks_are_the_paragraphs(script, chunks, max_chars)


def assert_chunks_are_the_paragraphs(script, chunks, max_chars):
    by_paragraph: dict[tuple[int, int], list[str]] = {}
    for c in chunks:
        by_paragraph.setdefault((c.chapter, c.paragraph), []).append(c.text)
        assert len(c.text) <= max_chars
    for ci, chapter in enumerate(script.chapters):
        for pi, para in enumerate(chapter.paragraphs):
            assert rejoins(by_paragraph.get((ci, pi), []), " ".join(para.text.split()))


@dataclass
class Block:
    words: list[str]
    """The unique words (w0, w1, ...) the block holds."""
    hidden_at: int | None = None
    """None: spoken. Else the line a warning must name; 0 for a closed HTML comment, which is silent by design."""


@st.composite
def markdown_documents(draw):
    """Markdown of paragraphs, headings, lists and block quotes nested up to 150 deep, tables, closed and unclosed
    fences, indented code, HTML blocks and comments; with, for every word, where it must end up."""
    count = iter(range(10**6))
    lines: list[str] = []
    blocks: list[Block] = []
    previous = ""
    swallowed_at = None
    for kind in draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=12)):
        if swallowed_at is not None and kind in ("fence", "comment", "open fence", "open comment"):
            kind = "paragraph"  # would close what is left open
        start = len(lines) + 1
        words = [f"w{next(count)}" for _ in range(draw(st.integers(1, 40)))]
        body, hidden = render_block(kind, words, start, draw)
        if kind == "indented code" and previous == "list":
            hidden = None  # indented past the list's content column: a paragraph of its last item
        elif kind == "indented code" and previous == kind:
            hidden = blocks[-1].hidden_at  # blank lines do not end an indented code block
        if kind.startswith("open "):
            swallowed_at = start  # an unclosed fence or comment runs to the end of the document
        blocks.append(Block(words, swallowed_at or hidden))
        lines += body + [""]
        previous = kind
    return "\n".join(lines) + "\n", blocks


KINDS = ["paragraph", "heading", "list", "quote", "quoted list", "table", "fence", "indented code", "html",
         "comment", "long word", "open fence", "open comment"]


def render_block(kind: str, words: list[str], start: int, draw) -> tuple[list[str], int | None]:
    """The block's lines, and where it is hidden (see `Block.hidden_at`)."""
    text = " ".join(words)
    depth = draw(st.integers(1, 150))
    if kind == "heading":
        return ["# " + text], None
    if kind == "list":
        return ["  " * (i % depth) + "- " + w for i, w in enumerate(words)], None
    if kind == "quote":
        return [">" * (1 + i % depth) + " " + w for i, w in enumerate(words)], None
    if kind == "quoted list":
        return [">" * depth + " " + "  " * i + "- " + w for i, w in enumerate(words)], None
    if kind == "table":
        rows = [words[i : i + 3] for i in range(0, len(words), 3)]
        return ["| a | b | c |", "|---|---|---|"] + ["| " + " | ".join(r) + " |" for r in rows], None
    if kind == "fence":
        return ["```", text, "```"], start
    if kind == "indented code":
        return ["    " + text], start
    if kind == "html":
        return ["<div>", text, "</div>"], start
    if kind == "comment":
        return ["<!-- " + text + " -->"], 0
    if kind == "long word":
        return [words[0] + "x" * draw(st.integers(200, 2000)) + " " + " ".join(words[1:])], None
    if kind == "open fence":
        return ["```", text], start
    if kind == "open comment":
        return ["<!-- " + text], start
    return [text], None


@given(markdown_documents(), st.integers(min_value=40, max_value=300))
@settings(max_examples=120, deadline=None)
def test_every_word_of_markdown_is_spoken_or_named_in_a_warning(document, max_chars):
    """Deep nesting, tables, fences, HTML: every word is in the chunks, in order, or a warning names its line."""
    source, blocks = document
    script = parse_markdown(source, "doc.md")
    the_plan = plan(script, SynthesisParams(), AssemblySettings(max_chars=max_chars))
    assert_chunks_are_the_paragraphs(script, the_plan.chunks, max_chars)
    spoken = re.findall(r"w\d+", " ".join(c.text for c in the_plan.chunks))
    assert spoken == [w for b in blocks if b.hidden_at is None for w in b.words]
    warned = " ".join(the_plan.warnings)
    for block in blocks:
        if block.hidden_at:
            assert re.search(rf"doc\.md:{block.hidden_at}:|lines? (\d+, )*{block.hidden_at}\b", warned), block


@pytest.mark.parametrize("model", ["original", "turbo"])
def test_tags_reach_only_the_model_that_speaks_them(model):
    script = parse_markdown("He laughed [laugh] and went on.\n")
    chunks = plan(script, SynthesisParams(), AssemblySettings(), model=model)
    spoken = " ".join(c.spoken for c in chunks.chunks)
    assert ("[laugh]" in spoken) == (model == "turbo")
    assert bool(chunks.warnings) == (model != "turbo")


if __name__ == "__main__":
    EXPECTED.write_text(json.dumps(planned_book(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def test_a_word_longer_than_a_chunk_is_cut_with_a_warning():
    script = parse_markdown("Visit " + "w" * 100_000 + " today.\n")
    the_plan = plan(script, SynthesisParams(), AssemblySettings(max_chars=250))
    assert max(len(c.text) for c in the_plan.chunks) <= 250
    assert rejoins([c.text for c in the_plan.chunks], script.paragraphs[0].text)
    assert the_plan.warnings[-1] == ("1 word(s) longer than a chunk (250 characters) had to be cut into pieces, such "
                                     "as '" + "w" * 39 + "…'. Put spaces in them to choose where.")


def test_pauses_may_add_up_to_ten_minutes_or_the_speech():
    def planned(text):
        return plan(parse_markdown(text), SynthesisParams(), AssemblySettings())

    check_silence(planned("Wait. [pause 30s] " * 20 + "Done."))  # 10 minutes
    check_silence(planned(("Long sentence of speech that takes its time. " * 20 + "[pause 30s] ") * 30 + "Done."))
    with pytest.raises(InputError, match=r"^The script asks for 10\.5 min of pauses and about 0\.1 min of speech"):
        check_silence(planned("Wait. [pause 30s] " * 21 + "Done."))


def test_the_pause_bound_counts_the_chapters_chosen():
    """--chapters: the pauses the chosen chapters write are weighed against their speech, not the whole book's."""
    from cbx_cli.plan.chunks import select_chapters

    text = "# Quiet\n\n" + "Wait. [pause 30s] " * 21 + "Done.\n\n# Spoken\n\nA chapter of plain speech.\n"
    whole = plan(parse_markdown(text), SynthesisParams(), AssemblySettings())
    assert whole.written_pauses == 630.0
    check_silence(select_chapters(whole, (2,)))
    with pytest.raises(InputError, match=r"^The script asks for 10\.5 min of pauses"):
        check_silence(select_chapters(whole, (1,)))


def test_short_paragraphs_are_paragraph_breaks_not_pauses(tmp_path):
    """Thousands of one-word paragraphs: the preset's pause after each is no written pause, however they add up."""
    script = tmp_path / "lines.txt"
    script.write_text("Go.\n\n" * 3000)
    r = run(["plan", str(script), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["chunks"] == 3000


def test_cbx_plan_names_hidden_text_with_its_line(tmp_path):
    script = tmp_path / "c.md"
    script.write_text("---\ntitle: T\n---\n# One\n\nSpoken.\n\n```\nnever closed\n\nLost.\n")
    r = run(["plan", str(script)])
    assert r.exit_code == 0
    assert "warning: c.md:8: this code fence is never closed, so the 3 line(s) after it are read as code and not " \
           "spoken. Close it with ```." in r.stderr
    r = run(["plan", str(script), "--json"])
    assert json.loads(r.stdout)["warnings"][0].startswith("c.md:8: this code fence is never closed")
