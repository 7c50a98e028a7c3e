"""Tests for sentence splitting and chunk packing (cbx_cli.plan.sentences)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cbx_cli.plan.english import ABBREVIATIONS
from cbx_cli.plan.sentences import chunk_text_report, split_long_words, split_sentences
from rejoin import rejoins


def collapse(text: str) -> str:
    return " ".join(text.split())


def chunk_text(text: str, max_chars: int) -> list[str]:
    return chunk_text_report(text, max_chars)[0]


def test_abbreviations_and_numbers_do_not_split():
    assert split_sentences("Dr. Smith arrived at 3.14 p.m. on the dot.") == [
        "Dr. Smith arrived at 3.14 p.m. on the dot."
    ]
    assert split_sentences("Use one, e.g. this one. Then stop.") == ["Use one, e.g. this one.", "Then stop."]
    assert split_sentences("Pick any, i.e. This one.") == ["Pick any, i.e. This one."]
    assert split_sentences("Mr. Brown paid $1,000.50 for it. Mrs. Brown did not.") == [
        "Mr. Brown paid $1,000.50 for it.",
        "Mrs. Brown did not.",
    ]
    assert split_sentences("Apples, pears, etc. were sold. We went to St. Louis.") == [
        "Apples, pears, etc. were sold.",
        "We went to St. Louis.",
    ]


def test_sentences_basic():
    assert split_sentences("  One.  Two?\n\nThree!   ") == ["One.", "Two?", "Three!"]
    assert split_sentences(" \n\t ") == []
    assert split_sentences("no punctuation at all") == ["no punctuation at all"]


def test_fallback_when_pysbd_alters_text():
    # pysbd uses these characters as internal placeholders and drops text around them.
    assert split_sentences("Hi ∯ there. Dr. Who &ᓰ& came. Yes") == ["Hi ∯ there.", "Dr. Who &ᓰ& came.", "Yes"]


def test_tags_stay_intact():
    text = "He paused. [clear throat] Then he spoke. [laugh] Fine."
    sentences = split_sentences(text)
    assert " ".join(sentences) == text
    assert all(s.count("[") == s.count("]") for s in sentences)
    pieces = chunk_text("word " * 8 + "[clear throat] " + "word " * 8, 45)
    assert any("[clear throat]" in p for p in pieces)


def test_packing_up_to_bound():
    text = "Aaaa bbbb. Cccc dddd. Eeee ffff. Gggg hhhh."  # sentences of 10 chars
    assert chunk_text(text, 21) == ["Aaaa bbbb. Cccc dddd.", "Eeee ffff. Gggg hhhh."]
    assert chunk_text(text, 20) == ["Aaaa bbbb.", "Cccc dddd.", "Eeee ffff.", "Gggg hhhh."]
    assert chunk_text(text, 400) == [text]
    assert chunk_text("", 100) == []


def test_long_sentence_splits_at_commas_then_words():
    sentence = (
        "The quick brown fox, which was quick, jumped over the lazy dog; "
        "and then it ran across a very long field without stopping once to rest at all"
    )
    pieces, word_splits = chunk_text_report(sentence, 40)
    assert " ".join(pieces) == sentence
    assert pieces[:3] == [
        "The quick brown fox, which was quick,",
        "jumped over the lazy dog;",
        "and then it ran across a very long field",
    ]
    assert all(len(p) <= 40 for p in pieces)
    assert word_splits == 1
    assert chunk_text("alpha, beta, gamma", 100) == ["alpha, beta, gamma"]
    assert chunk_text_report("Short one. Another.", 40) == (["Short one. Another."], 0)


def test_clause_only_split_is_not_word_split():
    sentence = "one two three four five six, seven eight nine ten eleven twelve"
    pieces, word_splits = chunk_text_report(sentence, 40)
    assert pieces == ["one two three four five six,", "seven eight nine ten eleven twelve"]
    assert word_splits == 0


def test_overlong_word_is_cut_to_fit():
    word = "x" * 100
    assert chunk_text(f"Start here. {word} end.", 40) == ["Start here.", "x" * 40, "x" * 40, "x" * 20 + " end."]
    assert chunk_text("x" * 100_000, 250) == ["x" * 250] * 400


def test_overlong_word_is_cut_after_punctuation_and_never_inside_a_tag():
    url = "https://example.com/" + "a" * 30 + "/" + "b" * 30
    assert split_long_words([url], 60) == ["https://example.com/" + "a" * 30 + "/", "b" * 30]
    assert split_long_words(["y" * 37 + "[laugh]" + "z" * 10], 40) == ["y" * 37, "[laugh]" + "z" * 10]
    assert split_long_words(["e\u0301" * 30], 41) == ["e\u0301" * 20, "e\u0301" * 10]  # no accent cut off its letter


def test_number_with_comma_not_split():
    sentence = "We counted 1,000 birds and 2,500 bats and 3,000,000 ants in the garden today"
    pieces = chunk_text(sentence, 20)
    assert " ".join(pieces) == sentence
    assert any("1,000" in p for p in pieces) and any("3,000,000" in p for p in pieces)


def test_invalid_max_chars():
    with pytest.raises(ValueError):
        chunk_text("x", 0)


WORDS = st.sampled_from(
    "the cat Sat on a mat Dr. Mr. Mrs. Ms. St. e.g. i.e. etc. p.m. 3.14 1,000 1,000.50 42 U.S.A. end. "
    'Why? Yes! so, then; note: — – "quoted." (aside.) [laugh] [sigh] ... … café naïve Ünïcödé 日本語。 '
    "Привет. [ ] . , Mr e.g".split()
    + ["[clear throat]", "x" * 60, "∯", "&ᓰ&", "ȸ"]
)
SPACES = st.sampled_from([" ", "  ", "\n", "\n\n", "\t", " \r\n "])
TEXT = st.lists(st.tuples(st.one_of(WORDS, st.text(min_size=1, max_size=8)), SPACES), max_size=60).map(
    lambda parts: "".join(w + s for w, s in parts)
)


@settings(max_examples=200, deadline=None)
@given(TEXT)
def test_sentence_join_invariant(text):
    sentences = split_sentences(text)
    assert " ".join(sentences) == collapse(text)
    assert all(s and s == s.strip() for s in sentences)


@settings(max_examples=200, deadline=None)
@given(TEXT, st.integers(min_value=40, max_value=400))
def test_chunk_invariants(text, max_chars):
    chunks, word_splits = chunk_text_report(text, max_chars)
    assert rejoins(chunks, collapse(text))
    assert all(chunks)
    assert all(len(c) <= max_chars for c in chunks)
    assert word_splits >= 0


@settings(max_examples=200, deadline=None)
@given(st.text(), st.integers(min_value=1, max_value=80))
def test_long_sentence_join_invariant(sentence, max_chars):
    pieces = chunk_text(sentence, max_chars)
    assert rejoins(pieces, collapse(sentence))
    assert all(p for p in pieces)
    assert all(len(p) <= max_chars for p in pieces)


@pytest.mark.parametrize("entry", list(ABBREVIATIONS.values()), ids=lambda a: a.written)
def test_no_abbreviation_in_the_table_ends_a_sentence_that_runs_on(entry):
    written = entry.written.capitalize()
    assert split_sentences(f"We saw {written} and more after it.") == [f"We saw {written} and more after it."]
    if not entry.may_end_sentence:
        assert split_sentences(f"We saw {written} Smith there.") == [f"We saw {written} Smith there."]
