"""The batched engine: many chunks through T3 and S3Gen at once, each take independent of its neighbours.

`BatchedEngine` wraps a loaded stock `ChatterboxEngine` (its model, voices and loader) and adds batching around
it (`stream`): every request of a call, of any voice, goes into one T3 scheduler, longest first
(`t3_batch.T3BatchDecoder.stream`: continuous batching, rows halved when memory runs out); rows that finish wait
per voice and go through `s3gen_batch.watermarked_takes` together, by length. Turbo's T3 is batched too
(`t3_batch.TurboBatchDecoder`: its batches are not refilled, but its rows are handed out at check points as the
original's are, finished or, when streaming, as they draw) and its mean-flow S3Gen goes the same way;
multilingual goes through the wrapped engine one chunk at a time.

Batch invariance: the same chunk gives the same tokens alone or in any batch, and the same audio up to float
rounding (~1e-6 relative): with batched S3Gen on CUDA, padded lengths change matrix shapes and so the order of
float sums; on the CPU a chunk decoded alone uses all threads, one in a batch uses one thread, and MKL's sums
depend on the thread count (with one torch thread, CPU takes are bit-for-bit identical). T3's logits get the
same rounding-level differences from padding, which could flip a sampled token only at an exact near-tie.

Device profile (`CBX_DEVICE_PROFILE`, or the `profile` argument): `auto` takes the GPU's code paths on CUDA only;
`gpu` takes them on any device (full-size KV cache, graph-shaped decode steps and their compaction rule, the
bfloat16 T3 copy, S3Gen's flow batched with padded rows), `gpu-fp32` the same in float32. Only CUDA graph capture
and replay stay CUDA-only. So a CPU runs, and the tests check, what a GPU runs.

Safety net: an error other than running out of memory in the batched path sends the rest of the run down the
stock per-chunk path, with one warning; the takes already made are kept.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Iterator, Sequence

import numpy as np

from cbx_cli.engine.base import (
    Engine,
    EngineInfo,
    Piece,
    PieceSizes,
    Synthesis,
    TakeRequest,
    Voice,
    VoicePrompt,
    in_turn,
)
from cbx_cli.engine.s3gen_batch import watermarked_takes
from cbx_cli.engine.stock import ChatterboxEngine, stream_take, tokens_generated, with_exaggeration
from cbx_cli.engine.t3_batch import T3BatchDecoder, TurboBatchDecoder, is_oom
from cbx_cli.errors import ParamError

log = logging.getLogger(__name__)

CPU_MAX_BATCH = 8
CUDA_MAX_BATCH = 64
CHUNK_BYTES_CUDA = 1 << 30
"""A generous estimate of GPU memory per chunk in flight (bf16 KV cache for 1000 tokens + S3Gen activations)."""
PROFILE_ENV = "CBX_DEVICE_PROFILE"
PROFILES = ("auto", "gpu", "gpu-fp32")
"""Device profiles (module docstring): which code paths the batched engine takes."""


class BatchedEngine(Engine):
    """Synthesizes many chunks per forward pass; each chunk's take depends only on its text, settings and seed."""

    kind = "BatchedChatterboxEngine"
    """The engine's name in `identity()` (and so in cache keys)."""

    def __init__(self, stock: ChatterboxEngine, max_batch: int | None = None, profile: str | None = None):
        self.stock = stock
        self.profile = profile or os.environ.get(PROFILE_ENV) or "auto"
        if self.profile not in PROFILES:
            raise ParamError(f"{PROFILE_ENV}={self.profile!r} is not a device profile. "
                             f"Use one of: {', '.join(PROFILES)}.")
        self.fell_back = False
        """Set when the batched path failed: the rest of the run goes through the stock engine."""
        """The wrapped engine: loads the model, keeps the voices, and synthesizes what is not batched."""
        self.max_batch = max_batch or CPU_MAX_BATCH
        self._fixed_batch = max_batch is not None
        self.timings: dict[str, float] = {"t3": 0.0, "s3gen": 0.0}
        self.s3gen_batch: int | None = None
        """Chunks per S3Gen flow-decoder batch; None: the T3 batch on CUDA, 1 elsewhere (on a CPU a batched flow
        decoder is no faster than one chunk at a time, and one at a time is bit-exact with stock)."""
        self.cpu_workers = True
        """On the CPU, decode several chunks' S3Gen flow at once, one thread each (see `watermarked_takes`)."""
        self.t3: T3BatchDecoder | TurboBatchDecoder | None = None

    @property
    def sample_rate(self) -> int:
        return self.stock.sample_rate

    @property
    def info(self) -> EngineInfo:
        return self.stock.info

    def identity(self) -> str:
        return f"{self.kind}:{self.stock.spec.model}:{self.info.checkpoint_id}"

    def voice(self, prompt: VoicePrompt | None = None) -> Voice:
        return self.stock.voice(prompt)

    @property
    def gpu_shaped(self) -> bool:
        """Whether this engine takes the GPU's code paths: on CUDA, or under the `gpu` / `gpu-fp32` profiles."""
        return self.info.device == "cuda" or self.profile != "auto"

    def load(self) -> None:
        self.stock.load()
        if self.batchable() and self.stock.spec.model == "turbo":
            self.t3 = TurboBatchDecoder(self.stock.model.t3, self.stock.model.tokenizer)
            self._prepare_cuda()
        elif self.batchable():
            self.t3 = T3BatchDecoder(self.stock.model.t3, self.stock.model.tokenizer, self.gpu_shaped)
            if self.gpu_shaped and self.profile != "gpu-fp32":
                self.t3.make_bf16_copy()
            self._prepare_cuda()

    def batchable(self) -> bool:
        model = self.stock.model
        return self.stock.spec.model in ("original", "turbo") and model is not None and not model.t3.hp.is_multilingual

    def _prepare_cuda(self) -> None:  # pragma: no cover - GPU only
        """Batch size from free GPU memory."""
        if self.info.device != "cuda":
            return
        import torch

        if not self._fixed_batch:
            free, _total = torch.cuda.mem_get_info()
            self.max_batch = int(max(1, min(CUDA_MAX_BATCH, (free * 0.6) // CHUNK_BYTES_CUDA)))
        log.info("batched engine: up to %d chunks per batch on CUDA", self.max_batch)

    # -- synthesis -------------------------------------------------------------------------------------------------

    def synthesize(self, requests: Sequence[TakeRequest]) -> list[Synthesis]:
        """One take per request, in order (`stream`, collected)."""
        requests = list(requests)
        out: list[Synthesis | None] = [None] * len(requests)
        for i, take in self.stream(requests):
            out[i] = take
        return out  # type: ignore[return-value]

    def stream(self, requests: Sequence[TakeRequest]) -> Iterator[tuple[int, Synthesis]]:
        """(index, take) for every request, each as soon as it is ready; any voices, in one scheduler.

        T3 decodes up to `max_batch` chunks at once, longest first, a finished row's place going to the next chunk
        (continuous batching; turbo's batches are not refilled). Finished rows wait for S3Gen per voice, and go
        through it together, by length, once there are enough of them (`s3gen_flush`) or T3 is done. Out of
        memory halves the batch and goes on with the takes not yet made. If the batched path fails for any other
        reason, the takes it made are kept and the rest come from the stock engine, for this call and every later
        one (`_fall_back`).
        """
        requests = list(requests)
        self.timings = {"t3": 0.0, "s3gen": 0.0}
        made: set[int] = set()
        if self.batchable() and not self.fell_back:
            try:
                while len(made) < len(requests):
                    try:
                        for i, take in self._batched([i for i in range(len(requests)) if i not in made], requests):
                            made.add(i)
                            yield i, take
                    except Exception as exc:
                        if not is_oom(exc) or self.max_batch == 1:
                            raise
                        self._free_memory()
                        self.max_batch = max(1, self.max_batch // 2)
                        log.warning("out of memory; going on with %d chunks per batch", self.max_batch)
            except Exception as exc:  # any failure of the batched code: the stock path can still finish the run
                if is_oom(exc):
                    raise
                self._fall_back(exc)
        rest = [i for i in range(len(requests)) if i not in made]
        for i in rest:
            take = self.stock.synthesize([requests[i]])[0]
            for stage, seconds in self.stock.timings.items():
                self.timings[stage] = self.timings.get(stage, 0.0) + seconds
            # Multilingual's token counts have never reached the guards: counting them now would turn on the budget
            # check (and its retries) for its runs, and change their takes.
            yield i, take if self.stock.spec.model != "multilingual" else Synthesis(take.audio, None)

    def stream_pieces(self, requests: Sequence[TakeRequest], sizes: PieceSizes,
                      follows: Sequence[int | None] | None = None) -> Iterator[tuple[int, Piece]]:
        """(index, piece) for every request's take as T3 draws it: each row of the T3 batch hands out its tokens
        whenever they complete a piece (`T3BatchDecoder.stream`'s ``want``), and the row's own
        `s3gen_stream.TakeStream` turns them into audio at once, so rows stream independently. Chunks go into T3
        in the order given (the first is heard first); ``follows`` as `Engine.stream_pieces` says. A take's pieces
        depend only on its tokens, voice, seed and ``sizes``, never on its batch. The multilingual model goes
        through the wrapped engine; a failure here is raised (a take already partly heard cannot be made again
        elsewhere)."""
        requests = list(requests)
        if not self.batchable() or self.fell_back:
            yield from self.stock.stream_pieces(requests, sizes, follows)
            self.timings = dict(self.stock.timings)
            return
        self.timings = {"t3": 0.0, "s3gen": 0.0}
        yield from in_turn(self._streamed(requests, sizes), follows)

    def _streamed(self, requests: list[TakeRequest], sizes: PieceSizes) -> Iterator[tuple[int, Piece]]:
        from chatterbox.models.s3tokenizer import SPEECH_VOCAB_SIZE

        from cbx_cli.engine.s3gen_stream import TakeStream

        streams: dict[int, TakeStream] = {}

        def take_stream(i: int) -> TakeStream:
            if i not in streams:
                r = requests[i]
                streams[i] = TakeStream(self.stock.model, r.voice.conditionals.gen, r.chunk.seed, sizes,
                                        self.sample_rate)
            return streams[i]

        stop = self.stock.model.t3.hp.stop_speech_token
        rows = self._quietly(self.t3.stream([r.chunk for r in requests], self._conds(requests, list(range(len(
            requests)))), self.max_batch, want=lambda i: take_stream(i).wanted()), "t3")
        for handed in rows:  # at one check point: rows that finished, and rows whose tokens complete a piece
            for i, tokens, done in handed:
                speech = tokens[tokens < SPEECH_VOCAB_SIZE]
                generated = tokens_generated(tokens, stop) if done else None
                for piece in self._quietly(stream_take(take_stream(i), speech, generated, final=done), "s3gen"):
                    yield i, piece
                if done:
                    del streams[i]

    def stream_identity(self, sizes: PieceSizes) -> str:
        from cbx_cli.engine.s3gen_stream import stream_key

        return f"{self.identity()}:{stream_key(sizes, self.info.device)}"

    def voice_sample(self, voice: Voice) -> np.ndarray:
        return self.stock.voice_sample(voice)

    def _fall_back(self, exc: Exception) -> None:
        """From now on, synthesize through the stock engine; say so once."""
        log.debug("batched path failed", exc_info=exc)
        self.fell_back = True
        log.warning("the batched engine failed on %s (%s: %s); finishing on the stock per-chunk path",
                    self.info.device, type(exc).__name__, exc)

    def _batched(self, indices: list[int], requests: list[TakeRequest]) -> Iterator[tuple[int, Synthesis]]:
        """Takes for `requests[indices]` through the batched T3 and S3Gen, as they are ready."""
        # Longest first: the last rows to start are short, so the batch stays full to the end. The order changes no
        # take (batch invariance).
        order = sorted(indices, key=lambda i: (-requests[i].chunk.max_tokens, -len(requests[i].chunk.spoken)))
        tokens = self._quietly(self.t3.stream([requests[i].chunk for i in order], self._conds(requests, order),
                                              self.max_batch), "t3")
        waiting: dict[str, list[tuple[int, object]]] = {}
        for finished in tokens:  # the rows that finished at one check point
            for j, generated, _done in finished:
                waiting.setdefault(requests[order[j]].voice.id, []).append((order[j], generated))
            for voice in [v for v, group in waiting.items() if len(group) >= self.s3gen_flush()]:
                yield from self._decoded(requests, waiting.pop(voice))
        for group in waiting.values():
            yield from self._decoded(requests, group)

    def _quietly(self, steps: Iterator, stage: str) -> Iterator:
        """`steps`, each step run with chatterbox's prints sent to stderr and its time added to `stage`."""
        while True:
            t0 = time.perf_counter()
            with contextlib.redirect_stdout(sys.stderr):
                item = next(steps, None)
            self.timings[stage] += time.perf_counter() - t0
            if item is None:
                return
            yield item

    def _conds(self, requests: list[TakeRequest], order: list[int]) -> list:
        """Each request's T3 conditioning: its voice's, with the chunk's exaggeration (turbo has none: stock passes
        the voice's conditioning as is)."""
        if self.stock.spec.model == "turbo":
            return [requests[i].voice.conditionals.t3 for i in order]
        return [with_exaggeration(requests[i].voice.conditionals.t3, requests[i].chunk.params.exaggeration,
                                  self.info.device) for i in order]

    def s3gen_flush(self) -> int:
        """Finished rows of one voice that go through S3Gen together: the flow batch on a GPU (or its profile),
        one per worker thread on a CPU."""
        if self.gpu_shaped:
            return self.s3gen_batch or self.max_batch
        import torch

        return max(1, torch.get_num_threads()) if self.cpu_workers else 1

    def _decoded(self, requests: list[TakeRequest], group: list[tuple[int, object]]) -> Iterator[tuple[int, Synthesis]]:
        """S3Gen for finished rows of one voice, shortest first: (index, take)."""
        import torch
        from chatterbox.models.s3tokenizer import SPEECH_VOCAB_SIZE

        group = sorted(group, key=lambda item: len(item[1]))
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(sys.stderr), torch.inference_mode():
            speech = [g[g < SPEECH_VOCAB_SIZE] for _, g in group]
            waves = self.decode(speech, [requests[i].chunk.seed for i, _ in group], requests[group[0][0]].voice)
        self.timings["s3gen"] += time.perf_counter() - t0
        stop = self.stock.model.t3.hp.stop_speech_token
        for (i, generated), wave in zip(group, waves, strict=True):
            yield i, Synthesis(wave, tokens_generated(generated, stop))  # turbo's have no stop token: all count

    def speech_tokens(self, requests: Sequence[TakeRequest]) -> list:
        """T3 for a batch: each request's speech tokens as stock `T3.inference` returns them (stop token kept)."""
        device = self.info.device
        if self.stock.spec.model == "turbo":  # turbo has no exaggeration: stock passes the voice's conditioning as is
            conds = [r.voice.conditionals.t3 for r in requests]
        else:
            conds = [with_exaggeration(r.voice.conditionals.t3, r.chunk.params.exaggeration, device) for r in requests]
        return self.t3.decode([r.chunk for r in requests], conds)

    def decode(self, token_lists: Sequence, seeds: Sequence[int], voice: Voice) -> list[np.ndarray]:
        """S3Gen for takes of one voice: speech tokens → watermarked float32 takes (turbo's mean-flow S3Gen too)."""
        device = self.info.device
        group = self.s3gen_batch or (self.max_batch if self.gpu_shaped else 1)
        workers = device == "cpu" and self.cpu_workers and not self.gpu_shaped
        return watermarked_takes(self.stock.model, voice.conditionals.gen, token_lists, seeds, group, workers,
                                 self.sample_rate)

    def _free_memory(self) -> None:
        if self.info.device == "cuda":
            import torch

            torch.cuda.empty_cache()
