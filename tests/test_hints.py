"""Tests for the name hints of cbx plan: capitalised words that may need a lexicon entry."""

from cbx_cli.plan.hints import unknown_words
from cbx_cli.plan.lexicon import Lexicon


def test_unknown_words():
    text = "Yesterday Nguyen met Dr. Siobhan at the Louvre. Then Bob's friend Anne said I like Paris. [laugh] Zoe"
    assert unknown_words(text, None) == ["Nguyen", "Siobhan", "Louvre"]  # Bob, Anne and Paris are read right
    assert unknown_words(text, Lexicon({"Nguyen": "Win"})) == ["Siobhan", "Louvre"]
    assert unknown_words("On Monday the English teacher came in March.", None) == []
    assert unknown_words("Aoife met Aoife.", None) == ["Aoife"]


def test_ordinary_capitalised_words_are_not_hinted():
    text = ("They walked down Harbour Road to the North Window Inn, past the Old Mill and the Lighthouse Keeper's "
            "Cottage. Later Mara and Lindqvist read the Ferry Log. The keeper said the Lamps were lit.")
    assert unknown_words(text, None) == ["Mara", "Lindqvist"]
    assert unknown_words("The boat ran on. Later the Boathouses shut, and Oisín came.", None) == ["Oisín"]
    assert unknown_words("She met Kowalczyk and the Brightwater crew.", None) == ["Kowalczyk"]
