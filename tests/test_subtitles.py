import pytest

from cbx_cli.deliver.subtitles import Cue, cues, to_srt, to_vtt, wrap
from cbx_cli.plan.sentences import shown_sentences


def cues_from_manifest(chunks: list[dict]) -> list[Cue]:
    """The cues of manifest chunks, each take's sentences as a narration's captions give them."""
    return cues((c["start"], c["end"], shown_sentences(c["text"])) for c in chunks)


def test_chunk_time_is_shared_by_sentence_length():
    # 10 + 30 characters: the first sentence gets a quarter of the chunk's span
    chunks = [{"text": "One, two!! " + "Three four five six seven eight.", "start": 2.0, "end": 6.0}]
    first, second = "One, two!!", "Three four five six seven eight."
    assert (len(first), len(second)) == (10, 32)
    cues = cues_from_manifest(chunks)
    assert [c.text for c in cues] == [first, second]
    assert cues[0].start == 2.0
    assert cues[0].end == pytest.approx(2.0 + 4.0 * 10 / 42)
    assert cues[1].start == cues[0].end
    assert cues[1].end == 6.0


def test_cues_follow_the_manifest_and_skip_gaps():
    chunks = [
        {"text": "Hello there.", "start": 0.0, "end": 1.2, "seed": 1, "chapter": 0},
        {"text": "A second take.", "start": 1.6, "end": 3.0, "seed": 2, "chapter": 0},
    ]
    cues = cues_from_manifest(chunks)
    assert [(c.start, c.end, c.text) for c in cues] == [(0.0, 1.2, "Hello there."), (1.6, 3.0, "A second take.")]


def test_tags_are_not_shown_and_crossfades_do_not_overlap():
    chunks = [
        {"text": "Well [laugh] that was fun.", "start": 0.0, "end": 1.01},
        {"text": "[sigh]", "start": 1.0, "end": 1.5},
        {"text": "Next.", "start": 1.0, "end": 2.0},
    ]
    cues = cues_from_manifest(chunks)
    assert [c.text for c in cues] == ["Well that was fun.", "Next."]
    assert cues[0].end == 1.0


def test_srt_exact():
    cues = [Cue(0.0, 1.5, "Hello there."), Cue(1.5, 3661.0425, "Second line\nwrapped.")]
    assert to_srt(cues) == (
        "1\n00:00:00,000 --> 00:00:01,500\nHello there.\n\n"
        "2\n00:00:01,500 --> 01:01:01,042\nSecond line\nwrapped.\n"
    )


def test_vtt_exact():
    cues = [Cue(0.0, 1.5, "Hello there."), Cue(2.25, 4.0, "Fish & chips <3")]
    assert to_vtt(cues) == (
        "WEBVTT\n\n"
        "00:00:00.000 --> 00:00:01.500\nHello there.\n\n"
        "00:00:02.250 --> 00:00:04.000\nFish &amp; chips &lt;3\n"
    )


def test_from_manifest_to_srt():
    chunks = [{"text": "It was late. The rain had stopped.", "start": 0.5, "end": 3.9}]
    # 12 and 21 characters share 3.4 s: 12/33 of it is 1.236 s
    assert to_srt(cues_from_manifest(chunks)) == (
        "1\n00:00:00,500 --> 00:00:01,736\nIt was late.\n\n"
        "2\n00:00:01,736 --> 00:00:03,900\nThe rain had stopped.\n"
    )


def test_long_text_wraps_in_two_lines_and_keeps_every_word():
    text = "This sentence is long enough that it cannot sit on one subtitle line."
    (cue,) = wrap(text)
    lines = cue.split("\n")
    assert len(lines) == 2 and all(len(line) <= 42 for line in lines)
    assert " ".join(lines) == text


def test_very_long_sentence_becomes_several_timed_cues():
    words = [f"word{i}" for i in range(40)]
    text = " ".join(words) + "."
    cues = cues_from_manifest([{"text": text, "start": 0.0, "end": 10.0}])
    assert len(cues) > 1
    assert " ".join(c.text.replace("\n", " ") for c in cues) == text
    for cue in cues:
        lines = cue.text.split("\n")
        assert len(lines) <= 2 and all(len(line) <= 42 for line in lines)
    assert cues[0].start == 0.0 and cues[-1].end == 10.0
    assert all(a.end == b.start for a, b in zip(cues, cues[1:], strict=False))


def test_overlong_word_is_kept_whole():
    word = "x" * 60
    assert wrap(f"see {word} here") == [f"see\n{word}", "here"]


def test_empty():
    assert cues_from_manifest([{"text": "  ", "start": 0, "end": 1}]) == []
    assert to_srt([]) == ""
    assert to_vtt([]) == "WEBVTT\n"
