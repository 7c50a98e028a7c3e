"""Tests for sentence splitting and chunk packing (cbx_cli.plan.sentences)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cbx_cli.plan.english import ABBREVIATIONS
from cbx_cli.plan.sentences import chunk_text_report, split_long_words, split_sentences, spoken_length
from rejoin import rejoins


def collapse(text: str) -> str:
    return " ".join(text.split())


def chunk_text(text: str, max_chars: int, language: str | None = None) -> list[str]:
    return chunk_text_report(text, max_chars, language)[0]


def assert_tiles(pieces: list[str], text: str) -> None:
    """The pieces, in order, with the single space or nothing that stood between them, are the text exactly."""
    assert all(piece and piece == piece.strip() for piece in pieces), pieces
    assert rejoins(pieces, collapse(text)), (pieces, collapse(text))


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
    def cut(word: str, max_chars: int) -> list[str]:
        return [word[a:b] for a, b in split_long_words(word, [(0, len(word))], max_chars)]

    url = "https://example.com/" + "a" * 30 + "/" + "b" * 30
    assert cut(url, 60) == ["https://example.com/" + "a" * 30 + "/", "b" * 30]
    assert cut("y" * 37 + "[laugh]" + "z" * 10, 40) == ["y" * 37, "[laugh]" + "z" * 10]
    assert cut("e\u0301" * 30, 41) == ["e\u0301" * 20, "e\u0301" * 10]  # no accent cut off its letter


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


CJK = st.lists(
    st.sampled_from([*"今日は晴れです明日雨本当你好我很。！？、，；「」", "42", "AI", "[laugh]"]),
    max_size=80,
).map("".join)
LANGUAGES = st.sampled_from([None, "en", "ja", "zh", "ko", "fi", "tr", "pt", "de", "he", "sw"])


@settings(max_examples=200, deadline=None)
@given(st.one_of(TEXT, CJK), LANGUAGES)
def test_sentence_join_invariant(text, language):
    assert_tiles(split_sentences(text, language), text)


@settings(max_examples=200, deadline=None)
@given(st.one_of(TEXT, CJK, st.lists(st.one_of(TEXT, CJK), max_size=3).map(" ".join)),
       st.integers(min_value=40, max_value=400), LANGUAGES)
def test_chunk_invariants(text, max_chars, language):
    chunks, word_splits = chunk_text_report(text, max_chars, language)
    assert_tiles(chunks, text)
    assert all(spoken_length(c) <= max_chars or len(c) == 1 for c in chunks)  # one wide character
    assert word_splits >= 0


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(), CJK), st.integers(min_value=1, max_value=80), LANGUAGES)
def test_long_sentence_join_invariant(sentence, max_chars, language):
    pieces = chunk_text(sentence, max_chars, language)
    assert_tiles(pieces, sentence)
    assert all(spoken_length(p) <= max_chars or len(p) == 1 for p in pieces)


@pytest.mark.parametrize("entry", list(ABBREVIATIONS.values()), ids=lambda a: a.written)
def test_no_abbreviation_in_the_table_ends_a_sentence_that_runs_on(entry):
    written = entry.written.capitalize()
    assert split_sentences(f"We saw {written} and more after it.") == [f"We saw {written} and more after it."]
    if not entry.may_end_sentence:
        assert split_sentences(f"We saw {written} Smith there.") == [f"We saw {written} Smith there."]


SENTENCES_BY_LANGUAGE = [
    ("ja", "今日は晴れです。明日は雨でしょう！本当？はい。",
     ["今日は晴れです。", "明日は雨でしょう！", "本当？", "はい。"]),
    ("zh", "你好。我很好！你呢？「好。」再见。", ["你好。", "我很好！", "你呢？", "「好。」", "再见。"]),
    ("ko", "안녕하세요. 저는 학생입니다! 정말요? 네.", ["안녕하세요.", "저는 학생입니다!", "정말요?", "네."]),
    ("tr", "Dr. Ahmet geldi. 3. sınıfta okuyor. Sonra gitti.",
     ["Dr. Ahmet geldi.", "3. sınıfta okuyor.", "Sonra gitti."]),
    ("fi", "Hän tuli 3. päivänä. Esim. tämä on hyvä. Loppu.",
     ["Hän tuli 3. päivänä.", "Esim. tämä on hyvä.", "Loppu."]),
    ("he", "שלום. מה שלומך? אני בסדר.", ["שלום.", "מה שלומך?", "אני בסדר."]),
    ("pt", "O Sr. Silva chegou. A Dra. Costa saiu! Fim.", ["O Sr. Silva chegou.", "A Dra. Costa saiu!", "Fim."]),
    ("sv", "Vi köpte t.ex. äpplen. Sedan gick vi hem.", ["Vi köpte t.ex. äpplen.", "Sedan gick vi hem."]),
    ("no", "Vi så f.eks. en elg. Den var stor.", ["Vi så f.eks. en elg.", "Den var stor."]),
    ("ms", "Dr. Ali datang. Dia membawa buku, pen dll. untuk kelas. Terima kasih.",
     ["Dr. Ali datang.", "Dia membawa buku, pen dll. untuk kelas.", "Terima kasih."]),
    ("sw", "Bw. Juma alifika. Alileta chakula. Asante!", ["Bw. Juma alifika.", "Alileta chakula.", "Asante!"]),
    ("de", "Am 3. Mai kam er. Dr. Müller ging.", ["Am 3. Mai kam er.", "Dr. Müller ging."]),
    ("el", "Γεια σου. Τι κάνεις; Καλά.", ["Γεια σου.", "Τι κάνεις;", "Καλά."]),
    ("hi", "नमस्ते। आप कैसे हैं? मैं ठीक हूँ।", ["नमस्ते।", "आप कैसे हैं?", "मैं ठीक हूँ।"]),
    ("ar", "مرحبا. كيف حالك؟ أنا بخير.", ["مرحبا.", "كيف حالك؟", "أنا بخير."]),
]


@pytest.mark.parametrize(("language", "text", "sentences"), SENTENCES_BY_LANGUAGE, ids=lambda v: str(v)[:8])
def test_each_language_splits_by_its_own_rules(language, text, sentences):
    assert split_sentences(text, language) == sentences


def test_chinese_quoted_in_any_language_is_split_after_its_own_marks():
    for language in (None, "en", "zh", "fi"):
        assert split_sentences("He said: 你好。我很好！ Then left.", language) == [
            "He said: 你好。", "我很好！", "Then left."
        ], language


def test_cjk_chunks_count_characters_as_their_spoken_length():
    sentence = "今日は本当に良い天気ですね、" * 6 + "終わり。"
    chunks, splits = chunk_text_report(sentence, 60, "ja")
    assert "".join(chunks) == sentence
    assert all(spoken_length(c) <= 60 for c in chunks)
    assert all(c.endswith("、") for c in chunks[:-1]) and splits == 0
    assert spoken_length("漢字") == 6 and spoken_length("かな") == 4 and spoken_length("ab") == 2


def test_cjk_without_punctuation_splits_between_characters_not_inside_tags_or_numbers():
    text = "我" * 30 + "[laugh]" + "你" * 30 + "2024"
    chunks, splits = chunk_text_report(text, 40, "zh")
    assert "".join(chunks) == text and splits == 1
    assert any("[laugh]" in c for c in chunks) and any("2024" in c for c in chunks)
