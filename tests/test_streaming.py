"""Audio as it is made: takes in pieces from the engine, through the library, to stdout.

The engine tests run the real batched engine and S3Gen on the tiny checkpoint (random weights run every row to its
budget; a budget of 20 tokens gives a take of two pieces: 10 tokens, then the rest). The tests of the CLI's checks
and of the library's piece bookkeeping use the fake engine, which cuts its takes where a real engine's pieces end.
"""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys

import numpy as np
import pytest

from cbx_cli.render.cache import TakeCache
from clirun import run
from test_batched import chunk, one_torch_thread  # noqa: F401  (module-scoped, autouse: one torch thread)

# -- the engine, on the tiny checkpoint ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def engine(original_ckpt):
    from cbx_cli.engine import make_engine
    from cbx_cli.engine.base import EngineSpec

    eng = make_engine(EngineSpec(model="original", model_dir=original_ckpt, device="cpu"))
    eng.load()
    return eng


@pytest.mark.engine
def test_streamed_take_is_one_take_cached_and_the_same_in_any_batch(engine, tmp_path):
    from cbx_cli.engine.base import PieceSizes, TakeRequest
    from cbx_cli.render.takes import stream_takes

    voice = engine.voice(None)
    take = chunk(0, "The quick brown fox jumps over the lazy dog.", 20)
    cache = TakeCache(tmp_path)
    pieces = list(stream_takes([TakeRequest(take, voice)], engine, PieceSizes(10, 25), cache))
    assert len(pieces) >= 2 and pieces[-1].take is not None and all(p.take is None for p in pieces[:-1])
    joined = np.concatenate([p.audio for p in pieces])
    kept = pieces[-1].take
    assert np.array_equal(joined, kept.audio) and np.array_equal(joined, cache.get(kept.key).audio)
    assert kept.tokens == 20 and kept.warnings  # it ran to its budget: the guards said so when it ended

    # Again, uncached, behind a shorter chunk in the same T3 batch: rows stream on their own, to the same samples.
    other = chunk(1, "Hi there.", 8)
    again = list(stream_takes([TakeRequest(other, voice), TakeRequest(take, voice)], engine, PieceSizes(10, 25)))
    assert [p.index for p in again] == sorted(p.index for p in again)  # the takes in order, never interleaved
    assert np.array_equal(np.concatenate([p.audio for p in again if p.index == 1]), joined)


@pytest.mark.engine
def test_a_streamed_take_reads_the_first_seconds_of_a_long_reference(engine, voice_wav):
    """Every piece's flow reads the voice's prompt again: a streamed take reads its first 3 s (tokens and their mel
    frames cut together), a whole take all of it, and the take's length is its tokens' either way."""
    import torch

    from cbx_cli.engine.base import PieceSizes, VoicePrompt
    from cbx_cli.engine.s3gen_stream import PROMPT_TOKENS, TakeStream, decode_whole

    ref = engine.voice(VoicePrompt(voice_wav)).conditionals.gen
    assert ref["prompt_token"].shape[-1] > PROMPT_TOKENS  # a 6 s recording: 150 tokens
    stream = TakeStream(engine.stock.model, ref, 7, PieceSizes(10, 25), engine.sample_rate)
    assert stream.ref["prompt_token"].shape[-1] == PROMPT_TOKENS == int(stream.ref["prompt_token_len"][0])
    assert stream.ref["prompt_feat"].shape[-2] == 2 * PROMPT_TOKENS
    tokens = torch.arange(100, 124)
    short = decode_whole(engine.stock.model, ref, tokens, 7, engine.sample_rate)
    full = decode_whole(engine.stock.model, ref, tokens, 7, engine.sample_rate, prompt_tokens=None)
    assert len(short) == len(full) == 24 * 960 and not np.array_equal(short, full)


def wav_header(data: bytes) -> tuple[int, int, int]:
    """(channels, rate, bits) of a streamed WAV's header, checking its layout."""
    assert data[:4] == b"RIFF" and data[8:16] == b"WAVEfmt " and data[36:40] == b"data"
    fmt, channels, rate, _rate2, _align, bits = struct.unpack("<HHIIHH", data[20:36])
    assert fmt == 1
    return channels, rate, bits


@pytest.mark.engine
def test_stdout_gets_a_wav_while_the_take_is_made_and_a_cut_stream_keeps_the_cache_whole(original_ckpt, tmp_path):
    cache = tmp_path / "cache"
    args = [sys.executable, "-m", "cbx_cli", "say", "A sentence streamed as it is made.", "--stream", "-o", "-",
            "--model-dir", str(original_ckpt), "--device", "cpu", "--max-tokens", "20", "--cache-dir", str(cache)]
    child = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ.copy())
    first = child.stdout.read1(1 << 20)
    running = child.poll() is None  # the first bytes came while the take was still being made
    rest = child.stdout.read()
    _, err = child.communicate(timeout=60)
    assert child.returncode == 0, err.decode()
    assert running and len(first) >= 44
    assert wav_header(first) == (1, 24000, 16)
    samples = (len(first) + len(rest) - 44) // 2
    entries = list(cache.glob("*/*.take"))
    assert len(entries) == 1 and samples == len(TakeCache(cache).get(entries[0].stem).audio)  # no trim, no pad
    assert "first audio after" in err.decode()

    # Another seed, stopped by Ctrl-C after its first bytes: exit 130, one line, no entry of the cut take.
    child = subprocess.Popen([*args, "--seed", "9"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=os.environ.copy())
    assert child.stdout.read1(1 << 20)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 130 and "Traceback" not in err.decode() and "stream ended early" in err.decode()
    assert list(cache.glob("*/*.take")) == entries and not list(cache.glob("*/.tmp-*"))


# -- the library and the CLI around it (fake engine) ----------------------------------------------------------------


def test_narrator_stream_hands_out_finished_pieces_in_order(fake_engine, tmp_path):
    from cbx_cli.api import Narrator, Options

    narrator = Narrator(device="cpu", cache_dir=tmp_path / "cache", engine_factory=fake_engine)
    text = "A first sentence that is long enough to need more than one piece. And a second one, also long enough."
    pieces = list(narrator.stream(text, Options(max_chars=60, sample_rate=16000), first_piece=5))
    assert [p.chunk for p in pieces] == sorted(p.chunk for p in pieces) and {p.chunk for p in pieces} == {0, 1}
    assert all(sum(p.chunk == c for p in pieces) >= 2 for c in (0, 1))  # more than one piece per chunk
    assert [p.last for p in pieces].count(True) == 2 and all(p.sample_rate == 16000 for p in pieces)
    starts = np.cumsum([0] + [len(p.audio) for p in pieces[:-1]]) / 16000
    assert np.allclose([p.start for p in pieces], starts)
    assert max(float(np.abs(p.audio).max()) for p in pieces) <= 10 ** (-1 / 20) + 1e-6  # the limiter's ceiling
    again = list(narrator.stream(text, Options(max_chars=60, sample_rate=16000), first_piece=5))
    assert np.array_equal(np.concatenate([p.audio for p in again]), np.concatenate([p.audio for p in pieces]))
    assert fake_engine.last.made == 2  # the second stream came from the cache


def test_stream_to_stdout_pcm_and_its_checks(fake_engine, tmp_path):
    r = run(["say", "Raw samples to a pipe.", "--stream", "-o", "-", "--format", "pcm", "--quiet"])
    assert r.exit_code == 0, r.stderr
    assert len(r.stdout_bytes) % 2 == 0 and len(r.stdout_bytes) > 2000 and not r.stdout_bytes.startswith(b"RIFF")
    for args, words in ((["-o", str(tmp_path / "x.wav")], "--stream writes to stdout: use -o -"),
                        (["-o", "-", "--manifest", str(tmp_path / "m.json")], "leave out --manifest"),
                        (["-o", "-", "--format", "m4b"], "cannot be streamed"),
                        (["-o", "-", "--verify"], "cannot be verified"),
                        (["-o", "-", "--first-piece", "0"], "--first-piece")):
        r = run(["say", "Hello.", "--stream", *args])
        assert r.exit_code != 0 and words in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not list(tmp_path.glob("*.wav")) and not list(tmp_path.glob("*.json"))


def test_a_stream_cut_mid_take_keeps_only_whole_takes(fake_engine, tmp_path):
    fake_engine.knobs["fail_after"] = 1  # Ctrl-C after the second take's first piece
    cache = tmp_path / "cache"
    text = "A first paragraph, long enough to need more than one piece.\n\nAnd a second one, also long enough."
    r = run(["book", "-", "--stream", "-o", "-", "--cache-dir", str(cache)], input=text)
    assert r.exit_code == 130 and "the stream ended early; 1 finished takes are saved in the cache" in r.stderr
    entries = list(cache.glob("*/*.take"))
    assert len(entries) == 1 and TakeCache(cache).get(entries[0].stem) is not None
    assert not list(cache.glob("*/.tmp-*")) and r.stdout_bytes.startswith(b"RIFF")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache"]
