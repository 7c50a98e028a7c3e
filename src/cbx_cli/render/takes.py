"""Chunks → takes: cache first, then the engine in batches, then guards with seeded retries.

The only stage that drives the engine. Every take is stored in the cache the moment its batch is done,
so a run cut off at any point loses no finished chunk.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from cbx_cli.engine.base import Engine, PieceSizes, TakeRequest
from cbx_cli.plan.chunks import Chunk, retry_chunk
from cbx_cli.render.cache import TakeCache, take_key
from cbx_cli.render.guards import check_take
from cbx_cli.verify.asr import Heard
from cbx_cli.verify.judge import Hearing, Verdict, Verifier
from cbx_cli.verify.trim import trim_tail

log = logging.getLogger(__name__)


@dataclass
class Take:
    chunk: Chunk
    """The chunk as finally rendered (its seed is the retry's, if it was retried)."""
    audio: np.ndarray
    seconds: float
    tokens: int | None = None
    from_cache: bool = False
    attempts: int = 1
    warnings: list[str] = field(default_factory=list)
    key: str | None = None
    """Its take-cache key (`take_key`)."""
    heard: dict[str, Heard] = field(default_factory=dict)
    """What speech recognition heard in it, by model name (kept in its cache entry)."""
    problems: list[str] = field(default_factory=list)
    """What the guards found wrong with it."""
    verdict: Verdict | None = None
    """How verification judged it (None: not verified)."""
    trimmed: float = 0.0
    """Seconds cut from its tail after its last expected word."""
    tried: list[Take] = field(default_factory=list)
    """Every take rendered for the chunk, in order, this one included (for the manifest)."""

    @property
    def passed(self) -> bool:
        return not self.problems and (self.verdict is None or self.verdict.passed)

    def record(self, kept: bool) -> dict:
        """This take as one of its chunk's attempts in the manifest."""
        v = self.verdict
        entry: dict = {"seed": self.chunk.seed, "seconds": round(self.seconds + self.trimmed, 3)}  # as rendered
        if v is not None:
            entry |= {"transcript": v.heard.text, "score": round(v.alignment.score, 3), "errors": v.alignment.errors}
        entry |= {"passed": self.passed, "kept": kept}
        if self.problems:
            entry["problems"] = self.problems
        return entry


@dataclass
class Progress:
    done: int
    """Chunks whose take is in hand (from the cache, or made and not yet judged)."""
    total: int
    audio_seconds: float
    """Seconds of audio of those takes."""
    elapsed: float
    cached: int = 0
    made_seconds: float = 0.0
    """Seconds of audio of the takes rendered in this run (not from the cache): what a speed figure counts."""
    stage: str = "rendering"
    """rendering, or verifying while the takes in hand are being heard."""


@dataclass
class RenderStats:
    rendered: int = 0
    cached: int = 0
    retried: int = 0
    flagged: int = 0
    corrupt: int = 0
    transcribed: int = 0
    """Takes heard by speech recognition in this run (not known from the cache)."""
    trimmed: int = 0
    """Kept takes cut after their last expected word."""


class RenderInterrupted(Exception):
    """Ctrl-C during a render; finished takes are already in the cache."""

    def __init__(self, saved: int, total: int):
        super().__init__(f"{saved} of {total} chunks saved")
        self.saved = saved
        self.total = total


ProgressFn = Callable[[Progress], None]


def _from_cache(
    requests: Sequence[TakeRequest], identity: str, sr: int, cache: TakeCache | None, stats: RenderStats
) -> tuple[list[Take], list[TakeRequest]]:
    """The takes the cache holds, and the requests it does not."""
    ready: list[Take] = []
    misses = []
    for request in requests:
        chunk = request.chunk
        key = take_key(identity, request.voice.id, chunk)
        hit = cache.get(key, chunk.spoken) if cache else None
        if hit is not None and hit.sample_rate == sr:
            heard = {name: h for name, data in hit.heard.items() if (h := Heard.from_json(data)) is not None}
            ready.append(Take(chunk, hit.audio, len(hit.audio) / sr, hit.tokens, from_cache=True, key=key,
                              heard=heard))
            stats.cached += 1
        else:
            misses.append(request)
    return ready, misses


def _synthesized(
    misses: Sequence[TakeRequest], engine: Engine, identity: str, cache: TakeCache | None
) -> Iterator[Take]:
    """The engine's takes for `misses`, all handed to its `stream` at once (it schedules them), each stored in the
    cache as soon as the engine hands it out."""
    sr = engine.sample_rate
    if not misses:
        return
    for i, made in engine.stream(misses):
        request = misses[i]
        chunk = request.chunk
        key = take_key(identity, request.voice.id, chunk)
        if cache:
            cache.put(key, made.audio, sr, made.tokens, chunk.spoken)
        yield Take(chunk, made.audio, len(made.audio) / sr, made.tokens, key=key)


@dataclass
class RenderRun:
    """What `render` works with from pass to pass: the engine and cache, and the chunks finished so far."""

    engine: Engine
    cache: TakeCache | None
    stats: RenderStats
    verifier: Verifier | None
    on_progress: ProgressFn | None
    total: int
    started: float = field(default_factory=time.monotonic)
    final: dict[int, Take] = field(default_factory=dict)

    made: float = 0.0
    """Seconds of audio rendered so far (every attempt, retries too)."""

    def report(self, extra: Sequence[Take] = (), stage: str = "rendering") -> None:
        if self.on_progress:
            done = {**{t.chunk.index: t for t in extra}, **self.final}
            self.on_progress(Progress(len(done), self.total, sum(t.seconds for t in done.values()),
                                      time.monotonic() - self.started, self.stats.cached, self.made, stage))


def _takes(pending: Sequence[TakeRequest], run: RenderRun) -> list[Take]:
    """Every pending request's take, from the cache or the engine, judged by the guards and (when verifying) by
    what it says. The engine gets every miss at once and schedules them itself (continuous batching)."""
    identity, sr = run.engine.identity(), run.engine.sample_rate
    ready, misses = _from_cache(pending, identity, sr, run.cache, run.stats)
    if ready:
        run.report(ready)
    for take in _synthesized(misses, run.engine, identity, run.cache):
        ready.append(take)
        run.stats.rendered += 1
        run.made += take.seconds
        run.report(ready)
    order = {(r.chunk.index, r.chunk.seed): i for i, r in enumerate(pending)}
    ready.sort(key=lambda t: order[t.chunk.index, t.chunk.seed])  # attempt order, cached or not
    for take in ready:
        take.problems = check_take(take.chunk, take.audio, sr, take.tokens)
    if run.verifier is not None:
        run.report(ready, "verifying")
        _verify([t for t in ready if not t.problems], run, sr)
    return ready


def _verify(takes: list[Take], run: RenderRun, sr: int) -> None:
    """Judge ``takes`` by what they say; transcripts new to a take are kept in its cache entry."""
    hearings = [Hearing(t.audio, t.chunk, dict(t.heard)) for t in takes]
    for take, hearing, verdict in zip(takes, hearings, run.verifier.judge(hearings, sr), strict=True):
        take.verdict = verdict
        if hearing.known.keys() != take.heard.keys():
            take.heard = hearing.known
            if run.cache and take.key:
                run.cache.put(take.key, take.audio, sr, take.tokens, take.chunk.spoken,
                              {name: h.to_json() for name, h in take.heard.items()})
    run.stats.transcribed = run.verifier.transcribed


def _ranking(take: Take) -> tuple[int, int]:
    """(word errors, ends missing) of a verified take; (0, 0) for one not verified."""
    if take.verdict is None:
        return 0, 0
    a = take.verdict.alignment
    return a.errors, (not a.first_present) + (not a.last_present)


def _best(takes: list[Take]) -> Take:
    """The take to keep: a passing one with the fewest word errors, then the fewest of its text's ends missing,
    then the shorter; when none passes, the one with the fewest problems, then word errors, then ends missing, ties
    to the later (a retry's)."""
    passing = [t for t in takes if t.passed]
    if passing:
        return min(passing, key=lambda t: (*_ranking(t), t.seconds))
    n = len(takes)
    return min(reversed(takes), key=lambda t: (len(t.problems), *(_ranking(t) if t.verdict else (n, 2))))


def _keep(take: Take, tried: list[Take], sr: int, stats: RenderStats) -> Take:
    """The chunk's final take: its attempts recorded, its tail trimmed after its last expected word, its problems
    (if it still has some) as warnings."""
    take.tried = tried
    take.attempts = len(tried)
    cut = take.verdict.cut(take.audio, sr) if take.verdict else None
    if cut is not None:
        take.audio = trim_tail(take.audio, sr, cut)
        take.trimmed = take.seconds - len(take.audio) / sr
        take.seconds = len(take.audio) / sr
        stats.trimmed += 1
    if not take.passed:
        take.warnings = [f"take {p}" for p in take.problems]
        if take.verdict is not None and not take.problems:
            take.warnings.append(f"take {take.verdict.describe()}")
        stats.flagged += 1
    return take


def render(
    requests: Sequence[TakeRequest],
    engine: Engine,
    on_progress: ProgressFn | None = None,
    cache: TakeCache | None = None,
    retries: int = 0,
    stats: RenderStats | None = None,
    verifier: Verifier | None = None,
    candidates: int = 1,
) -> list[Take]:
    """Synthesize every request's chunk (or take it from the cache), keeping the best of ``candidates`` takes and
    retrying bad ones with the next derived seed, up to ``retries`` more. With a ``verifier``, a take is also
    judged by what it says, and a kept take that passes is cut after its last expected word.

    A retry keeps its request's voice.
    """
    run = RenderRun(engine, cache, stats if stats is not None else RenderStats(), verifier, on_progress, len(requests))
    tried: dict[int, list[Take]] = {r.chunk.index: [] for r in requests}
    voice = {r.chunk.index: r.voice for r in requests}
    pending = [TakeRequest(retry_chunk(r.chunk, a) if a else r.chunk, r.voice)
               for r in requests for a in range(candidates)]
    try:
        while pending:
            new: dict[int, list[Take]] = {}
            for take in _takes(pending, run):
                new.setdefault(take.chunk.index, []).append(take)
            pending = []
            for index, made in new.items():
                tried[index] += made
                takes = tried[index]
                if not any(t.passed for t in takes) and len(takes) < candidates + retries:
                    run.stats.retried += len(takes) == candidates
                    pending.append(TakeRequest(retry_chunk(takes[0].chunk, len(takes)), voice[index]))
                    continue
                run.final[index] = _keep(_best(takes), takes, engine.sample_rate, run.stats)
    except KeyboardInterrupt:
        raise RenderInterrupted(run.stats.rendered + run.stats.cached, len(requests)) from None
    finally:
        if cache:
            run.stats.corrupt = cache.corrupt
    run.report()
    return [run.final[r.chunk.index] for r in requests]


@dataclass
class StreamedPiece:
    """A stretch of one request's take as `stream_takes` hands it out."""

    index: int
    """The request's position in the call."""
    audio: np.ndarray
    """float32 mono at the engine's rate: the take's samples after its previous piece."""
    take: Take | None = None
    """On the take's last piece only: the whole take, judged by the guards and already in the cache."""


def stream_takes(
    requests: Sequence[TakeRequest],
    engine: Engine,
    sizes: PieceSizes,
    cache: TakeCache | None = None,
    stats: RenderStats | None = None,
) -> Iterator[StreamedPiece]:
    """Every request's take, in request order, a piece at a time as the engine makes it (`Engine.stream_pieces`):
    a cached take comes as one piece, a missing one in pieces of ``sizes``, each take starting once the one before
    it has ended. A take's pieces joined are the take; it is stored in the cache (keyed by the engine's
    `stream_identity`) before its last piece is handed out, so a stream cut off at any point leaves each take's
    entry complete or absent. Guards judge a take when it ends: its problems become warnings, but it is not made
    again (its start has already been heard)."""
    stats = stats if stats is not None else RenderStats()
    identity, sr = engine.stream_identity(sizes), engine.sample_rate
    keys = [take_key(identity, r.voice.id, r.chunk) for r in requests]
    cached: dict[int, Take] = {}
    for n, request in enumerate(requests):
        hit = cache.get(keys[n]) if cache else None
        if hit is not None and hit.sample_rate == sr:
            cached[n] = Take(request.chunk, hit.audio, len(hit.audio) / sr, hit.tokens, from_cache=True, key=keys[n])
            stats.cached += 1
    misses = [n for n in range(len(requests)) if n not in cached]
    heard = 0
    """Requests whose takes have ended."""

    def cached_before(n: int) -> Iterator[StreamedPiece]:
        nonlocal heard
        while heard < n:
            take = _judged(cached[heard], sr, stats)
            yield StreamedPiece(heard, take.audio, take)
            heard += 1

    if misses:
        follows = [None, *range(len(misses) - 1)]
        for j, piece in engine.stream_pieces([requests[n] for n in misses], sizes, follows):
            n = misses[j]
            yield from cached_before(n)
            if not piece.last:
                yield StreamedPiece(n, piece.audio)
                continue
            made, chunk = piece.take, requests[n].chunk
            if cache:
                cache.put(keys[n], made.audio, sr, made.tokens, chunk.spoken)
            stats.rendered += 1
            heard = n + 1
            yield StreamedPiece(n, piece.audio, _judged(Take(chunk, made.audio, len(made.audio) / sr, made.tokens,
                                                             key=keys[n]), sr, stats))
    yield from cached_before(len(requests))
    if cache:
        stats.corrupt = cache.corrupt


def _judged(take: Take, sr: int, stats: RenderStats) -> Take:
    """A streamed take with the guards' problems as its warnings."""
    take.problems = check_take(take.chunk, take.audio, sr, take.tokens)
    take.tried = [take]
    if take.problems:
        take.warnings = [f"take {p}" for p in take.problems]
        stats.flagged += 1
    return take
