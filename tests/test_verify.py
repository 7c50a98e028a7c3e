"""Verification: alignment after normalization, tolerance and ends, retakes, candidates, the two stages, the cache,
trimming.

Transcripts here are written as faster-whisper writes its words (each with its leading space, figures in pieces:
" $3", ".50"), or come from `ScriptedTranscriber`, a test double that returns chosen text (tests/fakes.py), with
takes from the fake engine; real speech through a real recognizer is tested in test_verify_speech.py.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from cbx_cli.api import prepare
from cbx_cli.engine.base import TakeRequest, Voice
from cbx_cli.plan.chunks import retry_chunk
from cbx_cli.render.cache import TakeCache
from cbx_cli.render.takes import RenderStats, render
from cbx_cli.verify.align import Transcript, align, transcript_of, words_of
from cbx_cli.verify.asr import default_models
from cbx_cli.verify.judge import Verifier
from cbx_cli.verify.trim import FADE, MARGIN, MIN_TAIL, cut_point, trim_tail
from fakes import FakeEngine, ScriptedTranscriber

TEXT = "The parcel left the depot on Monday and reached the harbour two days later."
SHORT = "The parcel reached the harbour two days later."


def requests_for(text: str = TEXT) -> list[TakeRequest]:
    return [TakeRequest(chunk, Voice("builtin", None)) for chunk in prepare(text).chunks]


def dropping_word(seeds: set[int], word: str = "harbour"):
    """A transcript that misses ``word`` for takes with these seeds, and says the text otherwise."""
    return lambda chunk, seconds: chunk.spoken.replace(f" {word}", "") if chunk.seed in seeds else chunk.spoken


# -- alignment ---------------------------------------------------------------------------------------


def heard(text: str) -> Transcript:
    """A transcript whose recognizer words are ``text``'s pieces split before each space (and at each "|")."""
    return transcript_of([w for w in re.split(r"(?= )|\|", text) if w])


def errors(written: str, transcript: str) -> int:
    return align(words_of(prepare(written).chunks[0].spoken), heard(transcript)).errors


@pytest.mark.parametrize("written, transcript", [
    ("She turned 31 in 1998.", " She turned thirty-one in nineteen ninety-eight"),
    ("It costs $5.", " It costs five dollars"),
    ("Dr. Reed opened at 8:30.", " Doctor Reed opened at eight thirty."),
    ("Don't stop.", " dont stop"),
    # the recognizer's figures come in pieces: joined as written, never with spaces ("1 ,234")
    ("It rose 1,234 feet.", " It rose 1|,234 feet."),
    ("The fee was $3.50 in all.", " The fee was $3|.50 in all."),
    ("Doors open at 7.30am sharp.", " Doors open at 7|.30am sharp."),
    ("Ring 555-010-2233 now.", " Ring 555|-010|-2233 now."),
    ("Ring 555-010-2233 now.", " Ring 5|-5|-5|-0|-1|-0|-2|-2|-3|-3 now."),
    # either way round: words in the text, a figure in the transcript, in whichever reading was said
    ("It cost three fifty.", " It cost $3|.50."),
    ("We met at seven thirty.", " We met at 7.30."),
    ("The count was one thousand nine hundred ninety-nine.", " The count was 1999."),
    ("In 2010 it grew.", " In 20|10 it grew."),
    ("Flight 117 lands at 10:05 a.m.", " Flight 117 lands at 10 o 5 am"),
    # words written together or apart, and words said like number words
    ("Write to P.O. Box 5 every day.", " Write two PO Box 5 everyday."),
])
def test_text_and_transcript_meet_after_the_planners_normalization(written, transcript):
    assert errors(written, transcript) == 0


def test_each_spoken_word_maps_back_to_the_recognizer_words_it_was_read_from():
    t = heard(" The fee of $3|.50 was paid on March 4, 1999| and more.")
    by_words = {(u.first, u.last): u.readings[0] for u in t.units}
    assert by_words[(3, 4)] == ("three", "dollars", "and", "fifty", "cents")
    assert by_words[(8, 10)] == ("march", "fourth", "nineteen", "ninety", "nine")
    a = align(words_of("The fee of $3.50 was paid on March 4, 1999."), t)
    assert (a.errors, a.last_source, a.tail_words) == (0, 10, 2)  # the cut goes after " 1999", the figure's last


def test_errors_count_substitutions_deletions_and_insertions():
    expected = words_of("one two three four five six seven eight nine ten")
    assert align(expected, words_of("one two three four five six seven eight nine ten")).score == 1.0
    missing = align(expected, words_of("one two three five six seven eight nine ten"))
    assert (missing.errors, missing.score) == (1, 0.9)
    swapped = align(expected, words_of("one two tree four five six seven eight nine ten"))
    assert swapped.errors == 1
    inside = align(expected, words_of("one two two three four five six seven eight nine ten"))
    assert (inside.errors, inside.missing) == (1, 0) and inside.all_heard
    assert (missing.missing, missing.all_heard) == (1, False)


def test_a_word_spelled_alike_is_a_match_but_not_a_number_word_or_a_short_word():
    assert errors("Prof. Lindqvist reached the harbour.", " Professor Lindquist reached the harbor.") == 0
    assert errors("The rates fell.", " The rate fell.") == 0
    assert errors("It was 17 years.", " It was 70 years.") == 1  # seventeen, seventy
    assert errors("They ran home.", " The ran home.") == 1


def test_words_heard_after_the_texts_last_word_are_a_tail_not_errors():
    expected = words_of("the end of the story")
    a = align(expected, words_of("the end of the story the story uh huh"))
    assert (a.errors, a.last_heard, a.tail_words, a.all_heard) == (0, 4, 4, True)
    nothing = align(expected, [])
    assert (nothing.errors, nothing.last_heard, nothing.score, nothing.ends_present) == (5, None, 0.0, False)


def test_a_missing_first_or_last_word_fails_whatever_the_tolerance():
    text = "The parcel left the depot on Monday and reached the harbour two days later."
    (chunk,) = prepare(text).chunks
    lenient = Verifier(ScriptedTranscriber(), tolerance=0.5)

    def verdict(transcript: str):
        return lenient.verdict(chunk, ScriptedTranscriber(say=lambda c, s: transcript).transcribe(
            [np.zeros(24000, np.float32)], 24000, [chunk])[0], "scripted")

    assert verdict(text).passed
    assert verdict(text.replace("reached ", "")).passed  # a word in between: within the tolerance
    last = verdict(text.replace(" later.", "."))
    assert not last.passed and not last.alignment.last_present and last.alignment.errors == 1
    first = verdict(text.replace("The parcel", "Parcel"))
    assert not first.passed and not first.alignment.first_present
    babbled = verdict(text.replace(" later.", " uh huh."))  # a tail in the last word's place is not that word
    assert not babbled.passed and not babbled.alignment.last_present
    # an end word heard spelled another way was said, only misheard
    assert verdict("The parcel left the depot on Monday and reached the harbor two days latter.").passed


# -- retakes, candidates, stages ---------------------------------------------------------------------


def test_a_take_missing_a_word_is_retaken_with_the_next_seed_and_both_attempts_are_kept():
    (request,) = requests_for(SHORT)  # 8 words: one missing is more than the default tolerance of 1 in 10
    first = request.chunk.seed
    asr = ScriptedTranscriber(say=dropping_word({first}))
    engine, stats = FakeEngine(), RenderStats()
    (take,) = render([request], engine, retries=2, stats=stats, verifier=Verifier(asr))
    assert take.chunk.seed == retry_chunk(request.chunk, 1).seed
    assert [t.chunk.seed for t in take.tried] == [first, take.chunk.seed]
    records = [t.record(kept=t is take) for t in take.tried]
    assert [(r["passed"], r["kept"], r["errors"]) for r in records] == [(False, False, 1), (True, True, 0)]
    assert "harbour" not in records[0]["transcript"] and take.warnings == []
    assert (stats.retried, stats.flagged, stats.transcribed) == (1, 0, 2)


def test_tolerance_decides_what_passes():
    (request,) = requests_for()  # 14 words: one missing is 0.07 of them
    always = {request.chunk.seed} | {retry_chunk(request.chunk, a).seed for a in range(1, 4)}
    lenient = render([request], FakeEngine(), retries=2,
                     verifier=Verifier(ScriptedTranscriber(say=dropping_word(always)), tolerance=0.1))[0]
    assert lenient.attempts == 1 and lenient.verdict.passed
    strict = render([request], FakeEngine(), retries=2,
                    verifier=Verifier(ScriptedTranscriber(say=dropping_word(always)), tolerance=0.05))[0]
    assert strict.attempts == 3 and not strict.verdict.passed
    assert strict.warnings and "1 word errors in 14 words" in strict.warnings[0]


def test_candidates_keep_the_best_passing_take_ties_to_the_shorter():
    (request,) = requests_for()
    seeds = [retry_chunk(request.chunk, a).seed for a in range(3)]
    engine = FakeEngine()
    lengths = {s: len(engine._take(retry_chunk(request.chunk, a)).audio) for a, s in enumerate(seeds)}
    # all three say the text: the shortest wins
    (take,) = render([request], engine, verifier=Verifier(ScriptedTranscriber()), candidates=3)
    assert engine.calls == [[0, 0, 0]] and len(take.tried) == 3
    shortest = min(seeds, key=lambda s: (lengths[s], seeds.index(s)))
    assert take.chunk.seed == shortest or lengths[take.chunk.seed] == lengths[shortest]
    # the shortest misses a word: the best passing one wins over it
    (take,) = render([request], FakeEngine(), verifier=Verifier(ScriptedTranscriber(say=dropping_word({shortest}))),
                     candidates=3)
    assert take.chunk.seed != shortest and take.verdict.passed


def test_the_larger_model_hears_only_what_the_small_one_fails_and_its_verdict_stands():
    requests = requests_for(SHORT + "\n\nThe crew unloaded it at dawn.")
    assert len(requests) == 2
    misheard = requests[0].chunk.seed
    small = ScriptedTranscriber("small", say=dropping_word({misheard}))
    large = ScriptedTranscriber("large")
    takes = render(requests, FakeEngine(), retries=2, verifier=Verifier(small, large))
    assert large.heard == [(0, misheard)]  # only the failed take, and no retake was spent on it
    assert [t.attempts for t in takes] == [1, 1]
    assert takes[0].verdict.model == "large" and takes[1].verdict.model == "small"


def test_a_rerun_takes_transcripts_from_the_cache(tmp_path):
    requests = requests_for()
    cache = TakeCache(tmp_path / "takes")
    first = ScriptedTranscriber(say=dropping_word({requests[0].chunk.seed}))
    before = render(requests, FakeEngine(), cache=cache, retries=2, verifier=Verifier(first))
    again = ScriptedTranscriber(say=lambda chunk, seconds: "nothing like the text")
    stats = RenderStats()
    after = render(requests, FakeEngine(), cache=TakeCache(tmp_path / "takes"), retries=2, stats=stats,
                   verifier=Verifier(again))
    assert again.heard == [] and stats.transcribed == 0 and stats.rendered == 0
    assert [t.record(kept=t is after[0]) for t in after[0].tried] == \
        [t.record(kept=t is before[0]) for t in before[0].tried]
    assert np.array_equal(after[0].audio, before[0].audio)


# -- trimming ----------------------------------------------------------------------------------------


def babbling(chunk, seconds):
    """The text's words in the first half of the take, then babble."""
    words = chunk.spoken.split()
    half, step = seconds / 2, seconds / 2 / len(words)
    said = [(" " + w, i * step, (i + 1) * step) for i, w in enumerate(words)]
    return said + [(" la", half + 0.1, half + 0.3), (" la", half + 0.4, half + 0.6)]

SR = 24000


def speech(*parts: tuple[str, float]) -> np.ndarray:
    """Audio of ("voice" | "quiet", seconds) parts: a voiced tone, or near silence."""
    out = []
    for kind, seconds in parts:
        t = np.arange(int(seconds * SR)) / SR
        out.append(0.3 * np.sin(2 * np.pi * 180 * t) if kind == "voice" else 1e-4 * np.sin(2 * np.pi * 50 * t))
    return np.concatenate(out).astype(np.float32)


def test_the_cut_goes_into_the_pause_after_the_last_word_though_the_recognizer_times_it_early():
    # text until 2.0 s, a 0.4 s pause, a tail; the recognizer ends the last word at 1.7 and starts the tail at 1.8
    audio = speech(("voice", 2.0), ("quiet", 0.4), ("voice", 1.0))
    cut = cut_point(audio, SR, 1.7, (1.8, 2.6))
    assert 2.0 + FADE - 0.02 <= cut <= 2.0 + FADE + 0.02
    # no word heard after it: still the pause, not a fixed margin into the speech
    assert cut_point(audio, SR, 1.7) == cut
    # no pause at all: a margin after the end, unless the rest is too short to bother
    glued = speech(("voice", 3.0))
    assert cut_point(glued, SR, 1.0) == pytest.approx(1.0 + MARGIN)
    assert cut_point(glued, SR, 3.0 - MARGIN - MIN_TAIL / 2) is None


def test_a_tail_glued_to_the_last_word_is_cut_at_the_quietest_moment_before_it_ends():
    audio = speech(("voice", 2.0), ("quiet", 0.03), ("voice", 1.0))  # a gap shorter than a pause
    cut = cut_point(audio, SR, 1.9, (1.95, 2.5))
    assert 2.0 <= cut <= 2.03


def test_a_babbling_tail_is_cut_after_the_last_expected_word_with_a_fade():
    (request,) = requests_for()
    engine = FakeEngine()
    raw = engine._take(request.chunk).audio
    seconds = len(raw) / SR
    half = seconds / 2
    (take,) = render([request], FakeEngine(), verifier=Verifier(ScriptedTranscriber(say=babbling)))
    assert take.verdict.passed and take.verdict.alignment.tail_words == 2
    assert half <= take.seconds <= half + 0.3 and take.trimmed == pytest.approx(seconds - take.seconds)
    kept = int(round((take.seconds - FADE) * SR))
    assert np.array_equal(take.audio[:kept], raw[:kept])  # nothing before the fade changes
    assert abs(take.audio[-1]) < 1e-3


def test_a_failing_take_is_cut_only_where_all_its_text_was_heard():
    (request,) = requests_for()
    # every word spoken, the last one ending 0.2 s before the take does: nothing to cut
    (take,) = render([request], FakeEngine(), verifier=Verifier(ScriptedTranscriber()))
    assert take.trimmed == 0.0
    # a take that says little of its text keeps its tail: its last aligned word may not be the text's
    failing = ScriptedTranscriber(say=lambda chunk, seconds: [*babbling(chunk, seconds)[:3], (" la", 2.0, 2.2)])
    (take,) = render([request], FakeEngine(), retries=0, verifier=Verifier(failing))
    assert not take.verdict.passed and take.trimmed == 0.0

    # one that says all its text, but with words repeated in between, is flagged and cut all the same
    def stuttering(chunk, seconds):
        said = babbling(chunk, seconds)
        return said[:4] + [(w, s, e) for w, s, e in said[:3]] + said[4:]

    (take,) = render([request], FakeEngine(), retries=0, verifier=Verifier(ScriptedTranscriber(say=stuttering)))
    assert not take.verdict.passed and take.verdict.alignment.all_heard and take.trimmed > 0 and take.warnings

    # and one whose words were all heard, two of them misheard
    def mishearing(chunk, seconds):
        said = babbling(chunk, seconds)
        return [(" uh" if k in (2, 5) else w, s, e) for k, (w, s, e) in enumerate(said)]

    (take,) = render([request], FakeEngine(), retries=0, verifier=Verifier(ScriptedTranscriber(say=mishearing)))
    assert not take.verdict.passed and take.verdict.alignment.errors == 2 and take.trimmed > 0


def test_trim_tail_fades_to_silence_at_the_cut():
    audio = np.ones(24000, np.float32)
    out = trim_tail(audio, 24000, 0.5)
    assert len(out) == 12000 and out[0] == 1.0 and out[-1] == 0.0


def test_default_models_are_english_only_unless_a_chunk_is_not_english():
    assert default_models([None, "en", "en-GB"]) == ("base.en", "small.en")
    assert default_models([None, "fr"]) == ("base", "small")


@pytest.mark.parametrize("kept", [
    {"text": "no words list"},
    # the form before words kept their spaces: "1 ,234" would be read from it
    {"text": "The parcel reached", "words": [["The", 0.0, 0.2], ["parcel", 0.2, 0.5], ["reached", 0.5, 0.9]]},
])
def test_a_damaged_or_old_transcript_in_the_cache_is_heard_again(tmp_path, kept):
    (request,) = requests_for(SHORT)
    cache = TakeCache(tmp_path / "takes")
    (take,) = render([request], FakeEngine(), cache=cache, verifier=Verifier(ScriptedTranscriber()))
    cache.put(take.key, take.audio, FakeEngine.sample_rate, take.tokens, take.chunk.spoken, {"scripted": kept})
    asr = ScriptedTranscriber()
    render([request], FakeEngine(), cache=TakeCache(tmp_path / "takes"), verifier=Verifier(asr))
    assert asr.heard == [(0, request.chunk.seed)]
