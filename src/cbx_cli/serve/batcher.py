"""Batching across requests: one engine, shared by every request the server is working on.

`SharedEngine` wraps a loaded engine the way `BatchedEngine` wraps the stock one: callers on many threads (one per
request or queued job) call `synthesize` or `stream` as if they had the engine to themselves; a single dispatcher
thread gathers what they asked for while the engine was busy and hands it over as one call, so the chunks of ten
concurrent requests fill the engine's batches together. A caller's stream goes in parts of `part` takes, each part
one place in the queue, so a long job's takes are kept (and its progress told) part by part. The batched engine's
takes do not depend on what else is in their batch, so a request gets the same audio as it would alone (and as
`cbx say`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from cbx_cli.api import Engine, Piece, PieceSizes, Synthesis, TakeRequest, Voice, VoicePrompt

log = logging.getLogger(__name__)


@dataclass
class _Pending:
    """One caller's `synthesize` call, waiting for the dispatcher."""

    requests: list[TakeRequest]
    done: threading.Event = field(default_factory=threading.Event)
    result: list[Synthesis] | None = None
    error: BaseException | None = None


class SharedEngine(Engine):
    """An engine whose `synthesize` calls from many threads are merged into shared engine calls.

    ``max_chunks`` bounds one merged call (the inner engine splits it into its own batches); ``part`` is the takes a
    stream asks for at a time; ``on_batch`` is told the number of chunks and callers of every merged call (the
    server's metrics).
    """

    def __init__(self, inner: Engine, max_chunks: int = 64, on_batch: Callable[[int, int], None] | None = None,
                 part: int = 8):
        self.inner = inner
        self.max_chunks = max_chunks
        self.part = max(1, part)
        self.on_batch = on_batch
        self._waiting: list[_Pending] = []
        self._wake = threading.Condition()
        self._engine_lock = threading.Lock()
        self._closed = False
        self._thread: threading.Thread | None = None

    # -- the engine protocol, passed through ---------------------------------------------------------------------

    @property
    def sample_rate(self) -> int:
        return self.inner.sample_rate

    @property
    def info(self):
        return self.inner.info

    @property
    def timings(self) -> dict[str, float]:
        return self.inner.timings

    def identity(self) -> str:
        return self.inner.identity()

    def load(self) -> None:
        with self._engine_lock:
            self.inner.load()
        if self._thread is None:
            self._thread = threading.Thread(target=self._dispatch, name="cbx-batcher", daemon=True)
            self._thread.start()

    def voice(self, prompt: VoicePrompt | None) -> Voice:
        with self._engine_lock:  # the model is used by one thread at a time
            return self.inner.voice(prompt)

    def synthesize(self, requests: Sequence[TakeRequest]) -> list[Synthesis]:
        """The takes of ``requests``, in order, rendered in the next shared engine call."""
        pending = _Pending(list(requests))
        if not pending.requests:
            return []
        with self._wake:
            if self._closed:
                raise RuntimeError("the server is shutting down")
            self._waiting.append(pending)
            self._wake.notify()
        pending.done.wait()
        if pending.error is not None:
            raise pending.error
        assert pending.result is not None
        return pending.result

    def stream(self, requests: Sequence[TakeRequest]) -> Iterator[tuple[int, Synthesis]]:
        """(index, take) for every request, `part` at a time, each part rendered in the next shared engine call."""
        requests = list(requests)
        for start in range(0, len(requests), self.part):
            for i, take in enumerate(self.synthesize(requests[start : start + self.part])):
                yield start + i, take

    def stream_pieces(self, requests: Sequence[TakeRequest], sizes: PieceSizes,
                      follows: Sequence[int | None] | None = None) -> Iterator[tuple[int, Piece]]:
        """The inner engine's pieces, each step of its stream taken while holding the engine: other requests'
        merged calls run between one piece and the next, so a stream neither waits for them to end nor holds them
        up for longer than a piece."""
        pieces = self.inner.stream_pieces(requests, sizes, follows)
        try:
            while True:
                with self._engine_lock:
                    item = next(pieces, None)
                if item is None:
                    return
                yield item
        finally:
            with self._engine_lock:
                pieces.close()

    def stream_identity(self, sizes: PieceSizes) -> str:
        return self.inner.stream_identity(sizes)

    def voice_sample(self, voice: Voice):
        with self._engine_lock:
            return self.inner.voice_sample(voice)

    def close(self) -> None:
        """Stop the dispatcher after the call it is running; callers still waiting get an error."""
        with self._wake:
            self._closed = True
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=60)

    # -- the dispatcher ------------------------------------------------------------------------------------------

    def _take_waiting(self) -> list[_Pending] | None:
        """The callers for the next engine call (whole calls, oldest first, up to `max_chunks` chunks)."""
        with self._wake:
            while not self._waiting and not self._closed:
                self._wake.wait()
            if self._closed:
                for pending in self._waiting:
                    pending.error = RuntimeError("the server is shutting down")
                    pending.done.set()
                self._waiting = []
                return None
            group, size = [], 0
            while self._waiting and (not group or size + len(self._waiting[0].requests) <= self.max_chunks):
                pending = self._waiting.pop(0)
                group.append(pending)
                size += len(pending.requests)
            return group

    def _dispatch(self) -> None:
        while (group := self._take_waiting()) is not None:
            self._run(group)

    def _run(self, group: list[_Pending]) -> None:
        """One engine call for the whole group; if it fails, each caller alone, so one bad request fails alone."""
        requests = [r for pending in group for r in pending.requests]
        if self.on_batch:
            self.on_batch(len(requests), len(group))
        try:
            with self._engine_lock:
                results = self.inner.synthesize(requests)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread, which raises it
            if len(group) > 1:
                for pending in group:
                    self._run([pending])
                return
            group[0].error = exc
            group[0].done.set()
            return
        start = 0
        for pending in group:
            pending.result = results[start : start + len(pending.requests)]
            start += len(pending.requests)
            pending.done.set()
