"""The batched engine: many chunks through T3 and S3Gen at once, each take independent of its neighbours.

`BatchedEngine` wraps a loaded stock `ChatterboxEngine` (its model, voices and loader) and adds batching around
it: takes grouped by voice, sorted by length, cut into batches (halved when memory runs out), each batch through
`t3_batch.T3BatchDecoder` and `s3gen_batch.watermarked_takes`. The original model is batched; turbo and
multilingual go through the wrapped engine one chunk at a time.

Batch invariance: the same chunk gives the same tokens alone or in any batch, and the same audio up to float
rounding (~1e-6 relative): with batched S3Gen on CUDA, padded lengths change matrix shapes and so the order of
float sums; on the CPU a chunk decoded alone uses all threads, one in a batch uses one thread, and MKL's sums
depend on the thread count (with one torch thread, CPU takes are bit-for-bit identical). T3's logits get the
same rounding-level differences from padding, which could flip a sampled token only at an exact near-tie.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Sequence

import numpy as np

from cbx_cli.engine.base import EngineInfo, Synthesis, TakeRequest, Voice, VoicePrompt
from cbx_cli.engine.s3gen_batch import watermarked_takes
from cbx_cli.engine.stock import ChatterboxEngine, tokens_generated, with_exaggeration
from cbx_cli.engine.t3_batch import T3BatchDecoder, is_oom

log = logging.getLogger(__name__)

CPU_MAX_BATCH = 8
CUDA_MAX_BATCH = 64
CHUNK_BYTES_CUDA = 1 << 30
"""A generous estimate of GPU memory per chunk in flight (bf16 KV cache for 1000 tokens + S3Gen activations)."""


class BatchedEngine:
    """Synthesizes many chunks per forward pass; each chunk's take depends only on its text, settings and seed."""

    kind = "BatchedChatterboxEngine"
    """The engine's name in `identity()` (and so in cache keys)."""

    def __init__(self, stock: ChatterboxEngine, max_batch: int | None = None):
        self.stock = stock
        """The wrapped engine: loads the model, keeps the voices, and synthesizes what is not batched."""
        self.max_batch = max_batch or CPU_MAX_BATCH
        self._fixed_batch = max_batch is not None
        self.timings: dict[str, float] = {"t3": 0.0, "s3gen": 0.0}
        self.s3gen_batch: int | None = None
        """Chunks per S3Gen flow-decoder batch; None: the T3 batch on CUDA, 1 elsewhere (on a CPU a batched flow
        decoder is no faster than one chunk at a time, and one at a time is bit-exact with stock)."""
        self.cpu_workers = True
        """On the CPU, decode several chunks' S3Gen flow at once, one thread each (see `watermarked_takes`)."""
        self.t3: T3BatchDecoder | None = None

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

    def load(self) -> None:
        self.stock.load()
        if self.batchable():
            self.t3 = T3BatchDecoder(self.stock.model.t3, self.stock.model.tokenizer)
            self._prepare_cuda()

    def batchable(self) -> bool:
        model = self.stock.model
        return self.stock.spec.model == "original" and model is not None and not model.t3.hp.is_multilingual

    def _prepare_cuda(self) -> None:  # pragma: no cover - GPU only
        """Batch size from free GPU memory, and the bfloat16 copy of T3's transformer."""
        if self.info.device != "cuda":
            return
        import torch

        if not self._fixed_batch:
            free, _total = torch.cuda.mem_get_info()
            self.max_batch = int(max(1, min(CUDA_MAX_BATCH, (free * 0.6) // CHUNK_BYTES_CUDA)))
        self.t3.make_bf16_copy()
        log.info("batched engine: up to %d chunks per batch on CUDA", self.max_batch)

    # -- synthesis -------------------------------------------------------------------------------------------------

    def synthesize(self, requests: Sequence[TakeRequest]) -> list[Synthesis]:
        """One take per request, in order; chunks of one voice are batched together."""
        requests = list(requests)
        self.timings = {"t3": 0.0, "s3gen": 0.0}
        if not self.batchable():
            takes = self.stock.synthesize(requests)
            self.timings = dict(self.stock.timings)
            # Token counts of this path have never reached the guards; counting them now would turn on the budget
            # check (and its retries) for turbo and multilingual runs, and change their takes.
            return [Synthesis(t.audio, None) for t in takes]
        out: list[Synthesis | None] = [None] * len(requests)
        by_voice: dict[str, list[int]] = {}
        for i, request in enumerate(requests):
            by_voice.setdefault(request.voice.id, []).append(i)
        with contextlib.redirect_stdout(sys.stderr):
            for indices in by_voice.values():
                for i, take in zip(indices, self._one_voice([requests[i] for i in indices]), strict=True):
                    out[i] = take
        return out  # type: ignore[return-value]

    def _one_voice(self, requests: list[TakeRequest]) -> list[Synthesis]:
        """Requests of one voice in batches of up to `max_batch`; out of memory halves the batch and goes on."""
        # Similar lengths together: less padding. The order changes no take (batch invariance).
        order = sorted(range(len(requests)), key=lambda i: len(requests[i].chunk.spoken))
        out: list[Synthesis | None] = [None] * len(requests)
        pending = order
        while pending:
            group, rest = pending[: self.max_batch], pending[self.max_batch :]
            try:
                results = self._run_batch([requests[i] for i in group])
            except Exception as exc:
                if len(group) == 1 or not is_oom(exc):
                    raise
                self._free_memory()
                self.max_batch = max(1, len(group) // 2)
                log.warning("out of memory with %d chunks per batch; retrying with %d", len(group), self.max_batch)
                pending = group + rest
                continue
            for i, take in zip(group, results, strict=True):
                out[i] = take
            pending = rest
        return out  # type: ignore[return-value]

    def _run_batch(self, requests: Sequence[TakeRequest]) -> list[Synthesis]:
        """One batch (one voice) through T3 and S3Gen: a take and its generated token count per request."""
        import torch
        from chatterbox.models.s3tokenizer import SPEECH_VOCAB_SIZE

        stop = self.stock.model.t3.hp.stop_speech_token
        with torch.inference_mode():
            t0 = time.perf_counter()
            generated = self.speech_tokens(requests)
            t1 = time.perf_counter()
            speech = [g[g < SPEECH_VOCAB_SIZE] for g in generated]
            waves = self.decode(speech, [r.chunk.seed for r in requests], requests[0].voice)
            t2 = time.perf_counter()
        self.timings["t3"] += t1 - t0
        self.timings["s3gen"] += t2 - t1
        return [Synthesis(w, tokens_generated(g, stop)) for w, g in zip(waves, generated, strict=True)]

    def speech_tokens(self, requests: Sequence[TakeRequest]) -> list:
        """T3 for a batch: each request's speech tokens as stock `T3.inference` returns them (stop token kept)."""
        device = self.info.device
        conds = [with_exaggeration(r.voice.conditionals.t3, r.chunk.params.exaggeration, device) for r in requests]
        return self.t3.decode([r.chunk for r in requests], conds)

    def decode(self, token_lists: Sequence, seeds: Sequence[int], voice: Voice) -> list[np.ndarray]:
        """S3Gen for a batch of one voice: speech tokens → watermarked float32 takes."""
        device = self.info.device
        group = self.s3gen_batch or (self.max_batch if device == "cuda" else 1)
        return watermarked_takes(self.stock.model, voice.conditionals.gen, token_lists, seeds, group,
                                 device == "cpu" and self.cpu_workers, self.sample_rate)

    def _free_memory(self) -> None:
        if self.info.device == "cuda":
            import torch

            torch.cuda.empty_cache()
