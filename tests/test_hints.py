"""Tests for the name hints of cbx plan: capitalised words that may need a lexicon entry."""

from cbx_cli.plan.hints import unknown_words
from cbx_cli.plan.lexicon import Lexicon


def test_unknown_words():
    text = "Yesterday Nguyen met Dr. Siobhan at the Louvre. Then Bob's friend Anne said I like Paris. [laugh] Zoe"
    assert unknown_words(text, None) == ["Nguyen", "Siobhan", "Louvre", "Bob", "Anne", "Paris"]
    assert unknown_words(text, Lexicon({"Nguyen": "Win", "anne": "Ann"})) == ["Siobhan", "Louvre", "Bob", "Paris"]
    assert unknown_words("On Monday the English teacher came in March.", None) == []
    assert unknown_words("Anne met Anne.", None) == ["Anne"]
