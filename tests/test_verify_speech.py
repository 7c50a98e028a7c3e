"""Verification on real speech and a real recognizer: espeak-ng speaks every take through `EspeakTestEngine`, a
test engine plugged in with `Narrator(engine_factory=...)`, and the real Whisper tiny.en (int8, CPU) hears it.

The script is figure-heavy on purpose (money, dates, years, clock times, telephone numbers, abbreviations, names):
the recognizer writes figures its own way ("$3.50", "7.30 am", "555-010-2233"), and the planner's words must meet
them. The smallest Whisper on synthetic speech mishears some names and words outright; the bounds below are the
false-failure rates it reaches here, with one take of slack: honest takes, 2 of 30 (7%); figures read aloud by
espeak-ng from the text as written, 3 of 12. Every one is a word misheard ("Now come your round" for "Miz Nakamura
ran", "to the bag" for "to the bank", "another 3.50" for "three dollars fifty"), none comes from how figures are
matched.
"""

from __future__ import annotations

import pytest

from cbx_cli.api import Narrator, manifest
from cbx_cli.config.params import NarrationOptions
from cbx_cli.errors import RenderError
from cbx_cli.plan.chunks import retry_chunk
from cbx_cli.verify.judge import Verifier
from speech import (
    ESPEAK,
    ESPEAK_RATE,
    TAIL,
    EspeakTestEngine,
    espeak,
    figures_as_written,
    honest,
    last_word_dropped_on_first_seed,
    with_tail,
    wrong_sentence,
)

pytestmark = pytest.mark.skipif(ESPEAK is None, reason="espeak-ng is not installed (apt-get install espeak-ng)")

SCRIPT = """\
The invoice for $3.50 was paid on March 4, 1999 at 7.30am.

Call 555-010-2233 before 9 AM on Friday.

Dr. Okafor said that 40% of the 1,234 patients had recovered by 2021.

The last train leaves at 6:45 p.m. and costs £12.99 for each adult.

On 12/03/2020 the company earned €2.5 million, up 3.2% on the year before.

Mrs. Patel moved to Baker St. in the 1980s with her 3 children.

The bridge is 1,280 meters long and opened on July 14, 1937.

Flight BA 117 lands at 10:05 a.m. on Tuesday the 21st.

Prof. Lindqvist paid $1,250 for 2 tickets to the 19th century exhibit.

Send the forms to P.O. Box 482 by the 1st of June.

The population grew from 8,500 in 1950 to 42,000 in 2010.

Our office hours are 9am-5pm, Monday to Friday, except on Jan. 1.

Mr. Haddad bought 3 kg of apples for $4.75 at the market on Main St.

The meeting on Oct. 9 starts at 2:15 p.m. in room 204.

Her grandmother was born in 1926 and lived to be 101 years old.

About 7.5% of the 2,400 votes were cast before noon.

Ms. Nakamura ran the 10 km race in 48 minutes and 12 seconds.

You can reach the help desk at 1-800-555-0199 any day of the week.

The rent went up from $950 to $1,100 a month in 2019.

Capt. Reyes flew 6 missions between Aug. 3 and Sept. 28, 1944.

The recipe needs 2 cups of flour, 1.5 teaspoons of salt and 3 eggs.

St. Louis is about 300 miles from Chicago by car.

The museum closes at 5:30 p.m. on weekdays and at 8 p.m. on Saturdays.

In 2008 the company employed 15,000 people in 12 countries.

Gen. Alvarez signed the treaty on the 2nd of May, 1815.

The ticket costs €45, or €30 for students under 26.

Lt. Brooks called at 11:20 p.m. from extension 4417.

The tower is 324 meters tall and was finished in 1889.

Interest rates fell to 0.25% in March 2020.

Dr. Schmidt will see you on Thursday, Feb. 27 at 3 o'clock.
"""
PARAGRAPHS = SCRIPT.split("\n\n")
SOME = "\n\n".join(PARAGRAPHS[i] for i in (0, 2, 4, 6, 10, 14, 18, 22))
"""Eight paragraphs for the faults: figures at their ends and inside them."""
FIGURES = """\
The invoice for $3.50 was paid in 1999.

She was born on March 4, 1962.

Prices rose by 40% between 2019 and 2021.

The hall holds 1,234 people.

The train leaves at 6:45 and arrives at 9:15.

He owes $1,250 to the bank.

The town had 8,500 people in 1950.

Only 7.5% of the 2,400 votes were counted.

The tower is 324 meters tall.

Call 555-0147 after 5 o'clock.

The rent rose from $950 to $1,100 in 2019.

The recipe needs 2 cups of flour and 3 eggs.
"""
"""Figures that espeak-ng reads aloud itself, from the text as written, as the planner would."""


@pytest.fixture
def narrate(monkeypatch, tiny_en, tiny_en_asr):
    """Narrates text with `EspeakTestEngine` speaking as ``say`` does, verified by the session's tiny.en."""
    monkeypatch.setattr("cbx_cli.verify.asr.make_transcriber",
                        lambda name, device, batch_size=8: tiny_en_asr)

    def run(text: str, say, **options):
        narrator = Narrator(engine_factory=lambda spec, store: EspeakTestEngine(spec, say), cache_dir=None,
                            device="cpu")
        opts = NarrationOptions(verify=True, verify_model=str(tiny_en), recheck_model="none", **options)
        return narrator.narrate(narrator.prepare(text, opts))

    return run


def first_takes(narration):
    return [take.tried[0] for take in narration.takes]


def heard_again(asr, narration) -> list:
    """Each chunk's stretch of the finished program (its take and the pause after it), heard again: verdicts."""
    sr = narration.sample_rate
    starts = [int(a * sr) for a, _ in narration.spans]
    pieces = [narration.audio[a:b] for a, b in zip(starts, [*starts[1:], len(narration.audio)], strict=True)]
    chunks = [take.chunk for take in narration.takes]
    verifier = Verifier(asr)
    return [verifier.verdict(c, h, asr.name) for c, h in zip(chunks, asr.transcribe(pieces, sr, chunks), strict=True)]


def test_honest_takes_of_a_figure_heavy_script_pass(narrate):
    narration = narrate(SCRIPT, honest, retries=0)
    assert len(narration.takes) == 30
    failed = [t for t in first_takes(narration) if not t.passed]
    assert len(failed) <= 3, [t.verdict.describe() for t in failed]
    assert narration.stats.transcribed == 30 and narration.duration > 150
    entries = manifest(narration)["chunks"]
    assert sum(e["verified"] for e in entries) == 30 - len(failed)
    assert all(e["transcript"] and 0 <= e["score"] <= 1 for e in entries)


def test_figures_read_aloud_as_written_pass(narrate):
    narration = narrate(FIGURES, figures_as_written, retries=0)
    firsts = first_takes(narration)
    assert sum(not t.passed for t in firsts) <= 4, [t.verdict.describe() for t in firsts if not t.passed]
    # what passes was written down in figures by the recognizer, and met the planner's words
    assert sum(t.passed and any(c.isdigit() for c in t.verdict.heard.text) for t in firsts) >= 8


def test_a_dropped_last_word_is_caught_and_retaken(narrate):
    narration = narrate(SOME, last_word_dropped_on_first_seed, retries=1)
    firsts = first_takes(narration)
    assert all(not t.passed and not t.verdict.alignment.last_present for t in firsts), \
        [t.verdict.describe() for t in firsts if t.passed]
    kept = narration.takes
    assert all(t.attempts == 2 for t in kept)
    assert sum(t.passed and t.chunk.seed == retry_chunk(t.chunk, 1).seed for t in kept) >= len(kept) - 2


def test_an_appended_tail_is_cut_and_the_output_says_the_text_and_nothing_after(narrate, tiny_en_asr):
    narration = narrate(SOME, with_tail, retries=0)
    tail_seconds = len(espeak(TAIL)) / ESPEAK_RATE
    cut = [t for t in narration.takes if t.trimmed]
    assert len(cut) >= len(narration.takes) - 2
    assert all(t.trimmed > 0.8 * tail_seconds for t in cut)
    again = heard_again(tiny_en_asr, narration)
    for take, verdict in zip(narration.takes, again, strict=True):
        if take.trimmed:
            words = verdict.alignment
            assert words.tail_words == 0 and words.last_present, verdict.describe()
            assert not {"cat", "mat"} & set(verdict.heard.text.lower().replace(".", "").split())


def test_a_wrong_sentence_fails_every_take_and_is_flagged(narrate):
    two = "\n\n".join(PARAGRAPHS[:2])
    narration = narrate(two, wrong_sentence, retries=1)
    assert all(len(t.tried) == 2 and not any(a.passed for a in t.tried) for t in narration.takes)
    assert all(t.warnings and "word errors" in t.warnings[0] for t in narration.takes)
    assert all(t.trimmed == 0 for t in narration.takes)
    with pytest.raises(RenderError, match="still bad"):
        narrate(two, wrong_sentence, retries=0, strict=True)


EDGES = [
    "We met Dr. Reed at 9 a.m.",
    "11 p.m. was too late for Mr. Cole.",
    "He paid $4.50 at 7.30 a.m.",
    "1,500 people came by 10 p.m.",
    "Mrs. Ito called 555-0147.",
    "St. Ives is 300 km away, i.e. far.",
]
"""Takes that begin and end with figures and abbreviations, whose words a recognizer could run across an edge."""


@pytest.mark.parametrize("batch_size", [1, 4])
def test_takes_heard_together_each_say_what_they_say_alone(tiny_en_asr, batch_size):
    from cbx_cli.api import prepare

    chunks = prepare("\n\n".join(EDGES)).chunks
    takes = [espeak(c.spoken) for c in chunks]
    alone = [tiny_en_asr.transcribe([take], ESPEAK_RATE, [c])[0] for take, c in zip(takes, chunks, strict=True)]
    tiny_en_asr.batch_size = batch_size
    try:
        together = tiny_en_asr.transcribe(takes, ESPEAK_RATE, chunks)
    finally:
        tiny_en_asr.batch_size = 1
    for one, with_others, take in zip(alone, together, takes, strict=True):
        assert [w.text for w in with_others.words] == [w.text for w in one.words]
        assert all(0 <= w.start <= w.end <= len(take) / ESPEAK_RATE + 1e-4 for w in with_others.words)  # resampled
        # one take per batch on the CPU: its times are its own; in a larger batch the first word's start and end (and
        # so the second's start) may follow the take before it (faster-whisper's timing of a first word after a
        # pause), never the other words'
        if batch_size == 1:
            assert [(w.start, w.end) for w in with_others.words] == [(w.start, w.end) for w in one.words]
        else:
            assert [w.end for w in with_others.words[1:]] == [w.end for w in one.words[1:]]
