"""Abbreviations in words (cbx_cli.plan.normalize.abbreviations), from the shared table in plan/english.py, read
in context: St. as Saint or Street, Dr. as Doctor or Drive."""

import pytest

from cbx_cli.plan.english import ABBREVIATIONS
from cbx_cli.plan.normalize import normalize

CASES = [
    (
        "Dr. Smith met Mr. Jones, Mrs. Brown and Ms. Green.",
        "Doctor Smith met Mister Jones, Missus Brown and Miz Green.",
    ),
    ("Mr Smith", "Mister Smith"),
    ("We went to St. Louis.", "We went to Saint Louis."),
    ("On St. Patrick's day", "On Saint Patrick's day"),
    ("St Ives", "Saint Ives"),
    ("He lives on Baker St. near here.", "He lives on Baker Street near here."),
    ("Turn into Main St. The house is there.", "Turn into Main Street. The house is there."),
    ("She lives at 12 Elm Dr.", "She lives at twelve Elm Drive."),
    ("Meet Dr. Lee at 5 pm.", "Meet Doctor Lee at five p m."),
    ("Prof. Ada Byrne", "Professor Ada Byrne"),
    ("Capt. Hook and Lt. Dan", "Captain Hook and Lieutenant Dan"),
    ("Gen. Grant", "General Grant"),
    ("Gen Z", "Gen Z"),
    ("Mt. Everest", "Mount Everest"),
    ("Co. Durham", "County Durham"),
    ("Acme Co. made it.", "Acme Company made it."),
    ("Fifth Ave. is busy", "Fifth Avenue is busy"),
    ("Martin Luther King Jr. spoke", "Martin Luther King Junior spoke"),
    ("Acme Ltd.", "Acme Limited."),
    ("Fruit, e.g. apples, i.e. food.", "Fruit, for example apples, that is food."),
    ("E.g. this", "For example this"),
    ("e. g. this", "for example this"),
    ("Cats vs. dogs", "Cats versus dogs"),
    ("Cats vs dogs", "Cats versus dogs"),
    ("approx. 5 km", "approximately five kilometers"),
    ("It's approx. 40.", "It's approximately forty."),
    ("Symphony No. 5", "Symphony number five"),
    ("No. 5 is here.", "Number five is here."),
    ("see p. 12 and pp. 20-30", "see page twelve and pages twenty to thirty"),
    ("see Fig. 3", "see figure three"),
    ("built c. 1850", "built circa eighteen fifty"),
    ("a firm est. 1890", "a firm established eighteen ninety"),
    ("in the U.S. and the U.K.", "in the U S and the U K."),
    # A period that is both the abbreviation's and the sentence's stays.
    ("Apples, pears, etc.", "Apples, pears, et cetera."),
    ("Apples, pears, etc. Then more.", "Apples, pears, et cetera. Then more."),
    ("Apples, etc. were sold.", "Apples, et cetera were sold."),
    ("Apples, etc., were sold.", "Apples, et cetera, were sold."),
    ("Apples, etc. [laugh] Then more.", "Apples, et cetera. [laugh] Then more."),
]


@pytest.mark.parametrize(("written", "spoken"), CASES)
def test_abbreviations(written: str, spoken: str):
    assert normalize(written) == spoken


def _in_its_place(written: str, before: str) -> str:
    return {"name": f"and {written} Smith", "figure": f"and {written} 5 more"}.get(before, f"and {written} more")


@pytest.mark.parametrize("entry", [a for a in ABBREVIATIONS.values() if a.spoken], ids=lambda a: a.written)
def test_every_abbreviation_the_table_speaks_is_said(entry):
    written = entry.written.capitalize()
    said = normalize(_in_its_place(written, entry.before))
    assert entry.spoken.casefold() in said.casefold()
    assert written not in said


@pytest.mark.parametrize("entry", [a for a in ABBREVIATIONS.values() if a.after_name], ids=lambda a: a.written)
def test_every_abbreviation_after_a_name_is_said(entry):
    said = normalize(f"We saw Acme {entry.written.capitalize()} and more.")
    assert f"Acme {entry.after_name} and more" in said


def test_abbreviations_are_english_only():
    assert normalize("Dr. 42", "es") == "Dr. cuarenta y dos"
