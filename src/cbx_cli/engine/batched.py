"""The batched engine: many chunks through T3 and S3Gen at once, each take independent of its neighbours.

`BatchedEngine` wraps a loaded stock `ChatterboxEngine` (its model, voices and loader) and adds batching around
it: takes grouped by voice, sorted by length, cut into batches (halved when memory runs out), each batch through
`t3_batch.T3BatchDecoder` and `s3gen_batch.watermarked_takes`. Turbo's T3 is batched too
(`t3_batch.TurboBatchDecoder`), its S3Gen (meanflow, two steps) runs per take as stock's, seeded with the chunk's
seed; multilingual goes through the wrapped engine one chunk at a time.

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
from collections.abc import Sequence

import numpy as np

from cbx_cli.engine.base import EngineInfo, Synthesis, TakeRequest, Voice, VoicePrompt
from cbx_cli.engine.s3gen_batch import watermarked_takes
from cbx_cli.engine.stock import ChatterboxEngine, tokens_generated, with_exaggeration
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


class BatchedEngine:
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
        """One take per request, in order; chunks of one voice are batched together.

        If the batched path fails for any reason but memory, the takes it made are kept and the rest come from the
        stock engine (`_fall_back`), for this call and every later one.
        """
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
            try:
                for indices in by_voice.values() if not self.fell_back else ():
                    self._one_voice(requests, indices, out)
            except Exception as exc:  # any failure of the batched code: the stock path can still finish the run
                if is_oom(exc):
                    raise
                self._fall_back(exc)
        rest = [i for i, take in enumerate(out) if take is None]
        if rest:
            for i, take in zip(rest, self.stock.synthesize([requests[i] for i in rest]), strict=True):
                out[i] = take
            for stage, seconds in self.stock.timings.items():
                self.timings[stage] = self.timings.get(stage, 0.0) + seconds
        return out  # type: ignore[return-value]

    def _fall_back(self, exc: Exception) -> None:
        """From now on, synthesize through the stock engine; say so once."""
        log.debug("batched path failed", exc_info=exc)
        self.fell_back = True
        log.warning("the batched engine failed on %s (%s: %s); finishing on the stock per-chunk path",
                    self.info.device, type(exc).__name__, exc)

    def _one_voice(self, requests: list[TakeRequest], indices: list[int], out: list) -> None:
        """`requests[indices]` (one voice) in batches of up to `max_batch`, each take into `out` as its batch ends;
        out of memory halves the batch and goes on."""
        # Similar lengths together: less padding. The order changes no take (batch invariance).
        pending = sorted(indices, key=lambda i: len(requests[i].chunk.spoken))
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
        if self.stock.spec.model == "turbo":  # as the stock turbo path: no counts, so no budget guard (see synthesize)
            return [Synthesis(w, None) for w in waves]
        return [Synthesis(w, tokens_generated(g, stop)) for w, g in zip(waves, generated, strict=True)]

    def speech_tokens(self, requests: Sequence[TakeRequest]) -> list:
        """T3 for a batch: each request's speech tokens as stock `T3.inference` returns them (stop token kept)."""
        device = self.info.device
        if self.stock.spec.model == "turbo":  # turbo has no exaggeration: stock passes the voice's conditioning as is
            conds = [r.voice.conditionals.t3 for r in requests]
        else:
            conds = [with_exaggeration(r.voice.conditionals.t3, r.chunk.params.exaggeration, device) for r in requests]
        return self.t3.decode([r.chunk for r in requests], conds)

    def decode(self, token_lists: Sequence, seeds: Sequence[int], voice: Voice) -> list[np.ndarray]:
        """S3Gen for a batch of one voice: speech tokens → watermarked float32 takes."""
        device = self.info.device
        if self.stock.spec.model == "turbo":
            return [self._stock_take(tokens, seed, voice) for tokens, seed in zip(token_lists, seeds, strict=True)]
        group = self.s3gen_batch or (self.max_batch if self.gpu_shaped else 1)
        workers = device == "cpu" and self.cpu_workers and not self.gpu_shaped
        return watermarked_takes(self.stock.model, voice.conditionals.gen, token_lists, seeds, group, workers,
                                 self.sample_rate)

    def _stock_take(self, tokens, seed: int, voice: Voice) -> np.ndarray:
        """Stock's S3Gen and watermark for one take, its noise from the global generator seeded with the chunk's seed
        (so the take depends on its own tokens and seed only)."""
        import torch

        torch.manual_seed(seed)
        return self.stock.decode(tokens, voice.conditionals)

    def _free_memory(self) -> None:
        if self.info.device == "cuda":
            import torch

            torch.cuda.empty_cache()
