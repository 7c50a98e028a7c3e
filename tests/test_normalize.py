"""Tests for text normalization (numbers, dates, abbreviations), the pronunciation lexicon and separators."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cbx_cli.errors import InputError
from cbx_cli.plan.normalize import (
    SEPARATOR_RE,
    Lexicon,
    is_separator,
    normalize,
    resolve_language,
    unknown_words,
)


def check(cases: list[tuple[str, str]], language: str = "en") -> None:
    for text, expected in cases:
        assert normalize(text, language) == expected, text


def test_cardinals():
    check(
        [
            ("42", "forty-two"),
            ("1,000", "one thousand"),
            ("-3", "minus three"),
            ("I have 3 cats.", "I have three cats."),
            ("1,000,000", "one million"),
            ("(-7)", "(minus seven)"),
            ("COVID-19", "COVID-nineteen"),
            ("10km", "ten km"),
            ("MP3", "MP three"),
            ("007", "zero zero seven"),
            ("call 5551234567", "call five five five one two three four five six seven"),
            ("2100", "two thousand one hundred"),
            ("pages 10–20", "pages ten to twenty"),
        ]
    )


def test_decimals():
    check(
        [
            ("3.14", "three point one four"),
            ("-3.5 degrees", "minus three point five degrees"),
            ("0.05", "zero point zero five"),
            (".5", "point five"),
            ("1,000.5", "one thousand point five"),
            ("version 1.2.3", "version one point two point three"),
            ("It was 2.5.", "It was two point five."),
        ]
    )


def test_ordinals():
    check(
        [
            ("1st, 22nd, 3rd", "first, twenty-second, third"),
            ("the 11th hour", "the eleventh hour"),
            ("100th", "one hundredth"),
        ]
    )


def test_years():
    check(
        [
            ("in 1984", "in nineteen eighty-four"),
            ("2005", "two thousand and five"),
            ("In 2024, we", "In twenty twenty-four, we"),
            ("1100 people", "eleven hundred people"),
            ("the 1980s and '90s", "the nineteen eighties and nineties"),
            ("1990-1995", "nineteen ninety to nineteen ninety-five"),
            ("2020–21", "twenty twenty to twenty-one"),
            # Not years: outside 1100-2099, followed by a unit or percent, or negative.
            ("1099", "one thousand and ninety-nine"),
            ("2100", "two thousand one hundred"),
            ("1500 km", "one thousand five hundred km"),
            ("1984%", "one thousand nine hundred and eighty-four percent"),
            ("-1984", "minus one thousand nine hundred and eighty-four"),
        ]
    )


def test_currency():
    check(
        [
            ("$5", "five dollars"),
            ("$1", "one dollar"),
            ("$3.50", "three dollars and fifty cents"),
            ("$1.01", "one dollar and one cent"),
            ("$0.50", "fifty cents"),
            ("$1,000.50", "one thousand dollars and fifty cents"),
            ("-$5", "minus five dollars"),
            ("£20", "twenty pounds"),
            ("£20.5", "twenty pounds and fifty pence"),
            ("€1.5 million", "one point five million euros"),
            ("$5 million", "five million dollars"),
            ("€2bn", "two billion euros"),
            ("£3k", "three thousand pounds"),
            ("5€", "five euros"),
            ("¥500", "five hundred yen"),
            ("It cost $5.", "It cost five dollars."),
        ]
    )


def test_percent():
    check(
        [
            ("50%", "fifty percent"),
            ("A 30% rise", "A thirty percent rise"),
            ("-2.5 %", "minus two point five percent"),
        ]
    )


def test_times():
    check(
        [
            ("6:40", "six forty"),
            ("11:05 pm", "eleven oh five p m"),
            ("11:05 p.m.", "eleven oh five p m."),
            ("11:05 P.M. on the dot", "eleven oh five p m on the dot"),
            ("It ended at 11:05 p.m. Then we slept.", "It ended at eleven oh five p m. Then we slept."),
            ("8:00", "eight o'clock"),
            ("8:00 am", "eight a m"),
            ("at 5 pm", "at five p m"),
            ("14:00", "fourteen hundred"),
            ("14:30", "fourteen thirty"),
        ]
    )


def test_dates():
    check(
        [
            ("14 March 2024", "the fourteenth of March, twenty twenty-four"),
            ("March 14, 2024", "March fourteenth, twenty twenty-four"),
            ("On 1 May 1999 we met.", "On the first of May, nineteen ninety-nine we met."),
            ("the 5th of May 2020", "the fifth of May, twenty twenty"),
            ("March 3rd, 1999.", "March third, nineteen ninety-nine."),
            ("14 Jan. 2024", "the fourteenth of January, twenty twenty-four"),
            ("on 3 Mar. Then", "on the third of March. Then"),
            ("2024-03-14", "March fourteenth, twenty twenty-four"),
            ("May 5", "May fifth"),
            ("I may 5", "I may five"),
        ]
    )


def test_abbreviations():
    check(
        [
            (
                "Dr. Smith met Mr. Jones, Mrs. Brown and Ms. Green.",
                "Doctor Smith met Mister Jones, Missus Brown and Miz Green.",
            ),
            ("Mr Smith", "Mister Smith"),
            ("We went to St. Louis.", "We went to Saint Louis."),
            ("On St. Patrick's day", "On Saint Patrick's day"),
            ("He lives on Baker St. near here.", "He lives on Baker Street near here."),
            ("Turn into Main St. The house is there.", "Turn into Main Street. The house is there."),
            ("Fruit, e.g. apples, i.e. food.", "Fruit, for example apples, that is food."),
            ("E.g. this", "For example this"),
            ("Cats vs. dogs", "Cats versus dogs"),
            ("approx. 5 km", "approximately five km"),
            ("It's approx. 40.", "It's approximately forty."),
            ("Symphony No. 5", "Symphony number five"),
            ("No. 5 is here.", "Number five is here."),
            # A period that is both the abbreviation's and the sentence's stays.
            ("Apples, pears, etc.", "Apples, pears, et cetera."),
            ("Apples, pears, etc. Then more.", "Apples, pears, et cetera. Then more."),
            ("Apples, etc. were sold.", "Apples, et cetera were sold."),
            ("Apples, etc., were sold.", "Apples, et cetera, were sold."),
            ("Apples, etc. [laugh] Then more.", "Apples, et cetera. [laugh] Then more."),
        ]
    )


def test_tags_are_untouched():
    assert normalize("[laugh] 42 [pause 1.5s] ok") == "[laugh] forty-two [pause 1.5s] ok"
    assert normalize("[clear throat] Dr. Who [pause 2s]") == "[clear throat] Doctor Who [pause 2s]"
    assert normalize("[pause 10s]") == "[pause 10s]"


def test_other_languages():
    check(
        [
            ("42", "quarante-deux"),
            ("-3", "moins trois"),
            ("3,14", "trois virgule un quatre"),
            ("3,50 €", "trois euros et cinquante centimes"),
            ("1.000 €", "mille euros"),
            ("50 %", "cinquante pour cent"),
            ("en 1984", "en mille neuf cent quatre-vingt-quatre"),
        ],
        language="fr",
    )
    assert normalize("42 und 3,5", "de") == "zweiundvierzig und drei Komma fünf"
    assert normalize("42", "pt-BR") == "quarenta e dois"
    assert normalize("Dr. 42", "es") == "Dr. cuarenta y dos"  # English abbreviations are English only


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


# Lexicon


def test_lexicon_applies_whole_words_case_insensitively():
    lexicon = Lexicon({"Nguyen": "Win", "Ann": "Anh", "Saoirse Ronan": "Sur-sha Ro-nan", "Saoirse": "Seer-sha"})
    assert lexicon.apply("nguyen and NGUYEN met Ann, not Anne.") == "Win and Win met Anh, not Anne."
    assert lexicon.apply("Saoirse Ronan and Saoirse") == "Sur-sha Ro-nan and Seer-sha"  # phrase beats word
    assert lexicon.apply("saoirse\n  ronan") == "Sur-sha Ro-nan"
    assert lexicon.apply("Annex Ann's") == "Annex Anh's"
    assert lexicon.words == {"Nguyen": "Win", "Ann": "Anh", "Saoirse Ronan": "Sur-sha Ro-nan", "Saoirse": "Seer-sha"}
    assert "nguyen" in lexicon and "Anne" not in lexicon
    assert len(lexicon) == 4
    assert Lexicon().apply("Nguyen") == "Nguyen"


def test_lexicon_applies_before_numbers_and_not_inside_tags():
    lexicon = Lexicon({"R2": "Artoo", "laugh": "laff"})
    assert normalize("R2 has 2 [laugh] laugh", lexicon=lexicon) == "Artoo has two [laugh] laff"


def test_lexicon_load(tmp_path: Path):
    path = tmp_path / "lexicon.yaml"
    path.write_text("Nguyen: Win\n'Saoirse Ronan': Sur-sha Ro-nan\n", encoding="utf-8")
    lexicon = Lexicon.load(path)
    assert lexicon.words == {"Nguyen": "Win", "Saoirse Ronan": "Sur-sha Ro-nan"}
    assert lexicon.source == path
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    assert Lexicon.load(empty).words == {}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("- Nguyen\n- Win\n", "{path}: lexicon must be a mapping of 'word or phrase: respelling' lines, not a list."),
        ("just a string\n", "{path}: lexicon must be a mapping of 'word or phrase: respelling' lines, not a string."),
        ("Nguyen: 42\n", "{path}: entry 'Nguyen' must map to a respelling string."),
        ("Nguyen:\n", "{path}: entry 'Nguyen' must map to a respelling string."),
        ("Nguyen: [Win]\n", "{path}: entry 'Nguyen' must map to a respelling string."),
        ("Nguyen: {a: b}\n", "{path}: entry 'Nguyen' must map to a respelling string."),
        ("42: forty\n", "{path}: entry '42' must be a word or phrase; put it in quotes."),
        ("Nguyen: [Win\n", "{path}:2 is not valid YAML. Fix the syntax and run again."),
    ],
)
def test_lexicon_bad_files(tmp_path: Path, content: str, message: str):
    path = tmp_path / "lexicon.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as info:
        Lexicon.load(path)
    assert str(info.value) == message.format(path=path)
    assert "\n" not in str(info.value)


def test_lexicon_missing_file(tmp_path: Path):
    path = tmp_path / "nope.yaml"
    with pytest.raises(InputError) as info:
        Lexicon.load(path)
    assert str(info.value) == f"{path}: lexicon file not found. Check the path."
    with pytest.raises(InputError) as info:
        Lexicon.load(tmp_path)
    assert str(info.value) == f"{tmp_path}: lexicon is not a file. Pass a YAML file of 'word: respelling' lines."


# Unknown words


def test_unknown_words():
    text = "Yesterday Nguyen met Dr. Siobhan at the Louvre. Then Bob's friend Anne said I like Paris. [laugh] Zoe"
    assert unknown_words(text, None) == ["Nguyen", "Siobhan", "Louvre", "Bob", "Anne", "Paris"]
    assert unknown_words(text, Lexicon({"Nguyen": "Win", "anne": "Ann"})) == ["Siobhan", "Louvre", "Bob", "Paris"]
    assert unknown_words("On Monday the English teacher came in March.", None) == []
    assert unknown_words("Anne met Anne.", None) == ["Anne"]


# Separators


@pytest.mark.parametrize("line", ["***", "---", "* * *", "###", "___", "~~~", "  - - -  ", "⁂", "*****"])
def test_separators(line: str):
    assert is_separator(line)
    assert SEPARATOR_RE.match(line)


@pytest.mark.parametrize("line", ["**", "*-*", "a***", "--- end", "", "# Title", "Hello."])
def test_not_separators(line: str):
    assert not is_separator(line)


# Properties


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
