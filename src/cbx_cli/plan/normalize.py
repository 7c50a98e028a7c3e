"""Text normalization: what the engine reads, as opposed to what the script says.

The manifest keeps the text as written; :func:`normalize` produces the text to speak:

1. A :class:`Lexicon` (the user's pronunciation respellings) is applied first.
2. For English: abbreviations (Dr., Mr., St., e.g., etc., No. 5 …), dates, times, currency, percent,
   ordinals, years, decimals and cardinals are written out as words.
3. For another language that ``num2words`` supports (its ``lang`` argument): currency, percent (for a few
   languages), years, decimals and cardinals. For a language it does not support, the text is left as it is
   (apart from the lexicon).

Paralinguistic tags such as ``[laugh]`` or ``[pause 1.5s]`` are never touched. Number words come from
``num2words``; this module only finds the numbers and chooses how each one is read.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml
from num2words import CONVERTER_CLASSES, num2words

from cbx_cli.errors import InputError

__all__ = [
    "COMMON_WORDS",
    "SEPARATOR_RE",
    "Lexicon",
    "is_separator",
    "normalize",
    "resolve_language",
    "unknown_words",
]

# --------------------------------------------------------------------------------------------------------------
# Scene-break separators
# --------------------------------------------------------------------------------------------------------------

SEPARATOR_RE = re.compile(r"^\s*(?:([*\-_#=~•·–—])(?:[ \t]*\1){2,}|⁂)\s*$")
"""A scene-break line: three or more of the same mark, optionally spaced (``***``, ``* * *``, ``---``,
``###``, ``___``, ``~~~``, ``===``), or an asterism ``⁂``."""


def is_separator(line: str) -> bool:
    """True when ``line`` is only a scene break such as ``***``, ``---``, ``* * *`` or ``###``."""
    return SEPARATOR_RE.match(line) is not None


# --------------------------------------------------------------------------------------------------------------
# Lexicon
# --------------------------------------------------------------------------------------------------------------


def _phrase_pattern(phrase: str) -> str:
    # Any run of whitespace inside a phrase matches any run of whitespace in the text.
    return r"\s+".join(re.escape(part) for part in phrase.split())


class Lexicon:
    """Pronunciation respellings: ``word or phrase -> respelling``.

    :meth:`apply` replaces whole words and phrases, case-insensitively, longest phrase first; text outside
    the matches is kept as it is.
    """

    def __init__(self, entries: Mapping[str, str] | None = None, source: Path | None = None):
        self._entries: dict[str, str] = {}
        for key, value in (entries or {}).items():
            phrase = " ".join(str(key).split())
            if phrase:
                self._entries[phrase] = str(value)
        self.source = source
        self._lookup = {k.casefold(): v for k, v in self._entries.items()}
        self._pattern: re.Pattern[str] | None = None
        if self._entries:
            keys = sorted(self._entries, key=lambda k: (-len(k), k))
            alternatives = "|".join(_phrase_pattern(k) for k in keys)
            self._pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)

    @classmethod
    def load(cls, path: Path) -> Lexicon:
        """Read a YAML file holding a flat mapping of ``word or phrase: respelling`` strings.

        Raises :class:`~cbx_cli.errors.InputError` (one line naming the file) when the file is missing,
        unreadable, not YAML, not a mapping, or has an entry that is not a string mapped to a string.
        An empty file is an empty lexicon.
        """
        path = Path(path)
        if not path.exists():
            raise InputError(f"{path}: lexicon file not found. Check the path.")
        if not path.is_file():
            raise InputError(f"{path}: lexicon is not a file. Pass a YAML file of 'word: respelling' lines.")
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
            raise InputError(f"{path}: lexicon cannot be read ({reason}). Fix the file.") from None
        try:
            data = yaml.safe_load(source)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{mark.line + 1}" if mark is not None else ""
            raise InputError(f"{path}:{where} is not valid YAML. Fix the syntax and run again.") from None
        if data is None:
            return cls({}, source=path)
        if not isinstance(data, dict):
            raise InputError(
                f"{path}: lexicon must be a mapping of 'word or phrase: respelling' lines, not a {_yaml_kind(data)}."
            )
        entries: dict[str, str] = {}
        for key, value in data.items():
            if not isinstance(key, str) or not key.strip():
                raise InputError(f"{path}: entry {str(key)!r} must be a word or phrase; put it in quotes.")
            if not isinstance(value, str) or not value.strip():
                raise InputError(f"{path}: entry {key!r} must map to a respelling string.")
            entries[key] = value.strip()
        return cls(entries, source=path)

    @property
    def words(self) -> dict[str, str]:
        """The entries, ``word or phrase -> respelling`` (a copy)."""
        return dict(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __bool__(self) -> bool:
        return bool(self._entries)

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and " ".join(word.split()).casefold() in self._lookup

    def __repr__(self) -> str:
        return f"Lexicon({len(self)} entries, source={self.source!r})"

    def apply(self, text: str) -> str:
        """Replace every whole word or phrase found in the lexicon by its respelling."""
        if self._pattern is None:
            return text
        return self._pattern.sub(self._replacement, text)

    def _replacement(self, match: re.Match[str]) -> str:
        return self._lookup.get(" ".join(match.group(0).split()).casefold(), match.group(0))

    def _known_words(self) -> set[str]:
        known: set[str] = set()
        for key in self._lookup:
            known.add(key)
            known.update(key.split())
        return known


def _yaml_kind(data: object) -> str:
    if isinstance(data, list):
        return "list"
    if isinstance(data, str):
        return "string"
    return type(data).__name__


# --------------------------------------------------------------------------------------------------------------
# Languages
# --------------------------------------------------------------------------------------------------------------


def resolve_language(language: str) -> str | None:
    """The ``num2words`` language code for ``language`` (``"en"``, ``"en-GB"``, ``"pt_BR"`` …), or None."""
    parts = re.split(r"[-_]", language.strip())
    base = parts[0].lower()
    if len(parts) > 1:
        regional = f"{base}_{parts[1].upper()}"
        if regional in CONVERTER_CLASSES:
            return regional
    return base if base in CONVERTER_CLASSES else None


_DECIMAL_COMMA = frozenset(
    "fr de es it pt nl pl ru uk be cs sk sl sr sv da no fi is tr ro hu lt lv ca id az kz tg eo".split()
)
"""Languages that write 3,14 for three point one four (and 1.000 for a thousand)."""

_PERCENT_WORD = {
    "en": "percent",
    "fr": "pour cent",
    "de": "Prozent",
    "es": "por ciento",
    "it": "per cento",
    "pt": "por cento",
    "nl": "procent",
    "pl": "procent",
    "sv": "procent",
    "da": "procent",
    "no": "prosent",
    "cs": "procent",
    "sk": "percent",
    "ca": "per cent",
    "id": "persen",
}

_YEAR_AS_CARDINAL = frozenset({"ja"})
"""Languages whose num2words ``to='year'`` does something else (Japanese answers with an era name)."""

_CURRENCY = {
    # symbol: (ISO code, English singular, plural, sub-unit singular, sub-unit plural)
    "$": ("USD", "dollar", "dollars", "cent", "cents"),
    "£": ("GBP", "pound", "pounds", "penny", "pence"),
    "€": ("EUR", "euro", "euros", "cent", "cents"),
    "¥": ("JPY", "yen", "yen", "", ""),
    "₹": ("INR", "rupee", "rupees", "paisa", "paise"),
}

_MAGNITUDES = {
    "thousand": "thousand",
    "million": "million",
    "billion": "billion",
    "trillion": "trillion",
    "k": "thousand",
    "m": "million",
    "mn": "million",
    "b": "billion",
    "bn": "billion",
    "tn": "trillion",
}

_MAX_PLAIN_DIGITS = 9
"""An unseparated run of more digits than this (a phone number, an ID) is read digit by digit."""


# --------------------------------------------------------------------------------------------------------------
# Number words
# --------------------------------------------------------------------------------------------------------------


class _Unsupported(Exception):
    """num2words cannot say this number in this language."""


def _n2w(value: int | Decimal, lang: str, **kwargs: object) -> str:
    try:
        words = num2words(value, lang=lang, **kwargs)
    except Exception as exc:  # noqa: BLE001 - num2words raises many kinds; any of them means "cannot say it"
        raise _Unsupported(str(exc)) from None
    if not isinstance(words, str) or not words.strip():
        raise _Unsupported(repr(value))
    # num2words writes "one thousand, nine hundred"; a comma would become a pause (and a chunk boundary).
    return " ".join(words.replace(",", " ").split())


def _digits(digits: str, lang: str) -> str:
    return " ".join(_n2w(int(d), lang) for d in digits)


def _cardinal(digits: str, lang: str) -> str:
    """Words for a run of ASCII digits (no sign, no separators)."""
    if (len(digits) > 1 and digits[0] == "0") or len(digits) > _MAX_PLAIN_DIGITS:
        return _digits(digits, lang)
    return _n2w(int(digits), lang)


def _grouped(int_part: str, lang: str) -> str:
    """Words for an integer that may carry thousands separators."""
    plain = re.sub(r"[^0-9]", "", int_part)
    if plain != int_part:  # separated: a real quantity, however long
        return _n2w(int(plain), lang)
    return _cardinal(plain, lang)


def _is_english(lang: str) -> bool:
    return lang == "en" or lang.startswith("en_")


def _number(sign: str, int_part: str, frac: str | None, lang: str) -> str:
    """Words for an optionally signed, optionally decimal number."""
    if frac is None:
        words = _grouped(int_part, lang) if int_part else _n2w(0, lang)
    elif _is_english(lang):
        whole = _grouped(int_part, lang) if int_part else "zero"
        words = f"{whole} point {_digits(frac, lang)}"
    else:
        plain = re.sub(r"[^0-9]", "", int_part) or "0"
        try:
            value = Decimal(f"{plain}.{frac}")
        except InvalidOperation as exc:  # pragma: no cover - the pattern only lets digits through
            raise _Unsupported(str(exc)) from None
        words = _n2w(value, lang)
    if sign:
        minus = "minus" if _is_english(lang) else _minus_word(lang)
        words = f"{minus} {words}"
    return words


def _minus_word(lang: str) -> str:
    converter = CONVERTER_CLASSES.get(lang)
    word = getattr(converter, "negword", "") or ""
    return word.strip() or "-"


def _year(digits: str, lang: str) -> str:
    if lang.split("_")[0] in _YEAR_AS_CARDINAL:
        return _cardinal(digits, lang)
    try:
        return _n2w(int(digits), lang, to="year")
    except _Unsupported:
        return _cardinal(digits, lang)


def _ordinal(digits: str, lang: str) -> str:
    return _n2w(int(digits), lang, to="ordinal")


def _plural_words(words: str) -> str:
    """'nineteen eighty' -> 'nineteen eighties' (for decades)."""
    head, _, last = words.rpartition(" ")
    last = last[:-1] + "ies" if last.endswith("y") else last + "s"
    return f"{head} {last}" if head else last


# --------------------------------------------------------------------------------------------------------------
# Helpers for the passes
# --------------------------------------------------------------------------------------------------------------

_PUA = "[\ue000-\uf8ff]"
"""Tag placeholders are made of private-use characters; a placeholder ends a sentence as text would."""

_CLOSERS = "\"'”’»)\\]"
_OPENERS = "\"'“‘«(\\["


_TEXT_END_RE = re.compile(rf"[{_CLOSERS}]*\s*\Z")
_SENTENCE_AFTER_RE = re.compile(rf"\s+[{_OPENERS}]*(?:[A-Z]|{_PUA})")
_LOOK_BACK = 120
"""How many characters before a match the passes look at (never the whole text: that would be quadratic)."""


def _ends_text(text: str, end: int) -> bool:
    return _TEXT_END_RE.match(text, end) is not None


def _starts_sentence_after(text: str, end: int) -> bool:
    """True when the text after ``end`` is the start of a new sentence (a capital letter or a tag)."""
    return _SENTENCE_AFTER_RE.match(text, end) is not None


def _keep_period(text: str, match: re.Match[str], sentence_end_possible: bool) -> str:
    """The '.' to write after an expanded abbreviation whose own period may also end the sentence."""
    if not match.group(0).endswith("."):
        return ""
    end = match.end()
    if _ends_text(text, end) or (sentence_end_possible and _starts_sentence_after(text, end)):
        return "."
    return ""


_ABBREVIATIONS_BEFORE = frozenset({"dr.", "mr.", "mrs.", "ms.", "st.", "e.g.", "i.e.", "vs.", "vs", "no.", "approx."})


def _at_sentence_start(text: str, start: int) -> bool:
    """True when nothing but openers stands between ``start`` and the end of a previous sentence."""
    before = text[max(0, start - _LOOK_BACK) : start].rstrip()
    before = before.rstrip(_OPENERS.replace("\\", "")).rstrip()
    if not before:
        return True
    if before[-1] in "\n":
        return True
    if before[-1] in "!?…:" or re.search(_PUA + "$", before):
        return True
    if before[-1] == ".":
        token = before.rsplit(None, 1)[-1].lstrip(_OPENERS.replace("\\", "")).lower()
        return token not in _ABBREVIATIONS_BEFORE
    return False


def _capitalise_like(source: str, words: str) -> str:
    return words[:1].upper() + words[1:] if source[:1].isupper() else words


def _spaced(text: str, match: re.Match[str], words: str) -> str:
    """Put a space between the words and a letter the number was glued to ('10km' -> 'ten km')."""
    start, end = match.span()
    if start > 0 and text[start - 1].isalpha():
        words = " " + words
    if end < len(text) and text[end].isalpha():
        words = words + " "
    return words


def _sub(pattern: re.Pattern[str], text: str, build: Callable[[str, re.Match[str]], str | None]) -> str:
    """``pattern.sub`` whose builder sees the whole text; a None or unsayable result keeps the match."""

    def replace(match: re.Match[str]) -> str:
        try:
            words = build(text, match)
        except _Unsupported:
            return match.group(0)
        return match.group(0) if words is None else words

    return pattern.sub(replace, text)


# --------------------------------------------------------------------------------------------------------------
# English abbreviations
# --------------------------------------------------------------------------------------------------------------

_TITLE_RE = re.compile(r"\b(Dr|Mr|Mrs|Ms)(?:\.|(?=\s+[A-Z]))")
_TITLES = {"Dr": "Doctor", "Mr": "Mister", "Mrs": "Missus", "Ms": "Miz"}
_ST_RE = re.compile(r"\bSt(?:\.|(?=\s+[A-Z]))")
_NUMBER_ABBR_RE = re.compile(r"\b([Nn])o\.\s*(?=[0-9])")
_SIMPLE_ABBR = [
    # (pattern, expansion, may its period also end a sentence?)
    (re.compile(r"\b([Ee])\.\s?g\.", re.UNICODE), "for example", False),
    (re.compile(r"\b([Ii])\.\s?e\.", re.UNICODE), "that is", False),
    (re.compile(r"\b([Ee])tc\.", re.UNICODE), "et cetera", True),
    (re.compile(r"\b([Vv])s\.?(?=\s)", re.UNICODE), "versus", False),
    (re.compile(r"\b([Aa])pprox\.", re.UNICODE), "approximately", True),
]
_CAPITAL_AFTER_RE = re.compile(r"\s+[A-Z]")
_WORD_BEFORE_RE = re.compile(r"([^\W\d_][\w'’-]*)[\s,]*$")


def _title(text: str, match: re.Match[str]) -> str:
    return _TITLES[match.group(1)] + _keep_period(text, match, sentence_end_possible=False)


def _saint_or_street(text: str, match: re.Match[str]) -> str:
    offset = max(0, match.start() - _LOOK_BACK)
    before = _WORD_BEFORE_RE.search(text[offset : match.start()].rstrip())
    prev = before.group(1) if before else ""
    prev_is_name = (
        before is not None
        and prev[0].isupper()
        and (not _at_sentence_start(text, offset + before.start(1)) or prev.lower() not in COMMON_WORDS)
    )
    follows_name = _CAPITAL_AFTER_RE.match(text, match.end()) is not None
    if follows_name and not prev_is_name:
        return "Saint"
    return "Street" + _keep_period(text, match, sentence_end_possible=True)


def _number_abbr(text: str, match: re.Match[str]) -> str:
    word = "Number" if _at_sentence_start(text, match.start()) else "number"
    return word + " "


def _english_abbreviations(text: str) -> str:
    text = _sub(_TITLE_RE, text, _title)
    text = _sub(_ST_RE, text, _saint_or_street)
    text = _sub(_NUMBER_ABBR_RE, text, _number_abbr)
    for pattern, expansion, may_end in _SIMPLE_ABBR:

        def build(t: str, m: re.Match[str], expansion: str = expansion, may_end: bool = may_end) -> str:
            return _capitalise_like(m.group(1), expansion) + _keep_period(t, m, may_end)

        text = _sub(pattern, text, build)
    return text


# --------------------------------------------------------------------------------------------------------------
# English dates
# --------------------------------------------------------------------------------------------------------------

_MONTHS = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]  # fmt: skip
_MONTH_BY_PREFIX = {m[:3]: m for m in _MONTHS} | {"Sept": "September"}
_MONTH_ALT = "|".join(_MONTHS + ["Sept", *(m[:3] for m in _MONTHS if m != "May")])
_MONTH = rf"(?P<mon>(?:{_MONTH_ALT})\b\.?)"
_ORD_SUFFIX = r"(?:st|nd|rd|th)"
_DMY_RE = re.compile(
    rf"(?<![\w.,])(?P<d>[0-9]{{1,2}}){_ORD_SUFFIX}?\s+(?P<of>of\s+)?{_MONTH}"
    rf"(?:,?\s+(?P<y>[0-9]{{4}})(?![0-9]))?(?![\w:])"
)
_MDY_RE = re.compile(
    rf"(?<![\w.]){_MONTH}\s+(?P<d>[0-9]{{1,2}}){_ORD_SUFFIX}?(?![\w:.,]?[0-9])(?!\w)"
    rf"(?:,?\s+(?P<y>[0-9]{{4}})(?![0-9]))?(?![\w:])"
)
_ISO_DATE_RE = re.compile(r"(?<![\w.-])(?P<y>[0-9]{4})-(?P<m>0[1-9]|1[0-2])-(?P<d>0[1-9]|[12][0-9]|3[01])(?![\w-])")


_THE_BEFORE_RE = re.compile(r"\bthe\s+$", re.IGNORECASE)


def _month_name(raw: str) -> str:
    name = raw.rstrip(".")
    return name if name in _MONTHS else _MONTH_BY_PREFIX[name]


def _date_year(match: re.Match[str], lang: str) -> str:
    year = match.group("y")
    return f", {_year(year, lang)}" if year else ""


def _month_period(text: str, match: re.Match[str]) -> str:
    # "on 3 Jan." at the end of a sentence: the abbreviation's period is also the full stop.
    if match.group("y") is None and match.group("mon").endswith("."):
        return _keep_period(text, match, sentence_end_possible=True)
    return ""


def _dmy(lang: str) -> Callable[[str, re.Match[str]], str | None]:
    def build(text: str, match: re.Match[str]) -> str | None:
        day = int(match.group("d"))
        if not 1 <= day <= 31:
            return None
        the = "" if _THE_BEFORE_RE.search(text[max(0, match.start() - 10) : match.start()]) else "the "
        month = _month_name(match.group("mon"))
        return f"{the}{_ordinal(str(day), lang)} of {month}{_date_year(match, lang)}{_month_period(text, match)}"

    return build


def _mdy(lang: str) -> Callable[[str, re.Match[str]], str | None]:
    def build(text: str, match: re.Match[str]) -> str | None:
        day = int(match.group("d"))
        if not 1 <= day <= 31:
            return None
        month = _month_name(match.group("mon"))
        return f"{month} {_ordinal(str(day), lang)}{_date_year(match, lang)}"

    return build


def _iso(lang: str) -> Callable[[str, re.Match[str]], str | None]:
    def build(text: str, match: re.Match[str]) -> str | None:
        month = _MONTHS[int(match.group("m")) - 1]
        return f"{month} {_ordinal(str(int(match.group('d'))), lang)}{_date_year(match, lang)}"

    return build


# --------------------------------------------------------------------------------------------------------------
# Times
# --------------------------------------------------------------------------------------------------------------

_AMPM = r"(?:\s?(?P<ap>[aApP])\.?\s?[mM]\.?(?!\w))"
_CLOCK_RE = re.compile(rf"(?<![\w:.,])(?P<h>[01]?[0-9]|2[0-4]):(?P<m>[0-5][0-9])(?![\w:]|\.[0-9]){_AMPM}?")
_HOUR_AMPM_RE = re.compile(rf"(?<![\w:.,])(?P<h>1[0-2]|0?[1-9])(?![0-9:]){_AMPM}")


def _ampm(text: str, match: re.Match[str]) -> str:
    if not match.group("ap"):
        return ""
    letters = " " + match.group("ap").lower() + " m"
    return letters + _keep_period(text, match, sentence_end_possible=True)


def _clock(lang: str) -> Callable[[str, re.Match[str]], str | None]:
    english = _is_english(lang)

    def build(text: str, match: re.Match[str]) -> str | None:
        hour, minute = int(match.group("h")), int(match.group("m"))
        if hour == 24 and minute:
            return None
        hour_words = _n2w(hour, lang)
        suffix = _ampm(text, match)
        if not english:
            return hour_words if minute == 0 else f"{hour_words} {_n2w(minute, lang)}"
        if minute == 0:
            if suffix:
                return hour_words + suffix
            return f"{hour_words} o'clock" if hour <= 12 else f"{hour_words} hundred"
        minute_words = f"oh {_n2w(minute, lang)}" if minute < 10 else _n2w(minute, lang)
        return f"{hour_words} {minute_words}{suffix}"

    return build


def _hour_ampm(lang: str) -> Callable[[str, re.Match[str]], str | None]:
    def build(text: str, match: re.Match[str]) -> str | None:
        return _n2w(int(match.group("h")), lang) + _ampm(text, match)

    return build


# --------------------------------------------------------------------------------------------------------------
# Numbers: patterns depend on which separator a language uses for decimals
# --------------------------------------------------------------------------------------------------------------


class _NumberSyntax:
    """Regular-expression pieces for numbers written the way ``lang`` writes them."""

    def __init__(self, decimal_comma: bool):
        if decimal_comma:
            group, point = r"[.\u00a0\u202f]", ","
        else:
            group, point = ",", r"\."
        self.group = group
        integer = rf"(?:[0-9]{{1,3}}(?:{group}[0-9]{{3}})+(?![0-9])|[0-9]+)"
        self.number = rf"(?P<int>{integer})(?:{point}(?P<frac>[0-9]+))?"
        sign = r"(?P<sign>(?<![\w.,\-−])[-−](?=[0-9]))?"
        self.currency = re.compile(
            rf"(?P<sign>(?<![\w.,\-−])[-−](?=[$£€¥₹]))?(?P<sym>[$£€¥₹])\s?{self.number}"
            r"(?:\s?(?P<mag>thousand|million|billion|trillion)\b|(?P<abbr>[kKmM]|[mM]n|[bB]n?|[tT]n)\b)?"
        )
        self.currency_after = re.compile(rf"{sign}(?<![\w.,]){self.number}\s?(?P<sym>[€£¥₹])")
        self.percent = re.compile(rf"{sign}(?<![\w.,]){self.number}\s?%")
        self.plain = re.compile(rf"{sign}(?<![0-9]){self.number}")
        self.bare_fraction = re.compile(
            rf"(?P<sign>(?<![\w.,\-−])[-−])?(?<![^\s(\[{{\-−]){point}(?P<frac>[0-9]+)(?![\w])"
        )
        self.dotted = re.compile(r"(?<![\w.,])[0-9]+(?:\.[0-9]+){2,}(?![\w]|\.[0-9])")


_SYNTAX = {True: _NumberSyntax(decimal_comma=True), False: _NumberSyntax(decimal_comma=False)}

_ORDINAL_RE = re.compile(rf"(?<![\w.,])(?P<n>[0-9]+)(?P<suf>{_ORD_SUFFIX})(?!\w)", re.IGNORECASE)
_DECADE_RE = re.compile(r"(?<![\w.,])['’]?(?P<n>(?:1[0-9]|20)?[0-9]0)s(?!\w)")
_UNITS = (
    r"%|percent\b|per\s?cent\b|pc\b|[kcm]?m\b|km/h\b|mph\b|[mk]?g\b|kgs?\b|lbs?\b|oz\b|ft\b|in\b|mi\b|miles?\b|"
    r"yards?\b|feet\b|foot\b|inch(?:es)?\b|metres?\b|meters?\b|kilometres?\b|kilometers?\b|grams?\b|kilos?\b|"
    r"kilograms?\b|tons?\b|tonnes?\b|litres?\b|liters?\b|l\b|ml\b|[kMG]?Hz\b|[kMGT]?B\b|[kMG]?W\b|V\b|°|"
    r"degrees?\b|calories?\b|kcal\b|hp\b|rpm\b|px\b|dpi\b"
)
_YEAR_RE = re.compile(
    rf"(?<![\w.,$£€¥₹\-−])(?P<y>1[1-9][0-9]{{2}}|20[0-9]{{2}})(?![\w%°]|[.,][0-9]|:[0-9])(?!\s*(?:{_UNITS}))"
)
_DIGITS_RE = re.compile(r"[0-9]+")
_YEAR_DIGITS = r"(?:1[1-9][0-9]{2}|20[0-9]{2})"
_YEAR_RANGE_RE = re.compile(
    rf"(?<![\w.,\-–])(?P<a>{_YEAR_DIGITS})[-–](?P<b>{_YEAR_DIGITS}|[0-9]{{2}})(?![\w\-–]|[.,:][0-9])"
)
_EN_DASH_RANGE_RE = re.compile(r"(?<=[0-9])\s?–\s?(?=[-−]?[$£€¥₹]?[0-9])")


def _is_minus_before(text: str, start: int) -> bool:
    return start > 0 and text[start - 1] in "-−" and (start < 2 or not text[start - 2].isalnum())


def _currency(lang: str) -> Callable[[str, re.Match[str]], str | None]:
    english = _is_english(lang)

    def build(text: str, match: re.Match[str]) -> str | None:
        code, one, many, sub_one, sub_many = _CURRENCY[match.group("sym")]
        sign, int_part, frac = match.group("sign") or "", match.group("int"), match.group("frac")
        groups = match.groupdict()
        magnitude = groups.get("mag") or groups.get("abbr")
        if magnitude:
            if not english:
                return None
            amount = _number(sign, int_part, frac, lang)
            words = f"{amount} {_MAGNITUDES[magnitude.lower()]} {many}"
        elif english:
            words = _english_money(sign, int_part, frac, lang, (one, many, sub_one, sub_many))
        else:
            words = _foreign_money(sign, int_part, frac, lang, code)
        return _spaced(text, match, words)

    return build


def _english_money(sign: str, int_part: str, frac: str | None, lang: str, names: tuple[str, ...]) -> str:
    one, many, sub_one, sub_many = names
    whole = int(re.sub(r"[^0-9]", "", int_part))
    if frac is not None and (len(frac) > 2 or not sub_one):
        words = f"{_number('', int_part, frac, lang)} {many}"
    else:
        cents = int(frac.ljust(2, "0")) if frac else 0
        parts = []
        if whole or not cents:
            parts.append(f"{_grouped(int_part, lang)} {one if whole == 1 else many}")
        if cents:
            parts.append(f"{_n2w(cents, lang)} {sub_one if cents == 1 else sub_many}")
        words = " and ".join(parts)
    return f"minus {words}" if sign else words


def _foreign_money(sign: str, int_part: str, frac: str | None, lang: str, code: str) -> str:
    plain = re.sub(r"[^0-9]", "", int_part) or "0"
    if frac and int(frac):
        value = Decimal(f"{'-' if sign else ''}{plain}.{frac}")
        return _n2w(value, lang, to="currency", currency=code)
    converter = CONVERTER_CLASSES[lang]
    try:
        name = converter.pluralize(int(plain), converter.CURRENCY_FORMS[code][0])
    except Exception as exc:  # noqa: BLE001 - a language without this currency or this plural rule
        raise _Unsupported(str(exc)) from None
    return f"{_number(sign, int_part, None, lang)} {name}"


def _percent(lang: str) -> Callable[[str, re.Match[str]], str | None]:
    word = _PERCENT_WORD.get("en" if _is_english(lang) else lang.split("_")[0])

    def build(text: str, match: re.Match[str]) -> str | None:
        amount = _number(match.group("sign") or "", match.group("int"), match.group("frac"), lang)
        return _spaced(text, match, f"{amount} {word}" if word else f"{amount} %")

    return build


def _ordinal_build(lang: str) -> Callable[[str, re.Match[str]], str | None]:
    def build(text: str, match: re.Match[str]) -> str | None:
        digits = match.group("n")
        if len(digits) > _MAX_PLAIN_DIGITS:
            return None
        return _ordinal(digits, lang)

    return build


def _decade(lang: str) -> Callable[[str, re.Match[str]], str | None]:
    def build(text: str, match: re.Match[str]) -> str | None:
        digits = match.group("n")
        words = _year(digits, lang) if len(digits) == 4 else _n2w(int(digits), lang)
        return _plural_words(words)

    return build


def _year_build(lang: str) -> Callable[[str, re.Match[str]], str | None]:
    def build(text: str, match: re.Match[str]) -> str | None:
        if _is_minus_before(text, match.start()):
            return None
        return _year(match.group("y"), lang)

    return build


def _year_range(lang: str) -> Callable[[str, re.Match[str]], str | None]:
    def build(text: str, match: re.Match[str]) -> str | None:
        first, second = match.group("a"), match.group("b")
        end = _year(second, lang) if len(second) == 4 else _cardinal(second, lang)
        return f"{_year(first, lang)} to {end}"

    return build


def _bare_fraction(lang: str) -> Callable[[str, re.Match[str]], str | None]:
    def build(text: str, match: re.Match[str]) -> str | None:
        sign, frac = match.group("sign") or "", match.group("frac")
        if _is_english(lang):
            words = f"point {_digits(frac, lang)}"
            return _spaced(text, match, f"minus {words}" if sign else words)
        return _spaced(text, match, _number(sign, "", frac, lang))

    return build


def _dotted(lang: str) -> Callable[[str, re.Match[str]], str | None]:
    point = "point" if _is_english(lang) else "."

    def build(text: str, match: re.Match[str]) -> str | None:
        return f" {point} ".join(_cardinal(part, lang) for part in match.group(0).split("."))

    return build


def _plain(lang: str) -> Callable[[str, re.Match[str]], str | None]:
    def build(text: str, match: re.Match[str]) -> str | None:
        words = _number(match.group("sign") or "", match.group("int"), match.group("frac"), lang)
        return _spaced(text, match, words)

    return build


def _leftover(lang: str) -> Callable[[str, re.Match[str]], str | None]:
    def build(text: str, match: re.Match[str]) -> str | None:
        return _spaced(text, match, _cardinal(match.group(0), lang))

    return build


# --------------------------------------------------------------------------------------------------------------
# normalize
# --------------------------------------------------------------------------------------------------------------

_TAG_RE = re.compile(r"\[[A-Za-z][^\[\]\n]{0,60}\]")
"""Bracketed tags (``[laugh]``, ``[clear throat]``, ``[pause 1.5s]``): protected from every pass."""


def _protect_tags(text: str) -> tuple[str, Callable[[str], str]] | None:
    tags: list[str] = []
    sentinel = next((chr(c) for c in range(0xE000, 0xF900) if chr(c) not in text), None)
    if sentinel is None:
        return None

    def hide(match: re.Match[str]) -> str:
        if len(tags) >= 0xFFFE:
            return match.group(0)
        tags.append(match.group(0))
        return f"{sentinel}{chr(0xF0000 + len(tags) - 1)}{sentinel}"

    hidden = _TAG_RE.sub(hide, text)
    placeholder = re.compile(f"{re.escape(sentinel)}([\U000f0000-\U000ffffd]){re.escape(sentinel)}")

    def restore(result: str) -> str:
        def put_back(match: re.Match[str]) -> str:
            index = ord(match.group(1)) - 0xF0000
            return tags[index] if index < len(tags) else match.group(0)

        return placeholder.sub(put_back, result)

    return hidden, restore


def _speak_numbers(text: str, lang: str) -> str:
    english = _is_english(lang)
    syntax = _SYNTAX[lang.split("_")[0] in _DECIMAL_COMMA and not english]
    if english:
        text = _english_abbreviations(text)
        text = _sub(_ISO_DATE_RE, text, _iso(lang))
        text = _sub(_DMY_RE, text, _dmy(lang))
        text = _sub(_MDY_RE, text, _mdy(lang))
    text = _sub(_CLOCK_RE, text, _clock(lang))
    if english:
        text = _sub(_HOUR_AMPM_RE, text, _hour_ampm(lang))
    text = _sub(syntax.currency, text, _currency(lang))
    text = _sub(syntax.currency_after, text, _currency(lang))
    text = _sub(syntax.percent, text, _percent(lang))
    if english:
        text = _sub(_ORDINAL_RE, text, _ordinal_build(lang))
        text = _sub(_DECADE_RE, text, _decade(lang))
    if english:
        text = _sub(_YEAR_RANGE_RE, text, _year_range(lang))
        text = _EN_DASH_RANGE_RE.sub(" to ", text)
    text = _sub(_YEAR_RE, text, _year_build(lang))
    text = _sub(syntax.dotted, text, _dotted(lang))
    text = _sub(syntax.bare_fraction, text, _bare_fraction(lang))
    text = _sub(syntax.plain, text, _plain(lang))
    return _sub(_DIGITS_RE, text, _leftover(lang))


def normalize(text: str, language: str = "en", lexicon: Lexicon | None = None) -> str:
    """The text to speak for ``text``: lexicon respellings applied, then numbers and abbreviations in words.

    ``language`` is a code such as ``"en"``, ``"fr"`` or ``"pt-BR"``. English gets the full treatment; other
    languages that ``num2words`` supports get numbers, currency, years and percent; others only the lexicon.
    Tags such as ``[laugh]`` are left as they are, and so is all punctuation that ends a sentence.
    Never raises on odd text: what cannot be said in words is left as written.
    """
    protected = _protect_tags(text)
    if protected is None:
        return text
    hidden, restore = protected
    if lexicon:
        hidden = lexicon.apply(hidden)
    lang = resolve_language(language)
    if lang is not None:
        hidden = _speak_numbers(hidden, lang)
    return restore(hidden)


# --------------------------------------------------------------------------------------------------------------
# Names a TTS may mispronounce
# --------------------------------------------------------------------------------------------------------------

COMMON_WORDS: frozenset[str] = frozenset(
    """
    a about above after again against all also always am an and another any are around as at away back be
    because been before being below between both but by can could day days did do does doing done down during
    each either even ever every few first for from further get go good great had has have having he her here
    hers herself him himself his how however i if in into is it its itself just know last least left less let
    like little long made make many may maybe me might more most much must my myself never new next no nor not
    now of off often oh ok okay old on once one only or other our ours ourselves out over own perhaps please
    quite rather really right said same say see she should since so some still such than thank thanks that the
    their theirs them themselves then there these they this those though through thus to today together tomorrow
    too under until up upon us very was we well were what when where whether which while who whom whose why will
    with within without would yes yesterday yet you your yours yourself yourselves
    i'm i'll i'd i've it's that's there's here's what's let's don't can't won't isn't aren't wasn't didn't
    monday tuesday wednesday thursday friday saturday sunday
    january february march april may june july august september october november december
    mr mrs ms dr mister missus miz doctor saint street sir madam lord lady king queen prince princess
    chapter part book section act scene prologue epilogue introduction contents appendix note notes
    god english french german spanish italian american british european
    north south east west northern southern eastern western
    """.split()
)
"""Common English words that are not flagged by :func:`unknown_words` even when capitalised mid-sentence."""

_WORD_RE = re.compile(r"(?<![\w'’-])[^\W\d_][\w'’-]*")


def unknown_words(text: str, lexicon: Lexicon | None = None) -> list[str]:
    """Capitalised words that are likely names a TTS may mispronounce, for a ``cbx plan`` hint.

    A word is reported when it starts with a capital letter, is more than one letter long, is not at the
    start of a sentence (after ``.``, ``!``, ``?``, ``:``, a line break or a tag; a title such as ``Dr.`` does
    not start one), is not in :data:`COMMON_WORDS` and is not (part of) a lexicon entry. A trailing ``'s`` is
    dropped. Each word is reported once, in order of first appearance. Tags are ignored.
    """
    hidden = _TAG_RE.sub(lambda m: "\ue000", text)
    known = lexicon._known_words() if lexicon else set()
    found: list[str] = []
    seen: set[str] = set()
    for match in _WORD_RE.finditer(hidden):
        word = re.sub(r"['’]s$", "", match.group(0)).rstrip("'’-")
        if len(word) < 2 or not word[0].isupper():
            continue
        folded = word.casefold()
        if folded in seen or folded in COMMON_WORDS or folded in known or match.group(0).casefold() in known:
            continue
        if _at_sentence_start(hidden, match.start()):
            continue
        seen.add(folded)
        found.append(word)
    return found
