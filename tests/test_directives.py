"""Script directives (<!-- cbx: ... -->), the voices they name, and no text lost to any direction."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cbx_cli.errors import InputError
from cbx_cli.parse.directives import check_voices
from cbx_cli.parse.markdown import parse_markdown
from cbx_cli.parse.plain import parse_plain
from cbx_cli.parse.script import BlockOverrides, Paragraph

BOOK = """\
Before any heading.

<!-- cbx: voice=narrator preset=audiobook -->
# One

First paragraph.

<!-- cbx: exaggeration=0.9 seed=7 -->
Second paragraph.

Third paragraph.

<!-- cbx: voice=hero -->
- item a
- item b

# Two

Untouched.
"""


def texts(script):
    return [p.text for p in script.paragraphs]


def by_text(script) -> dict[str, Paragraph]:
    return {p.text: p for p in script.paragraphs}


def test_section_and_paragraph_directives():
    script = parse_markdown(BOOK)
    p = by_text(script)
    section = BlockOverrides(voice="narrator", preset="audiobook", line=3)
    assert p["Before any heading."].overrides is None
    assert p["One"].is_title and p["One"].overrides == section
    assert p["First paragraph."].overrides == section
    assert p["Second paragraph."].overrides == BlockOverrides(
        voice="narrator", preset="audiobook", exaggeration=0.9, seed=7, line=8
    )
    assert p["Third paragraph."].overrides == section  # a paragraph directive is for that paragraph only
    assert p["item a"].overrides == BlockOverrides(voice="hero", preset="audiobook", line=13)
    assert p["item b"].overrides == section
    assert p["Two"].overrides is None and p["Untouched."].overrides is None  # the next heading ends the section
    assert [d.line for d in script.directives] == [3, 8, 13]
    assert texts(script) == [
        "Before any heading.", "One", "First paragraph.", "Second paragraph.", "Third paragraph.",
        "item a", "item b", "Two", "Untouched.",
    ]


def test_directive_values_and_forms():
    source = (
        "<!-- cbx: model=turbo -->\n<!-- cbx: voice=\"voices/my voice.wav\" -->\n"
        "<!-- cbx:\n   exaggeration=2 seed=0 -->\nText.\n"
    )
    para = parse_markdown(source).paragraphs[0]
    assert para.overrides == BlockOverrides(voice="voices/my voice.wav", exaggeration=2.0, seed=0, model="turbo",
                                            line=3)
    # later directives in a row merge over earlier ones
    para = parse_markdown("<!-- cbx: voice=a seed=1 -->\n<!-- cbx: voice=b -->\n\nText.\n").paragraphs[0]
    assert para.overrides == BlockOverrides(voice="b", seed=1, line=2)


def test_other_comments_stay_unspoken():
    source = "<!-- a note -->\n\n# Title\n\n<!-- cbx note without colon -->\nText <!-- inline --> here.\n"
    script = parse_markdown(source)
    assert texts(script) == ["Title", "Text here."]
    assert all(p.overrides is None for p in script.paragraphs)
    assert "note" not in script.speakable_text() and "<!--" not in script.speakable_text()


def test_directive_inside_code_is_not_a_directive():
    script = parse_markdown("```\n<!-- cbx: voise=x -->\n[pause x]\n```\n\nText `[pause 1s]` here.\n")
    assert texts(script) == ["Text [pause 1s] here."]
    assert script.paragraphs[0].pause_after is None and script.directives == ()


def error(source: str, name: str | None = None, plain: bool = False) -> str:
    with pytest.raises(InputError) as info:
        (parse_plain if plain else parse_markdown)(source, name)
    return info.value.message


PAD = "Text.\n\n" * 5 + "\n"  # puts the next line at line 12


@pytest.mark.parametrize(
    "directive, message",
    [
        (
            "voise=hero",
            "unknown directive 'voise' in <!-- cbx: ... -->. Known: exaggeration, model, preset, seed, voice.",
        ),
        ("exaggeration=loud", "exaggeration=loud in <!-- cbx: ... --> is not a number from 0 to 2."),
        ("exaggeration=2.5", "exaggeration=2.5 in <!-- cbx: ... --> is not a number from 0 to 2."),
        ("seed=-3", "seed=-3 in <!-- cbx: ... --> is not a whole number from 0 to 9223372036854775807."),
        ("seed=1.5", "seed=1.5 in <!-- cbx: ... --> is not a whole number from 0 to 9223372036854775807."),
        ("seed=9223372036854775808", "seed=9223372036854775808 in <!-- cbx: ... --> is not a whole number from 0 to "
                                     "9223372036854775807."),
        ("model=fast", "model=fast in <!-- cbx: ... --> is not a model. Known: multilingual, original, turbo."),
        ("voice", "'voice' in <!-- cbx: ... --> is not key=value. Write, for example, voice=narrator."),
        ("voice=", "voice= in <!-- cbx: ... --> has no value. Write voice=VALUE."),
        ("seed=1 seed=2", "'seed' is set twice in one <!-- cbx: ... -->. Keep one."),
        ("", "empty <!-- cbx: ... -->. Write key=value settings, such as voice=narrator."),
        ('voice="a b', 'unbalanced quotes in <!-- cbx: ... -->. Quote a value with spaces as voice="my voice.wav".'),
    ],
)
def test_directive_errors_name_the_line(directive, message):
    source = f"{PAD}<!-- cbx: {directive} -->\n\nMore.\n"
    assert error(source) == f"line 12: {message}"
    assert error(source, "chapter.md") == f"chapter.md:12: {message}"


def test_misplaced_directives():
    assert error("Some text <!-- cbx: voice=a --> more.\n", "c.md") == (
        "c.md:1: put <!-- cbx: ... --> on a line of its own, before the heading or paragraph it applies to."
    )
    assert error("One\ntwo <!-- cbx: voice=a -->\n") == (
        "line 2: put <!-- cbx: ... --> on a line of its own, before the heading or paragraph it applies to."
    )
    # CommonMark would swallow the words after the comment into the HTML block: refuse rather than lose them
    assert error("Intro.\n\n<!-- cbx: voice=a --> Spoken words?\n") == (
        "line 3: put <!-- cbx: ... --> on a line of its own: text next to it would not be spoken."
    )
    assert error("Intro.\n\n<!-- cbx: voice=a\n\nAll the rest.\n") == (
        "line 3: <!-- cbx: ... --> is not closed: end it with -->."
    )


def test_check_voices():
    script = parse_markdown(
        "<!-- cbx: voice=narrator -->\n# A\n\n<!-- cbx: voice=./hero.wav -->\nB\n\n"
        "<!-- cbx: voice=https://example.com/v.wav -->\nC\n\n<!-- cbx: seed=3 -->\nD\n" + PAD
        + "<!-- cbx: voice=hero -->\nE\n"
    )
    check_voices(script, {"narrator", "hero"}, "chapter.md")
    with pytest.raises(InputError) as info:
        check_voices(script, {"narrator"}, "chapter.md")
    assert info.value.message == "chapter.md:23: unknown voice 'hero'. Add it with: cbx voices add hero FILE"
    with pytest.raises(InputError) as info:
        check_voices(script, {"hero"}, None)
    assert info.value.message == "line 1: unknown voice 'narrator'. Add it with: cbx voices add narrator FILE"
    with pytest.raises(InputError) as info:
        check_voices(parse_markdown("<!-- cbx: voice=hero.wav -->\nX\n"), set(), "c.md")
    assert info.value.message == (
        "c.md:1: unknown voice 'hero.wav'. Name a voice from 'cbx voices list', a file path with a folder "
        "(./hero.wav) or an http(s) URL."
    )


# -- no text lost -------------------------------------------------------------------------------

WORDS = st.sampled_from(["alpha", "beta.", "Gamma,", "delta!", "e", "[laugh]", "x1"])
PAUSES = st.sampled_from(["[pause 1s]", "[pause 250ms]", "[pause 2]", "[pause .5s]"])
BREAKS = st.sampled_from(["\n", "\n\n"])
DIRECTIONS_RE = re.compile(r"\[pause [^\]]*\]|<!-- cbx:[^>]*-->|^\s*\*\*\*\s*$", re.MULTILINE)


def direction_free(source: str) -> str:
    return " ".join(DIRECTIONS_RE.sub(" ", source).split())


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(WORDS, PAUSES, BREAKS, st.just("\n\n***\n\n")), max_size=40))
def test_plain_loses_no_text(tokens):
    source = " ".join(tokens)
    script = parse_plain(source)
    assert script.speakable_text() == direction_free(source)
    assert all(p.text for p in script.paragraphs)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(WORDS, PAUSES, BREAKS, st.just("\n\n***\n\n"), st.just("\n\n<!-- cbx: voice=a seed=2 -->\n")),
        max_size=40,
    )
)
def test_markdown_loses_no_text(tokens):
    source = " ".join(tokens)
    script = parse_markdown(source)
    assert script.speakable_text() == direction_free(source)
    assert len(script.directives) == source.count("<!-- cbx:")
