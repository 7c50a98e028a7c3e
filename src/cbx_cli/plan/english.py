"""English words the planner shares: one abbreviation table, month and weekday names, common words.

The sentence splitter (`cbx_cli.plan.sentences`), the normalizer (`cbx_cli.plan.normalize`) and the name hints
(`cbx_cli.plan.hints`) all read these, so an abbreviation is added in one place. Plain data, no text libraries.
"""

from __future__ import annotations

from typing import NamedTuple


class Abbreviation(NamedTuple):
    """A word written with a period that does not (or not always) end its sentence."""

    written: str
    """Lowercase, periods included: ``"dr."``, ``"e.g."``."""
    spoken: str | None
    """What the normalizer says instead, as it writes it mid-sentence; None where it is read as written."""
    may_end_sentence: bool
    """Whether its period may also be the full stop. The sentence splitter cuts after such a word only before
    one that starts a sentence, and the normalizer keeps the period there; the others (titles, "e.g.") always
    run on into the next word."""
    not_a_sentence_end: bool
    """Whether the look-back that asks "does this word start a sentence?" (``No.`` → "Number", the name
    hints) reads a period after it as part of the word. It knows fewer abbreviations than the splitter."""
    before: str = ""
    """Where ``spoken`` applies: "" anywhere, "name" before a capitalised name, "figure" before a number."""
    after_name: str | None = None
    """What it is said as after a name instead ("Baker St." Street, "Elm Dr." Drive, "Acme Co." Company)."""


ABBREVIATIONS: dict[str, Abbreviation] = {
    a.written: a
    for a in (
        #            written    spoken            may end, not an end, before,  after a name
        Abbreviation("dr.",     "Doctor",         False, True,  "name",   "Drive"),
        Abbreviation("mr.",     "Mister",         False, True,  "name"),
        Abbreviation("mrs.",    "Missus",         False, True,  "name"),
        Abbreviation("ms.",     "Miz",            False, True,  "name"),
        Abbreviation("mx.",     None,             False, False),
        Abbreviation("prof.",   "Professor",      False, True,  "name"),
        Abbreviation("gen.",    "General",        False, True,  "name"),
        Abbreviation("col.",    "Colonel",        False, True,  "name"),
        Abbreviation("capt.",   "Captain",        False, True,  "name"),
        Abbreviation("lt.",     "Lieutenant",     False, True,  "name"),
        Abbreviation("sgt.",    "Sergeant",       False, True,  "name"),
        Abbreviation("gov.",    "Governor",       False, True,  "name"),
        Abbreviation("sen.",    "Senator",        False, True,  "name"),
        Abbreviation("rep.",    "Representative", False, True,  "name"),
        Abbreviation("rev.",    "Reverend",       False, True,  "name"),
        Abbreviation("fr.",     "Father",         False, True,  "name"),
        Abbreviation("pres.",   "President",      False, True,  "name"),
        Abbreviation("mt.",     "Mount",          False, True,  "name"),
        Abbreviation("ft.",     "Fort",           False, True,  "name"),
        Abbreviation("st.",     "Saint",          True,  True,  "name",   "Street"),
        Abbreviation("co.",     "County",         True,  False, "name",   "Company"),
        Abbreviation("ave.",    None,             True,  False, "",       "Avenue"),
        Abbreviation("rd.",     None,             True,  False, "",       "Road"),
        Abbreviation("blvd.",   None,             True,  False, "",       "Boulevard"),
        Abbreviation("ln.",     None,             True,  False, "",       "Lane"),
        Abbreviation("hwy.",    None,             True,  False, "",       "Highway"),
        Abbreviation("jr.",     None,             True,  False, "",       "Junior"),
        Abbreviation("sr.",     None,             True,  False, "",       "Senior"),
        Abbreviation("inc.",    None,             True,  False, "",       "Incorporated"),
        Abbreviation("ltd.",    None,             True,  False, "",       "Limited"),
        Abbreviation("corp.",   None,             True,  False, "",       "Corporation"),
        Abbreviation("bros.",   None,             True,  False, "",       "Brothers"),
        Abbreviation("e.g.",    "for example",    False, True),
        Abbreviation("i.e.",    "that is",        False, True),
        Abbreviation("cf.",     "compare",        False, True),
        Abbreviation("viz.",    "namely",         False, True),
        Abbreviation("vs.",     "versus",         False, True),
        Abbreviation("etc.",    "et cetera",      True,  False),
        Abbreviation("approx.", "approximately",  True,  True),
        Abbreviation("dept.",   "department",     True,  False),
        Abbreviation("no.",     "number",         True,  True,  "figure"),
        Abbreviation("nos.",    "numbers",        True,  True,  "figure"),
        Abbreviation("fig.",    "figure",         True,  False, "figure"),
        Abbreviation("vol.",    "volume",         True,  False, "figure"),
        Abbreviation("ch.",     "chapter",        True,  False, "figure"),
        Abbreviation("p.",      "page",           True,  False, "figure"),
        Abbreviation("pp.",     "pages",          True,  False, "figure"),
        Abbreviation("ext.",    "extension",      True,  False, "figure"),
        Abbreviation("apt.",    "apartment",      True,  False, "figure"),
        Abbreviation("ca.",     "circa",          True,  False, "figure"),
        Abbreviation("c.",      "circa",          True,  False, "figure"),
        Abbreviation("est.",    "established",    True,  False, "figure"),
    )
}  # fmt: skip
"""Every abbreviation the splitter, the normalizer or the look-back knows, by its written form."""

MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

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
    mr mrs ms dr mister missus miz doctor saint street sir madam lord lady king queen prince princess
    chapter part book section act scene prologue epilogue introduction contents appendix note notes
    god english french german spanish italian american british european
    north south east west northern southern eastern western
    """.split()
) | {name.lower() for name in MONTHS + WEEKDAYS}
"""Common English words (lowercase) that are names of nothing: not hinted even when capitalised mid-sentence,
and not read as a street's name before "St."."""


class Unit(NamedTuple):
    """A unit of measure: how one and how many are said."""

    one: str
    many: str


def _unit(one: str, many: str | None = None) -> Unit:
    return Unit(one, many or one + "s")


_METRIC = {"m": "meter", "g": "gram", "l": "liter", "L": "liter", "W": "watt", "V": "volt", "Hz": "hertz",
           "B": "byte", "J": "joule", "Pa": "pascal", "s": "second", "A": "amp"}
_PREFIXES = {"k": "kilo", "M": "mega", "G": "giga", "T": "tera", "c": "centi", "m": "milli", "µ": "micro",
             "μ": "micro", "h": "hecto", "d": "deci"}
_METRIC_FORMS = {
    "m": "k c m µ μ", "g": "k m µ μ", "l": "m c d", "L": "m c d", "W": "k M G", "V": "k m", "Hz": "k M G",
    "B": "k M G T", "J": "k M", "Pa": "k h", "s": "m µ μ", "A": "m",
}
"""Which prefixes each metric unit takes here (an SI prefix table of every pair would read "Ms" as megaseconds)."""

UNITS: dict[str, Unit] = {
    **{prefix + symbol: _unit(_PREFIXES[prefix] + _METRIC[symbol]) for symbol, prefixes in _METRIC_FORMS.items()
       for prefix in prefixes.split()},
    "m": _unit("meter"), "g": _unit("gram"), "l": _unit("liter"), "L": _unit("liter"), "W": _unit("watt"),
    "V": _unit("volt"), "Hz": _unit("hertz", "hertz"), "kHz": _unit("kilohertz", "kilohertz"),
    "MHz": _unit("megahertz", "megahertz"), "GHz": _unit("gigahertz", "gigahertz"), "KB": _unit("kilobyte"),
    "kWh": _unit("kilowatt hour"), "mAh": _unit("milliamp hour"), "dB": _unit("decibel"),
    "cc": _unit("cubic centimeter"), "ha": _unit("hectare"),
    "kbps": _unit("kilobit per second", "kilobits per second"), "Mbps": _unit("megabit per second",
                                                                          "megabits per second"),
    "Gbps": _unit("gigabit per second", "gigabits per second"),
    "in": _unit("inch", "inches"), "ft": _unit("foot", "feet"), "yd": _unit("yard"), "yds": _unit("yard"),
    "mi": _unit("mile"), "lb": _unit("pound"), "lbs": _unit("pound"), "oz": _unit("ounce"),
    "fl oz": _unit("fluid ounce"), "gal": _unit("gallon"), "qt": _unit("quart"), "tsp": _unit("teaspoon"),
    "tbsp": _unit("tablespoon"), "st": _unit("stone", "stone"),
    "sec": _unit("second"), "secs": _unit("second"), "min": _unit("minute"), "mins": _unit("minute"),
    "h": _unit("hour"), "hr": _unit("hour"), "hrs": _unit("hour"), "wk": _unit("week"), "wks": _unit("week"),
    "mo": _unit("month"), "mos": _unit("month"), "yr": _unit("year"), "yrs": _unit("year"),
    "mph": _unit("mile per hour", "miles per hour"), "km/h": _unit("kilometer per hour", "kilometers per hour"),
    "kph": _unit("kilometer per hour", "kilometers per hour"),
    "kmh": _unit("kilometer per hour", "kilometers per hour"), "kt": _unit("knot"), "kts": _unit("knot"),
    "kn": _unit("knot"), "rpm": _unit("revolution per minute", "revolutions per minute"),
    "bpm": _unit("beat per minute", "beats per minute"), "fps": _unit("frame per second", "frames per second"),
    "psi": _unit("pound per square inch", "pounds per square inch"), "atm": _unit("atmosphere"),
    "mmHg": _unit("millimeter of mercury", "millimeters of mercury"), "cal": _unit("calorie"),
    "kcal": _unit("kilocalorie"), "px": _unit("pixel"), "dpi": _unit("dot per inch", "dots per inch"),
    "°C": _unit("degree Celsius", "degrees Celsius"), "°F": _unit("degree Fahrenheit", "degrees Fahrenheit"),
    "°": _unit("degree"), "s": _unit("second"),
}  # fmt: skip
"""Units of measure by symbol (case matters: mm, Mm), American spelling, as narrators read them."""

SPACED_ONLY_UNITS = frozenset({"s", "st"})
"""Symbols that are units only with a space before them ("10 s", "11 st"): glued they are a decade (the 10s) or
an ordinal (1st)."""
NOT_ALONE_UNITS = frozenset({"in"})
"""Symbols that are units only after another measure (5 ft 11 in), glued (12in) or with their period (3 in.):
"5 in the box" is not."""

RATE_WORDS = frozenset(
    "hour day night week month year person head unit item page word minute second visit ticket seat".split()
)
"""What money is paid per, written out after a slash ($50/night)."""

HEADING_WORDS: frozenset[str] = frozenset(
    """
    chapter part book volume vol act scene section article appendix canto psalm phase stage level round title
    episode season series class type grade category unit lesson step figure fig table plate exhibit annex
    schedule amendment division mark mk war bowl
    """.split()
)
"""Words before a Roman numeral read as a number: Chapter IX (nine), World War II, Super Bowl LVII."""

REGNAL_TITLES: frozenset[str] = frozenset(
    "king queen pope emperor empress tsar czar tsarina prince princess duke duchess sultan pharaoh kaiser shah "
    "emir earl count countess saint st".split()
)
"""Words that make the Roman numeral after a name an ordinal: King George III (the Third)."""

REGNAL_NAMES: frozenset[str] = frozenset(
    """
    henry edward george william elizabeth charles louis james richard john mary anne victoria philip frederick
    peter catherine alexander nicholas ivan pius leo gregory benedict innocent clement urban paul boniface
    constantine otto ludwig wilhelm karl gustav gustavus christian haakon olaf harald carl felipe alfonso
    ferdinand isabella manuel pedro umberto napoleon franz leopold rudolf sigismund casimir stanislaus david
    robert kenneth duncan edmund harold stephen ramesses rameses thutmose amenhotep ptolemy rama mehmed
    murad selim suleiman mahmud baldwin hugh philippe henri francis francois sancho juan ramiro alexios
    basil justinian theodosius valentinian antiochus seleucus cleopatra darius xerxes artaxerxes sixtus julius
    adrian hadrian marcus michael andrew bela ladislaus wenceslaus vladislav vasily dmitri fyodor eric magnus
    sverre valdemar sobhuza mswati
    """.split()
)
"""First names of monarchs and popes: Henry VIII is Henry the Eighth, but Rocky II is Rocky two."""

TIME_ZONES: frozenset[str] = frozenset(
    """
    UTC GMT BST IST CET CEST EET EEST WET WEST MSK JST KST HKT SGT AEST AEDT ACST ACDT AWST NZST NZDT EST EDT CST
    CDT MST MDT PST PDT AKST AKDT HST AST ADT NST NDT ET CT MT PT
    """.split()
)
"""Time zones said letter by letter after a time (9 a.m. EST)."""

NUMBER_IDIOMS: dict[str, str] = {
    "24/7": "twenty-four seven",
    "24/7/365": "twenty-four seven three sixty-five",
    "9/11": "nine eleven",
    "50/50": "fifty-fifty",
    "20/20": "twenty-twenty",
    "7/11": "seven eleven",
}
"""Figures with a slash that are said as a name, not as a fraction or a date."""

NUMBER_HOMOPHONES: dict[str, str] = {"to": "two", "too": "two", "for": "four", "won": "one", "ate": "eight",
                                     "oh": "o"}
"""Words said exactly as a number word, and "oh" (zero, as in "ten oh five") said as the letter: a recognizer writes
either, so verification compares them as one."""

NUMBER_WORDS: frozenset[str] = frozenset(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand million "
    "billion trillion first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth "
    "fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth thirtieth fortieth fiftieth "
    "sixtieth seventieth eightieth ninetieth hundredth thousandth millionth billionth tens teens twenties thirties "
    "forties fifties sixties seventies eighties nineties hundreds thousands millions billions".split()
)
"""The words numbers are said in: spelled much alike ("seventeen", "seventy"), they still say different things."""
