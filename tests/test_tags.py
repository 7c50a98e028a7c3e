"""Tests for bracketed tags: the paralinguistic ones a model speaks, and every tag the normalizer leaves alone."""

from cbx_cli.parse.markdown import parse_markdown
from cbx_cli.parse.plain import parse_plain
from cbx_cli.parse.tags import BRACKET_TAG_RE, PARALINGUISTIC_TAG_RE, strip_tags


def test_tags_kept_by_parse_and_stripped():
    script = parse_markdown("He said [laugh] that was *funny* [clear throat] okay.\n")
    text = script.paragraphs[0].text
    assert text == "He said [laugh] that was funny [clear throat] okay."
    assert strip_tags(text) == ("He said that was funny okay.", ["[laugh]", "[clear throat]"])
    assert parse_plain("Hi [sigh] there").paragraphs[0].text == "Hi [sigh] there"


def test_tag_regex():
    assert PARALINGUISTIC_TAG_RE.fullmatch("[laugh]") and PARALINGUISTIC_TAG_RE.fullmatch("[clear throat]")
    assert not PARALINGUISTIC_TAG_RE.fullmatch("[Laugh]") and not PARALINGUISTIC_TAG_RE.fullmatch("[1]")
    assert strip_tags("no tags  here") == ("no tags here", [])


def test_bracket_tags_are_wider():
    for tag in ("[laugh]", "[Laugh]", "[pause 1.5s]", "[Music fades]"):
        assert BRACKET_TAG_RE.fullmatch(tag), tag
    for text in ("[1]", "[ laugh]", "[a\nb]", "[]"):
        assert not BRACKET_TAG_RE.fullmatch(text), text
    assert strip_tags("Wait [pause 1s] here") == ("Wait [pause 1s] here", [])
