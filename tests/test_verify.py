"""Verification: alignment after normalization, tolerance, retakes, candidates, the two stages, the cache, trimming.

Takes come from the fake engine and transcripts from `ScriptedTranscriber`, a test double that returns chosen text
(tests/fakes.py); the real recognizer is tested in test_verify_asr.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from cbx_cli.api import prepare
from cbx_cli.engine.base import TakeRequest, Voice
from cbx_cli.plan.chunks import retry_chunk
from cbx_cli.render.cache import TakeCache
from cbx_cli.render.takes import RenderStats, render
from cbx_cli.verify.align import align, words_of
from cbx_cli.verify.asr import default_models
from cbx_cli.verify.judge import Verifier
from cbx_cli.verify.trim import FADE, MARGIN, trim_tail
from fakes import FakeEngine, ScriptedTranscriber

TEXT = "The parcel left the depot on Monday and reached the harbour two days later."
SHORT = "The parcel reached the harbour two days later."


def requests_for(text: str = TEXT) -> list[TakeRequest]:
    return [TakeRequest(chunk, Voice("builtin", None)) for chunk in prepare(text).chunks]


def dropping_word(seeds: set[int], word: str = "harbour"):
    """A transcript that misses ``word`` for takes with these seeds, and says the text otherwise."""
    return lambda chunk, seconds: chunk.spoken.replace(f" {word}", "") if chunk.seed in seeds else chunk.spoken


# -- alignment ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("written, heard", [
    ("She turned 31 in 1998.", "she turned thirty-one in nineteen ninety-eight"),
    ("It costs $5.", "It costs five dollars"),
    ("Dr. Reed opened at 8:30.", "Doctor Reed opened at eight thirty."),
    ("Don't stop.", "dont stop"),
])
def test_text_and_transcript_meet_after_the_planners_normalization(written, heard):
    spoken = prepare(written).chunks[0].spoken
    assert align(words_of(spoken), words_of(heard)).errors == 0


def test_errors_count_substitutions_deletions_and_insertions():
    expected = words_of("one two three four five six seven eight nine ten")
    assert align(expected, words_of("one two three four five six seven eight nine ten")).score == 1.0
    missing = align(expected, words_of("one two three five six seven eight nine ten"))
    assert (missing.errors, missing.score) == (1, 0.9)
    swapped = align(expected, words_of("one two tree four five six seven eight nine ten"))
    assert swapped.errors == 1
    inside = align(expected, words_of("one two two three four five six seven eight nine ten"))
    assert inside.errors == 1


def test_words_heard_after_the_texts_last_word_are_a_tail_not_errors():
    expected = words_of("the end of the story")
    a = align(expected, words_of("the end of the story the story uh huh"))
    assert (a.errors, a.last_heard, a.tail_words) == (0, 4, 4)
    nothing = align(expected, [])
    assert (nothing.errors, nothing.last_heard, nothing.score) == (5, None, 0.0)


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
    said = [(w, i * step, (i + 1) * step) for i, w in enumerate(words)]
    return said + [("la", half + 0.1, half + 0.3), ("la", half + 0.4, half + 0.6)]


def test_a_babbling_tail_is_cut_after_the_last_expected_word_with_a_fade():
    (request,) = requests_for()
    raw = FakeEngine()._take(request.chunk).audio
    sr = FakeEngine.sample_rate
    (take,) = render([request], FakeEngine(), verifier=Verifier(ScriptedTranscriber(say=babbling)))
    seconds = len(raw) / sr
    assert take.verdict.passed and take.verdict.alignment.tail_words == 2
    assert take.seconds == pytest.approx(seconds / 2 + MARGIN, abs=1 / sr)
    assert take.trimmed == pytest.approx(seconds / 2 - MARGIN, abs=1 / sr)
    kept = int(round((seconds / 2 + MARGIN - FADE) * sr))
    assert np.array_equal(take.audio[:kept], raw[:kept])  # nothing before the fade changes
    assert abs(take.audio[-1]) < 1e-3


def test_no_cut_into_a_word_the_text_has():
    (request,) = requests_for()
    # every word spoken, the last one ending 0.2 s before the take does: nothing to cut
    (take,) = render([request], FakeEngine(), verifier=Verifier(ScriptedTranscriber()))
    assert take.trimmed == 0.0
    # a failing take is never cut: its last aligned word may not be the text's
    failing = ScriptedTranscriber(say=lambda chunk, seconds: [*babbling(chunk, seconds)[:3], ("la", 2.0, 2.2)])
    (take,) = render([request], FakeEngine(), retries=0, verifier=Verifier(failing))
    assert not take.verdict.passed and take.trimmed == 0.0


def test_trim_tail_fades_to_silence_at_the_cut():
    audio = np.ones(24000, np.float32)
    out = trim_tail(audio, 24000, 0.5)
    assert len(out) == 12000 and out[0] == 1.0 and out[-1] == 0.0


def test_default_models_are_english_only_unless_a_chunk_is_not_english():
    assert default_models([None, "en", "en-GB"]) == ("base.en", "small.en")
    assert default_models([None, "fr"]) == ("base", "small")


def test_a_damaged_transcript_in_the_cache_is_heard_again(tmp_path):
    (request,) = requests_for(SHORT)
    cache = TakeCache(tmp_path / "takes")
    (take,) = render([request], FakeEngine(), cache=cache, verifier=Verifier(ScriptedTranscriber()))
    cache.put(take.key, take.audio, FakeEngine.sample_rate, take.tokens, take.chunk.spoken,
              {"scripted": {"text": "no words list"}})
    asr = ScriptedTranscriber()
    render([request], FakeEngine(), cache=TakeCache(tmp_path / "takes"), verifier=Verifier(asr))
    assert asr.heard == [(0, request.chunk.seed)]
