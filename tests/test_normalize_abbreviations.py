"""Abbreviations in words (cbx_cli.plan.normalize.abbreviations), from the shared table in plan/english.py."""

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


@pytest.mark.parametrize(("written", "spoken"), CASES)
def test_abbreviations(written: str, spoken: str):
    assert normalize(written) == spoken


@pytest.mark.parametrize("entry", [a for a in ABBREVIATIONS.values() if a.spoken], ids=lambda a: a.written)
def test_every_abbreviation_the_table_speaks_is_said(entry):
    written = entry.written.capitalize()
    said = normalize(f"and {written} 5 more")
    assert entry.spoken.casefold() in said.casefold()
    assert written not in said


def test_abbreviations_are_english_only():
    assert normalize("Dr. 42", "es") == "Dr. cuarenta y dos"
