"""Tests for normalize() as a whole: the rule order, tags, languages, the lexicon, and properties.

Each kind of rule has its own table of cases in test_normalize_<kind>.py.
"""

import importlib
import pkgutil

from hypothesis import assume, given, settings
from hypothesis import strategies as st

import cbx_cli.plan.normalize as package
from cbx_cli.plan.lexicon import Lexicon
from cbx_cli.plan.normalize import RULES, Rule, normalize, normalize_mapped, normalize_text, resolve_language


def test_every_rule_is_in_the_run_order_once():
    defined = []
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for value in vars(module).values():
            group = value if isinstance(value, tuple) else (value,)  # a module may define one rule per language
            defined += [rule for rule in group if isinstance(rule, Rule)]
    assert len(RULES) == len(set(map(id, RULES)))
    assert {id(rule) for rule in defined} == {id(rule) for rule in RULES}


def test_tags_are_untouched():
    assert normalize("[laugh] 42 [pause 1.5s] ok") == "[laugh] forty-two [pause 1.5s] ok"
    assert normalize("[clear throat] Dr. Who [pause 2s]") == "[clear throat] Doctor Who [pause 2s]"
    assert normalize("[pause 10s]") == "[pause 10s]"


def test_other_languages():
    cases = [
        ("42", "quarante-deux"),
        ("-3", "moins trois"),
        ("3,14", "trois virgule un quatre"),
        ("3,50 €", "trois euros et cinquante centimes"),
        ("1.000 €", "mille euros"),
        ("50 %", "cinquante pour cent"),
        ("en 1984", "en mille neuf cent quatre-vingt-quatre"),
    ]
    for text, expected in cases:
        assert normalize(text, "fr") == expected, text
    assert normalize("42 und 3,5", "de") == "zweiundvierzig und drei Komma fünf"
    assert normalize("42", "pt-BR") == "quarenta e dois"


def test_unsupported_language_is_left_as_written():
    assert resolve_language("zh") is None
    assert normalize("I have 42 cats, Dr. Li.", "zh") == "I have 42 cats, Dr. Li."
    lexicon = Lexicon({"Li": "Lee"})
    assert normalize("42 Li", "zh", lexicon) == "42 Lee"


def test_resolve_language():
    assert resolve_language("en") == "en"
    assert resolve_language("EN-us") == "en"
    assert resolve_language("en_IN") == "en_IN"
    assert resolve_language("pt-br") == "pt_BR"
    assert resolve_language("fr") == "fr"


def test_lexicon_applies_before_numbers_and_not_inside_tags():
    lexicon = Lexicon({"R2": "Artoo", "laugh": "laff"})
    assert normalize("R2 has 2 [laugh] laugh", lexicon=lexicon) == "Artoo has two [laugh] laff"


@settings(max_examples=300, deadline=None)
@given(st.text(), st.sampled_from(["en", "fr", "de", "ja", "zh", "ru"]))
def test_normalize_never_raises_and_keeps_something_to_say(text: str, language: str):
    result = normalize(text, language, Lexicon({"Nguyen": "Win"}))
    assert isinstance(result, str)
    if any(ch.isalnum() for ch in text):
        assert result.strip()


_NUMBERISH = st.text(alphabet="0123456789.,:-–$£€%apm ", max_size=30)


def _tokens(text: str) -> list[str]:
    return [t.strip("\"'()[].,;:!?") for t in text.split()]


@settings(max_examples=300, deadline=None)
@given(_NUMBERISH)
def test_figures_left_are_whole_tokens_as_written(text: str):
    """A figure is either said in words or left in a token exactly as it was written, never read in part."""
    result = normalize_text(text)
    written = set(_tokens(text))
    for token in _tokens(result.spoken):
        if any(ch.isdigit() for ch in token):
            assert token in written, (text, result.spoken)
    assert all(any(ch.isdigit() for ch in token) for token in result.left_as_written)


_JUNK = st.text(alphabet="bcdfghjklqwxz", min_size=4, max_size=8)
"""Words no rule understands (no vowels, so never an abbreviation, a unit or a numeral)."""
_NOT_UNDERSTOOD = ["1.2.3.4", "x86-64", "A4/B5", "3/4/5/6", "12,34", "1-2-3", "a1b2c3-4", "v2.0.1.7", "1..2"]
_UNDERSTOOD = ["5", "$3.50", "10km", "5-10", "Chapter IX", "3/4", "7:30pm", "2nd", "1990s", "I", "(555) 010-2233"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_JUNK, st.sampled_from(_NOT_UNDERSTOOD + _UNDERSTOOD)), min_size=1, max_size=12))
def test_words_not_understood_are_never_dropped_or_doubled(words: list[str]):
    text = " ".join(words)
    result = normalize_text(text)
    said = result.spoken.split()
    for word in set(words) - set(_UNDERSTOOD):
        assert said.count(word) == words.count(word), (text, result.spoken)
    assert sorted(result.left_as_written) == sorted(w for w in words if w in _NOT_UNDERSTOOD)


_DIGIT_WORDS = dict(enumerate("zero one two three four five six seven eight nine".split()))


def _digit_words(token: str) -> set[str]:
    return {_DIGIT_WORDS[int(ch)] for ch in token if ch in "0123456789"}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_NOT_UNDERSTOOD), st.integers(0, 9).map(str)), min_size=1, max_size=10))
def test_no_figure_stands_next_to_its_own_words(words: list[str]):
    """Never "5 five": a figure left as written is not also said beside it."""
    for a, b in zip(words, words[1:], strict=False):
        assume(not (_digit_words(a) & _digit_words(b)))
    spoken = normalize(" ".join(words)).split()
    for i, token in enumerate(spoken):
        neighbours = {w.strip(",.") for w in spoken[max(0, i - 1) : i] + spoken[i + 1 : i + 2]}
        assert not (_digit_words(token) & neighbours), (words, spoken)


def test_tokens_not_understood_are_listed():
    result = normalize_text("Use 1.2.3.4 or x86-64, not A4/B5 (3/4/5/6); 5 is fine.")
    assert result.left_as_written == ("1.2.3.4", "x86-64", "A4/B5", "3/4/5/6")
    assert result.spoken == "Use 1.2.3.4 or x86-64, not A4/B5 (3/4/5/6); five is fine."


def test_language_without_number_words_lists_every_figure():
    result = normalize_text("2024年に3回", "zh")
    assert result.spoken == "2024年に3回"
    assert result.left_as_written == ("2024", "3")


@given(st.one_of(_NUMBERISH, st.text(max_size=40)), st.sampled_from(["en", "fr", "de", "zh"]))
def test_the_mapped_reading_is_the_reading_and_maps_every_character_into_the_text_in_order(text: str, language: str):
    """What verification reads a transcript with: the same words `normalize` says, each character mapped to a span
    of the input, in the input's order."""
    assume(not any("\ue000" <= ch <= "\uf8ff" or ch >= "\U000f0000" for ch in text))  # tag placeholders
    assume("[" not in text)  # tags become spaces there, placeholders here
    mapped = normalize_mapped(text, language)
    assert mapped.spoken == normalize(text, language)
    assert len(mapped.origins) == len(mapped.spoken)
    assert all(0 <= start < end <= len(text) for start, end in mapped.origins)
    assert [start for start, _ in mapped.origins] == sorted(start for start, _ in mapped.origins)


def test_the_mapped_reading_maps_a_figures_words_to_the_figure():
    text = "Paid $3.50 on March 4, 1999 at 7.30am."
    mapped = normalize_mapped(text)
    assert mapped.spoken == ("Paid three dollars and fifty cents on March fourth, nineteen ninety-nine at seven thirty"
                             " a m.")
    read: dict[tuple[int, int], str] = {}
    for ch, origin in zip(mapped.spoken, mapped.origins, strict=True):
        read[origin] = read.get(origin, "") + ch
    assert {text[a:b]: words for (a, b), words in read.items() if b - a > 1} == {
        "$3.50": "three dollars and fifty cents", "March 4, 1999": "March fourth, nineteen ninety-nine",
        "7.30am.": "seven thirty a m."}
    assert all(text[a:b] == ch for (a, b), ch in read.items() if b - a == 1)  # left alone: itself


def test_the_mapped_reading_reads_other_scripts_digits_as_normalize_does():
    """A transcript in other digits (١٢, १२) is read as the plan reads them, and its words map to those digits."""
    text = "Paid $٣.٥٠ at १२ pm; H₂O."
    mapped = normalize_mapped(text)
    assert mapped.spoken == normalize(text) == "Paid three dollars and fifty cents at twelve p m; H₂O."
    assert {text[a:b] for a, b in mapped.origins if b - a > 1} == {"$٣.٥٠", "१२ pm"}


def test_what_is_left_as_written_is_listed_whatever_its_figures():
    result = normalize_text("It hit 1e5-2e5 and 1st-99th; H₂O; chapter Ⅻ; 25:61.")
    assert result.left_as_written == ("1e5-2e5", "1st-99th", "H₂O", "Ⅻ", "25:61")
    assert normalize_text("٣ تفاحات", "xx").left_as_written == ("٣",)  # a language without number words


_FIGURE_ISH = st.text(alphabet="0123456789eE.,:-+$%ampst ²₂٣١Ⅻ", max_size=24)


@settings(max_examples=400, deadline=None)
@given(_FIGURE_ISH)
def test_every_figure_is_said_or_listed(text: str):
    """Whatever holds a figure (a digit of any script, a superscript, a numeral) is read in words or left whole, as
    written, and listed: the plan names everything the model will read as figures."""
    result = normalize_text(text)
    written = set(_tokens(text))
    for token in _tokens(result.spoken):
        if any(ch.isnumeric() for ch in token):
            assert token in written and token in result.left_as_written, (text, result)
