"""The take cache, guards and render's bookkeeping (resume, retries), on the fake engine (tests/fakes.py).

The fake makes a tone per chunk so render's cache, retry and ordering logic can be checked exactly and fast; the
real engine's resume behaviour is tested in test_resume.py.
"""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest

from cbx_cli.config.params import AssemblySettings, SynthesisParams
from cbx_cli.engine.base import TakeRequest, Voice
from cbx_cli.errors import OutputError
from cbx_cli.parse.plain import parse_plain
from cbx_cli.plan.chunks import plan, retry_chunk
from cbx_cli.render.cache import TakeCache, check_cache, take_key
from cbx_cli.render.guards import check_take
from cbx_cli.render.takes import RenderInterrupted, RenderStats, render
from fakes import SR, FakeEngine, speech_like


def tone_engine(**knobs) -> FakeEngine:
    engine = FakeEngine()
    for name, value in knobs.items():
        setattr(engine, name, value)
    return engine


VOICE = Voice("file:0123", conditionals=None)


def requests_of(chunks, voice=VOICE):
    return [TakeRequest(c, voice) for c in chunks]


TEXT = "\n\n".join(f"Paragraph {i} says something worth hearing, at a calm and even pace." for i in range(6))


def chunks_of(text=TEXT):
    return plan(parse_plain(text), SynthesisParams(), AssemblySettings()).chunks


def test_cache_round_trip_and_checksum(tmp_path):
    cache = TakeCache(tmp_path)
    audio = speech_like(1.0, 3)
    cache.put("ab" * 32, audio, SR, tokens=25, text="hi")
    hit = cache.get("ab" * 32)
    assert hit is not None and np.array_equal(hit.audio, audio) and hit.tokens == 25
    path = next(tmp_path.glob("*/*.take"))
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF  # flip bits in the samples
    path.write_bytes(bytes(data))
    assert cache.get("ab" * 32) is None
    assert not path.exists() and cache.corrupt == 1


def test_truncated_entry_is_not_used(tmp_path):
    cache = TakeCache(tmp_path)
    cache.put("cd" * 32, speech_like(1.0, 4), SR)
    path = next(tmp_path.glob("*/*.take"))
    path.write_bytes(path.read_bytes()[:-100])
    assert cache.get("cd" * 32) is None


def test_key_covers_what_changes_audio():
    a = chunks_of("One sentence here.")[0]
    base = take_key("engine:x", "builtin", a)
    assert take_key("engine:y", "builtin", a) != base
    assert take_key("engine:x", "file:0123", a) != base
    assert take_key("engine:x", "builtin", retry_chunk(a, 1)) != base
    other = plan(parse_plain("One sentence here."), SynthesisParams(temperature=0.3), AssemblySettings()).chunks[0]
    assert take_key("engine:x", "builtin", other) != base
    assert take_key("engine:x", "builtin", a) == base


def test_info_and_clear(tmp_path):
    cache = TakeCache(tmp_path)
    for i in range(3):
        cache.put(f"{i:02d}" + "0" * 62, speech_like(0.5, i), SR)
    info = cache.info()
    assert info.entries == 3 and info.size_bytes > 3 * 0.5 * SR * 4
    old = next(tmp_path.glob("00/*.take"))
    past = time.time() - 10 * 86400
    os.utime(old, (past, past))
    assert cache.clear(older_than_days=5) == 1
    assert cache.info().entries == 2
    assert cache.clear() == 2 and cache.info().entries == 0


def test_resume_renders_only_missing_chunks(tmp_path):
    chunks = chunks_of()
    cache = TakeCache(tmp_path)
    with pytest.raises(RenderInterrupted) as exc:
        render(requests_of(chunks), tone_engine(fail_after=4), cache=cache)
    assert exc.value.saved == 4  # each take was kept as the engine handed it out
    engine = tone_engine()
    stats = RenderStats()
    resumed = render(requests_of(chunks), engine, cache=cache, stats=stats)
    assert stats.cached == 4 and stats.rendered == len(chunks) - 4
    assert engine.calls == [[4, 5]]
    fresh = render(requests_of(chunks), tone_engine())
    assert all(np.array_equal(a.audio, b.audio) for a, b in zip(resumed, fresh, strict=True))


def test_edit_one_paragraph_renders_only_it(tmp_path):
    cache = TakeCache(tmp_path)
    render(requests_of(chunks_of()), tone_engine(), cache=cache)
    edited = TEXT.replace("Paragraph 3 says", "Paragraph 3 now says")
    engine = tone_engine()
    render(requests_of(chunks_of(edited)), engine, cache=cache)
    assert engine.calls == [[3]]


def test_bad_take_is_retried_with_next_seed_then_kept_with_warning():
    chunks = chunks_of("A sentence that is long enough to judge its length.")
    first = chunks[0]
    engine = tone_engine(silent_seeds={first.seed, retry_chunk(first, 1).seed, retry_chunk(first, 2).seed})
    stats = RenderStats()
    takes = render(requests_of(chunks), engine, retries=2, stats=stats)
    assert [c for call in engine.calls for c in call] == [0, 0, 0]
    assert takes[0].chunk.seed == retry_chunk(first, 2).seed
    assert engine.voices == [VOICE.id] * 3  # the retries keep the request's voice
    assert takes[0].warnings == ["take is mostly silence"]
    assert stats.retried == 1 and stats.flagged == 1

    engine = tone_engine(silent_seeds={first.seed})
    takes = render(requests_of(chunks), engine, retries=2)
    assert takes[0].chunk.seed == retry_chunk(first, 1).seed and takes[0].warnings == []


def test_guards():
    chunk = chunks_of("Twelve words or so, enough to judge how long this ought to take.")[0]
    n = len(chunk.spoken)
    assert check_take(chunk, speech_like(n / 14, 1), SR, 40) == []
    assert check_take(chunk, speech_like(n / 14, 1), SR, chunk.max_tokens) == [
        f"ran to its token budget ({chunk.max_tokens} tokens) without stopping"
    ]
    assert check_take(chunk, np.zeros(SR * 3, np.float32), SR, 40) == ["is mostly silence"]
    assert check_take(chunk, speech_like(n / 1.0, 1), SR, 40)[0].startswith("is too long for its text")
    assert check_take(chunk, speech_like(n / 60, 1), SR, 40)[0].startswith("is too short for its text")


def test_check_cache_makes_the_folder_and_refuses_what_cannot_hold_takes(tmp_path):
    root = tmp_path / "new" / "takes"
    check_cache(root)
    assert root.is_dir() and list(root.iterdir()) == []  # made, and the probe is gone
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="is not a folder. Pass --cache-dir FOLDER, or --no-cache.$"):
        check_cache(tmp_path / "file")
    with pytest.raises(OutputError, match="cannot be written: Not a directory"):
        check_cache(tmp_path / "file" / "takes")
    key = "cd" + "1" * 62
    (root / "cd" / f"{key}.take").mkdir(parents=True)
    with pytest.raises(OutputError, match=r"has a folder at '.*\.take', where the cache keeps its own files"):
        check_cache(root)
    (root / "cd" / f"{key}.take").rmdir()
    (root / "ef").symlink_to(tmp_path)
    with pytest.raises(OutputError, match=r"has a link at '.*/ef', where the cache keeps its own files. Move or"):
        check_cache(root)


def test_a_take_that_cannot_be_stored_costs_a_rerender_not_the_run(tmp_path, caplog):
    cache = TakeCache(tmp_path)
    key = "ef" + "2" * 62
    (tmp_path / "ef" / f"{key}.take").mkdir(parents=True)
    cache.put(key, speech_like(0.5, 1), SR)  # a folder in the entry's place
    cache.put(key, speech_like(0.5, 1), SR)
    assert cache.get(key) is None and cache.unstored == 2
    assert [r.message for r in caplog.records if "cannot store" in r.message] != []
    assert not list(tmp_path.glob("ef/.tmp-*"))


def test_clear_removes_only_what_the_cache_wrote(tmp_path):
    cache = TakeCache(tmp_path)
    cache.put("aa" + "3" * 62, speech_like(0.5, 2), SR)
    (tmp_path / "ab" / ("ab" + "4" * 62 + ".take")).mkdir(parents=True)  # a folder named like an entry
    (tmp_path / "ab" / ("ab" + "4" * 62 + ".take") / "inner").write_text("x")
    (tmp_path / "ac").write_text("a file where a folder of entries belongs")
    (tmp_path / "aa" / ".tmp-unfinishd").write_text("a user's file named like a temporary write")
    (tmp_path / "aa" / ("aa" + "5" * 62 + ".take")).write_text("a user's file named like an entry")
    (tmp_path / "aa" / ".tmp-abcd1234").write_bytes(b"CBXTA")  # a write cut short by a kill: the cache's own
    (tmp_path / "notes.txt").write_text("not the cache's: left alone")
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert cache.clear() == 1
    after = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert sorted(set(before) - set(after)) == ["aa/.tmp-abcd1234", "aa/aa" + "3" * 62 + ".take"]


def test_clear_never_follows_a_link_out_of_the_cache(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = TakeCache(outside)
    victim.put("ab" + "6" * 62, speech_like(0.5, 4), SR)  # a take-shaped file elsewhere
    root = tmp_path / "cache"
    root.mkdir()
    (root / "ab").symlink_to(outside / "ab")  # a linked entry folder
    (root / "cd").mkdir()
    (root / "cd" / ("cd" + "7" * 62 + ".take")).symlink_to(next(outside.glob("ab/*.take")))  # a linked entry
    assert TakeCache(root).clear() == 0
    assert len(victim._entries()) == 1 and (root / "ab").is_symlink()
    assert (root / "cd" / ("cd" + "7" * 62 + ".take")).is_symlink()


def test_clear_honours_older_than_for_everything_it_deletes(tmp_path):
    cache = TakeCache(tmp_path)
    cache.put("aa" + "1" * 62, speech_like(0.5, 1), SR)
    temp = tmp_path / "aa" / ".tmp-zzzz9999"
    temp.write_bytes(b"CBXTAKE2\n{")
    assert cache.clear(older_than_days=1) == 0 and temp.exists()
    past = time.time() - 3 * 86400
    for path in tmp_path.glob("aa/*"):
        os.utime(path, (past, past), follow_symlinks=False)
    assert cache.clear(older_than_days=1) == 1 and not temp.exists()


def test_an_entry_moved_to_another_key_is_corrupt_and_rendered_again(tmp_path, caplog):
    cache = TakeCache(tmp_path)
    a, b = "a1" + "0" * 62, "b2" + "0" * 62
    cache.put(a, speech_like(0.5, 1), SR, text="first")
    cache.put(b, speech_like(0.7, 2), SR, text="second")
    pa, pb = cache._path(a), cache._path(b)
    data_a, data_b = pa.read_bytes(), pb.read_bytes()
    pa.write_bytes(data_b)
    pb.write_bytes(data_a)  # two valid entries swapped on disk
    assert cache.get(a, "first") is None and cache.get(b, "second") is None and cache.corrupt == 2
    assert sum("holds the take of another chunk" in r.message for r in caplog.records) == 2
    cache.put(a, speech_like(0.5, 1), SR, text="first")  # re-rendered, stored over the swapped entry
    assert cache.get(a, "first") is not None
    assert cache.get(a, "another text") is None  # the key's entry, asked for with a text it does not speak


def test_an_entry_that_is_a_link_or_a_device_is_never_read(tmp_path):
    cache = TakeCache(tmp_path)
    key = "cd" + "3" * 62
    (tmp_path / "cd").mkdir()
    cache._path(key).symlink_to("/dev/zero")
    assert cache.get(key) is None and cache.corrupt == 1
    cache.put(key, speech_like(0.5, 1), SR)  # nor replaced: it is not the cache's
    assert cache._path(key).is_symlink() and cache.unstored == 1


def test_an_earlier_versions_entry_is_a_miss_and_is_replaced(tmp_path):
    cache = TakeCache(tmp_path)
    key = "ee" + "4" * 62
    cache._path(key).parent.mkdir()
    cache._path(key).write_bytes(b"CBXTAKE1\n{}\n")
    assert cache.get(key) is None and cache.corrupt == 0
    cache.put(key, speech_like(0.5, 1), SR)
    assert cache.get(key) is not None


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_waits_for_the_entry_being_written(tmp_path, signum):
    cache = TakeCache(tmp_path)
    seen = []
    previous = signal.signal(signum, lambda s, frame: seen.append(len(cache._entries())))
    real_replace = os.replace

    def replace_after_a_signal(src, dst):
        os.kill(os.getpid(), signum)  # arrives mid-write
        real_replace(src, dst)

    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(os, "replace", replace_after_a_signal)
            cache.put("ad" + "5" * 62, speech_like(0.5, 3), SR)
    finally:
        signal.signal(signum, previous)
    assert seen == [1]  # the handler ran once, after the entry was in place
