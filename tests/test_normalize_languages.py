"""Numbers in the multilingual model's languages (cbx_cli.plan.normalize with a language): num2words where it
has the language, figures left as written (and listed) where it has not."""

import pytest

from cbx_cli.config.models import LANGUAGES
from cbx_cli.plan.normalize import normalize, normalize_text, resolve_language

CASES = [
    ("fr", "Le 14 juillet 1789, 3,5 % payaient 12,50 €.",
     "Le quatorze juillet mille sept cent quatre-vingt-neuf, trois virgule cinq pour cent payaient douze euros et "
     "cinquante centimes."),
    ("fr", "Il était 14:30.", "Il était quatorze trente."),
    ("de", "Es kostet 42 € und wiegt 3,5 kg.", "Es kostet zweiundvierzig Euro und wiegt drei Komma fünf kg."),
    ("es", "Tengo 30 años y 1.000 libros.", "Tengo treinta años y mil libros."),
    ("pt", "São 42 livros.", "São quarenta e dois livros."),
    ("it", "Sono le 8:15.", "Sono le otto quindici."),
    ("nl", "Het is 75%.", "Het is vijfenzeventig procent."),
    ("ja", "2024年3月14日", "二千二十四年三月十四日"),
    ("ja", "気温は25度", "気温は二十五度"),
    ("ko", "2024년 3월 14일", "이천이십사년 삼월 십사일"),
    ("ru", "Мне 30 лет.", "Мне тридцать лет."),
    ("tr", "Saat 10:30", "Saat on otuz"),
    ("fi", "Hinta on 15 euroa.", "Hinta on viisitoista euroa."),
    ("sv", "Det var 7 katter.", "Det var sju katter."),
    ("pl", "Mam 5 kotów.", "Mam pięć kotów."),
    ("he", "יש 3 ספרים", "יש שלוש ספרים"),
    ("ar", "لدي 3 كتب", "لدي ثلاثة كتب"),
    ("da", "Der var 12 børn.", "Der var tolv børn."),
    ("no", "Det var 12 barn.", "Det var tolv barn."),
    ("en", "Dr. Lee paid $5.", "Doctor Lee paid five dollars."),
    # dates whose day is an ordinal with a dot
    ("de", "Am 14. Juli 1789 fiel sie.", "Am vierzehnten Juli siebzehnhundertneunundachtzig fiel sie."),
    ("de", "Der 3. Oktober ist frei.", "Der dritte Oktober ist frei."),
    ("no", "Den 17. mai 1814.", "Den syttende mai atten hundre og fjorten."),
    ("da", "Den 5. juni 1849.", "Den femte juni atten hundrede niogfyrre."),
    ("fi", "Hän syntyi 6. joulukuuta.", "Hän syntyi kuudes joulukuuta."),
    ("de", "Es gab 3. Preise.", "Es gab drei. Preise."),
    # numeric dates, written out in the language and read
    ("fr", "Le 14/07/1789 et le 01/05/2024.",
     "Le quatorze juillet mille sept cent quatre-vingt-neuf et le premier mai deux mille vingt-quatre."),
    ("es", "El 14/07/2024.", "El catorce de julio de dos mil veinticuatro."),
    ("de", "Am 14.07.2024 war es.", "Am vierzehnten Juli zweitausendvierundzwanzig war es."),
    ("ja", "2024/07/14に", "二千二十四年七月十四日に"),
    ("ko", "2024/07/14", "이천이십사년 칠월 십사일"),
    ("ru", "14.07.2024", "14.07.2024"),
]


@pytest.mark.parametrize(("language", "written", "spoken"), CASES)
def test_numbers_in_each_language(language: str, written: str, spoken: str):
    assert normalize(written, language) == spoken


@pytest.mark.parametrize("language", [code for code in LANGUAGES if resolve_language(code) is None])
def test_languages_without_number_words_keep_figures_and_list_them(language: str):
    result = normalize_text("A 42, B 7.5 [laugh]", language)
    assert result.spoken == "A 42, B 7.5 [laugh]"
    assert result.left_as_written == ("42", "7.5")


def test_every_language_of_the_model_is_read_or_listed():
    for code in LANGUAGES:
        result = normalize_text("Il 2024 e 3", code)
        assert (result.left_as_written == ()) == (resolve_language(code) is not None), code
