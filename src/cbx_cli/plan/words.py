"""Ordinary English words and well-known names, written for the name hints of `cbx plan` (`cbx_cli.plan.hints`).

A capitalised word in one of these (or an inflection of one: -s, -es, -ies, -ed, -ing, -er, -est, -ly, -'s) is
read right by a model trained on English, in a title ("The North Window"), a place ("Harbour Road") or a common
name ("Anne"), so it is never hinted as needing a lexicon respelling. The list is the project's own, kept small:
the words a script most often capitalises, not a dictionary; the hints also pass over a word the script writes in
lower case elsewhere.
"""

from __future__ import annotations

ORDINARY = """
able above accept patience across act action add age ago agree air alive allow almost alone along already although
among amount ancient angel anger angle angry animal answer anything appear apple area arm army arrive art
ask asleep attack attempt autumn avenue awake baby bad bag ball band bank bar base basin basket bath battle bay
beach bear beat beautiful bed bedroom bee beer begin behind believe bell belong beneath berry beside best better
beyond big bird birth bit bite black blade blanket blind block blood blow blue board boat body bone border born
borrow boss bottle bottom bowl box boy brain branch brave bread break breakfast breath breeze brick bridge brief
bright bring broad broken brook brother brown brush build building burn bush business busy buy cabin cake call
calm camp canal candle cap capital captain car card care carry cart case castle cat catch cause cave cellar
center centre chair chance change chapel character charge chase cheap check cheese chest chief child children
choice choose church circle city claim class clean clear cliff climb clock close cloth cloud club coast coat
cold collect college colour color come comfort common company complete corner cost cottage count country county
couple courage course court cousin cover cow crack craft crew crime cross crow crowd crown cry cup cure current
curtain cut dance danger dark daughter dawn dead deal dear death decide deep deer desert desk detail die
different dinner direction dirt dirty discover dish distance divide dock dog door double doubt dozen dragon draw
dream dress drink drive drop drum dry duck dust duty eagle ear early earth ease easy eat edge egg eight eleven
else empire empty end enemy engine enough enter equal escape evening event everyone everything evil exact exit
explain eye face fact factory fail fair faith fall false fame family famous far farm farmer fast fat father
fault fear feast feather feel fellow fence fever field fifth fifty fight figure fill final find fine finger
finish fire firm fish five fix flag flame flat fleet flight floor flow flower fly fog fold follow food fool
foot force forest forget fork form fort forty forward fountain four fox frame free fresh friend front frost
fruit full fun future gain game garden gate gather general gentle ghost giant gift girl give glad glass glory
gold golden grace grain grand grandfather grandmother grass grave gray grey green ground group grow guard guest
guide gun hair half hall hand hang happen happy harbour harbor hard harvest hat hate head health hear heart
heat heaven heavy height hell help hero hidden hide high hill history hit hold hole holiday hollow holy home
honey hope horn horse hospital host hot hotel hour house human hundred hunger hunt hurry husband ice idea ill
inch inn inside iron island job join journey joy judge jump justice keep key kill kind kingdom kitchen knife
knight knock lake lamp land lane language large late laugh law lawn lay lead leaf learn leave leg legend lesson
letter level liberty library lie life lift light line lion lip list listen live lock lonely look lose loss
lost loud love low luck lunch machine mad magic maid mail main man manor map mark market marry master match
matter meadow meal mean measure meat meet memory middle midnight mile milk mill mind minute mirror miss mist
moment money month moon morning mother motion mount mountain mouse mouth move mud music mystery nail name
narrow nation nature near neck need needle neighbour neighbor nest net night nine noble noise noon normal nose
nothing notice number nurse oak ocean offer office officer oil open orange order ordinary outside page pain
paint pair palace pale paper parent park party pass past path pay peace pearl pen people pepper perfect person
picture piece pier pig pile pine pink pipe place plain plan plant plate play pleasant pocket poem point poison
pole pond pool poor port post pot power present press pretty price pride priest print prison prize promise
proud public pull pure purple push put queen question quick quiet race rain rainbow raise range rare raven
reach read ready real reason red remember rest return rich ride ring rise river road rock roof room root rope
rose rough round row royal rule run sad safe sail sailor salt sand save school sea season seat second secret
seed sell send sense serve set seven shadow shake shape share sharp sheep shelf shell shelter shine ship shirt
shoe shop shore short shot shoulder shout show shut sick side sign silence silent silk silver simple sing
single sister sit six size skin sky sleep slow small smell smile smoke snake snow soft soldier son song soon
sorry soul sound soup south space speak special speech speed spell spend spirit spring square staff stage
stair stand star start state station stay steel step stick stone stop store storm story strange stranger
stream strength strong student study sudden sugar summer sun supper sure surface sweet swim sword table tail
take talk tall taste tea teach teacher team tear tell temple ten test thick thin thing think third thirty
thousand three throat throne throw thunder ticket tide tie tiger time tiny tired title tomb tongue tonight
tool top touch tough tower town track trade train travel treasure tree trial trip trouble true trust truth try
tunnel turn twelve twenty twin two uncle union unknown valley value village visit voice wait wake walk wall
want war warm warn wash watch water wave way weak wealth wear weather wedding week welcome wet whale wheat wheel
white whole wide wife wild win wind window wine wing winter wise wish witch woman wonder wood word work world
worry write wrong yard year yellow young youth zero
anchor beacon buoy cargo deck ferry harbourmaster hull keeper lantern ledger log mast net oar quay rudder
signal skipper steam tug warden watchman wharf wreck
crane dove finch gull hawk heron lark owl robin sparrow swan wren
axe bucket chain hammer ink inkwell key ladder quill saw scroll seal spade wax
admiral baron bishop colonel count countess duchess duke earl emperor empress general governor judge knight
major mayor minister officer pope president professor sergeant sheriff
mum mom dad mama papa granny grandma grandpa auntie aunt
"""
"""Common English words that scripts capitalise (in titles, names of places, at the start of a line)."""

NAMES = """
adam alan albert alex alexander alice amanda amy andrew angela ann anna anne anthony arthur barbara ben benjamin
beth betty bill billy bob brian carol caroline catherine charles charlie charlotte chris christine christopher
claire daniel david deborah diana donald dorothy edward elizabeth ellen emily emma eric frank fred george grace
hannah harry helen henry jack jacob james jane janet jason jean jennifer jessica jim joe john jonathan joseph
julia julie kate katherine kevin laura lily linda lisa lucy margaret maria mark martha martin mary matthew
michael nancy nick oliver patrick paul peter rachel rebecca richard robert rose ruth sam samuel sarah simon
sophie steve stephen susan thomas tim tom victoria william
africa america asia australia britain canada china england europe france germany india ireland italy japan
london mexico new paris rome russia scotland spain texas wales washington york boston chicago california
florida atlantic pacific
"""
"""Names a model trained on English reads as English speakers say them."""

WORDS: frozenset[str] = frozenset((ORDINARY + NAMES).split())

SUFFIXES = (("ies", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e"), ("ing", ""), ("ing", "e"), ("er", ""),
            ("er", "e"), ("est", ""), ("ly", ""), ("al", "e"), ("ness", ""), ("ful", ""))


def ordinary(word: str) -> bool:
    """Whether ``word`` (any case) is one of these words, an inflection of one, or two of them joined
    (Lighthouse, Harbourmaster's)."""
    folded = word.casefold()
    return _known(folded) or any(_known(folded[:i], False) and _known(folded[i:])
                                 for i in range(3, len(folded) - 2))


def _known(word: str, inflected: bool = True) -> bool:
    if word in WORDS:
        return True
    return inflected and any(word.endswith(suffix) and len(word) > len(suffix) + 2 and word[: -len(suffix)] + stem
                             in WORDS for suffix, stem in SUFFIXES)
