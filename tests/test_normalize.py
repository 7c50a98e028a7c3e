"""Tests for normalize() as a whole: the rule order, tags, languages, the lexicon, and properties.

Each kind of rule has its own table of cases in test_normalize_<kind>.py.
"""

import importlib
import pkgutil

from hypothesis import given, settings
from hypothesis import strategies as st

import cbx_cli.plan.normalize as package
from cbx_cli.plan.lexicon import Lexicon
from cbx_cli.plan.normalize import RULES, Rule, normalize, resolve_language


def test_every_rule_is_in_the_run_order_once():
    defined = []
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        defined += [value for value in vars(module).values() if isinstance(value, Rule)]
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


@settings(max_examples=300, deadline=None)
@given(_NUMBERISH)
def test_english_numbers_leave_no_digits(text: str):
    assert not any(ch.isdigit() for ch in normalize(text))
