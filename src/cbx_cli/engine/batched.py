"""Batched synthesis: many chunks through T3 and S3Gen at once, each chunk's take independent of its neighbours.

Design (original model; turbo and multilingual use the parent's per-chunk path):

* T3. Every chunk contributes a cond/uncond row pair built by chatterbox's own ``prepare_input_embeds`` (so the
  uncond row's zeroed text embedding and the learned position embeddings are stock's), followed by stock's extra
  BOS embedding. Prompts of different lengths are left-padded; an attention mask hides the padding and explicit
  RoPE ``position_ids`` give each row the positions it has in stock's unbatched run. The decode loop calls the
  Llama decoder layers directly with a preallocated KV cache (``_KVCache``: fixed buffers written with
  ``index_copy_``; on the CPU it grows by doubling, and only ever at a check point; on CUDA it is allocated at full
  size once, so the decode step can be captured in a CUDA graph). HF's DynamicCache is not used.
* Sampling is per row: CFG combine ``cond + cfg * (cond - uncond)``, repetition penalty on the generated ids
  (BOS included), temperature, min-p, top-p, all with per-row tensors and stock's arithmetic. The random draw is
  a counter-based hash of (chunk seed, step, vocabulary index) -> uniform, turned into an exponential race
  (``argmax(p / E)``, which samples from ``p``), so a chunk's tokens depend on its seed and its own logits only.
  Each row stops at its stop token (6562) or its own budget ``chunk.max_tokens``. The host looks at the
  "all stopped" flag only every ``check_every`` steps; finished rows are then dropped from the batch.
* S3Gen. On CUDA the conformer encoder and the flow-matching decoder (the expensive part: 10 Euler steps, CFG
  doubled) run on right-padded token batches with each row's length mask; the starting noise is drawn per row
  from a generator seeded with the chunk's seed. One change to stock's encoder is needed for padding: the
  look-ahead convolution must see zeros past a row's end, as it does unbatched. On the CPU the same code runs one
  chunk at a time (``s3gen_batch``), with one worker thread per core each running one chunk single-threaded:
  there a batched flow decoder is slower, not faster, and one row is bit-exact with stock's ``flow_inference``
  for the same noise and thread count. HiFT (the vocoder: non-causal convolutions, where padding would leak into
  the end of a row) always runs per chunk, in turn, under ``torch.manual_seed(seed)`` (its noise comes from the
  global generator); then Chatterbox's watermark, per take.

Batch invariance: the same chunk gives the same tokens alone or in any batch, and the same audio up to float
rounding (~1e-6 relative): with batched S3Gen on CUDA, padded lengths change matrix shapes and so the order of
float sums; on the CPU a chunk decoded alone uses all threads, one in a batch uses one thread, and MKL's sums
depend on the thread count (with one torch thread, CPU takes are bit-for-bit identical). T3's logits get the
same rounding-level differences from padding, which could flip a sampled token only at an exact near-tie.

torch is imported lazily (in methods), like the parent, so importing this module stays cheap.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Sequence

import numpy as np

from cbx_cli.engine.base import EngineSpec
from cbx_cli.engine.stock import ChatterboxEngine
from cbx_cli.plan.chunks import Chunk

log = logging.getLogger(__name__)

STOP_SPEECH = 6562
SPEECH_VOCAB = 6561
CPU_MAX_BATCH = 8
CUDA_MAX_BATCH = 64
CHUNK_BYTES_CUDA = 1 << 30
"""A generous estimate of GPU memory per chunk in flight (bf16 KV cache for 1000 tokens + S3Gen activations)."""

_M32 = 0xFFFFFFFF


# -- counter-based random numbers ----------------------------------------------------------------------------------


def _mix32_int(x: int) -> int:
    """lowbias32 (Chris Wellons' 32-bit integer hash), on a Python int."""
    x &= _M32
    x ^= x >> 16
    x = (x * 0x7FEB352D) & _M32
    x ^= x >> 15
    x = (x * 0x846CA68B) & _M32
    x ^= x >> 16
    return x


def _mul32(x, c: int):
    """(x * c) mod 2**32 for an int64 tensor x in [0, 2**32), without overflowing int64."""
    lo = (x & 0xFFFF) * c
    hi = ((x >> 16) * (c & 0xFFFF)) << 16
    return (lo + hi) & _M32


def _mix32(x):
    """lowbias32 on an int64 tensor of values in [0, 2**32)."""
    x = x ^ (x >> 16)
    x = _mul32(x, 0x7FEB352D)
    x = x ^ (x >> 15)
    x = _mul32(x, 0x846CA68B)
    return x ^ (x >> 16)


def seed_key(seed: int) -> int:
    """A chunk's 32-bit stream key, from its (arbitrary-size, non-negative) seed."""
    seed = int(seed) & ((1 << 64) - 1)
    return _mix32_int((seed & _M32) ^ _mix32_int((seed >> 32) ^ 0x9E3779B9))


def step_uniforms(keys, step: int, vocab: int, vocab_codes=None):
    """Uniforms in (0, 1), shape (rows, vocab): a hash of (row key, step, vocabulary index) and nothing else."""
    import torch

    if vocab_codes is None:
        vocab_codes = _vocab_codes(vocab, keys.device)
    s = _mix32_int(step * 0x9E3779B9 + 0x632BE5AB)
    x = _mix32((keys ^ s)[:, None] + vocab_codes[None, :] & _M32)
    x = _mix32(x ^ ((keys ^ _mix32_int(s + 1))[:, None]))
    return ((x >> 8).to(torch.float32) + 0.5) * (1.0 / (1 << 24))


def _vocab_codes(vocab: int, device):
    import torch

    return (torch.arange(vocab, dtype=torch.int64, device=device) * 0x9E3779B1) & _M32


# -- per-row logits processing, as stock T3.inference does it ------------------------------------------------------


def process_logits(logits, seen, cfg, penalty, temperature, min_p, one_minus_top_p, use_top_p: bool):
    """Stock T3.inference's logits pipeline, with one row per chunk and per-row (n, 1) float32 settings.

    logits: (2n, V) with cond/uncond rows interleaved; seen: (n, V) bool, the ids generated so far (BOS included).
    Returns the probabilities (n, V) that stock passes to torch.multinomial.
    """
    import torch

    cond, uncond = logits[0::2], logits[1::2]
    x = cond + cfg * (cond - uncond)
    # RepetitionPenaltyLogitsProcessor
    x = torch.where(seen, torch.where(x < 0, x * penalty, x / penalty), x)
    # temperature (stock skips the division when it is 1.0; x / 1.0 == x)
    x = x / temperature
    # MinPLogitsWarper (min_tokens_to_keep=1)
    probs = torch.softmax(x, dim=-1)
    remove = probs < min_p * probs.amax(dim=-1, keepdim=True)
    remove.scatter_(-1, torch.topk(probs, 1, dim=-1).indices, False)
    x = x.masked_fill(remove, -float("inf"))
    # TopPLogitsWarper (min_tokens_to_keep=1). With top_p == 1 it only drops tokens whose probability is
    # exactly 0, which changes no probability, so it is skipped when no row asks for top_p < 1.
    if use_top_p:
        sorted_x, order = torch.sort(x, descending=False)
        drop = sorted_x.softmax(dim=-1).cumsum(dim=-1) <= one_minus_top_p
        drop[..., -1:] = False
        x = x.masked_fill(drop.scatter(1, order, drop), -float("inf"))
    return torch.softmax(x, dim=-1)


def race(probs, uniforms):
    """Exponential race: argmax_i p_i / E_i with E_i = -log(u_i) picks index i with probability p_i."""
    import torch

    return torch.argmax(probs / -torch.log(uniforms), dim=-1)


# -- KV cache ------------------------------------------------------------------------------------------------------


class _KVCache:
    """Preallocated keys/values for each layer, (rows, heads, capacity, head_dim); the `Cache.update` the layers use."""

    def __init__(self, n_layers, rows, heads, head_dim, capacity, dtype, device):
        import torch

        shape = (rows, heads, capacity, head_dim)
        self.k = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(n_layers)]
        self.v = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(n_layers)]
        self.capacity = capacity
        self.length = 0
        """How many slots the attention reads (eager); the whole capacity when `full` (CUDA graphs)."""
        self.full = False

    def update(self, key, value, layer_idx, cache_kwargs=None):
        pos = cache_kwargs["cache_position"]
        k, v = self.k[layer_idx], self.v[layer_idx]
        k.index_copy_(2, pos, key.to(k.dtype))
        v.index_copy_(2, pos, value.to(v.dtype))
        if self.full:
            return k, v
        return k[:, :, : self.length], v[:, :, : self.length]

    def select(self, rows):
        self.k = [t.index_select(0, rows) for t in self.k]
        self.v = [t.index_select(0, rows) for t in self.v]

    def grow(self, capacity):
        import torch

        if capacity <= self.capacity:
            return
        pad = capacity - self.capacity
        self.k = [torch.nn.functional.pad(t, (0, 0, 0, pad)) for t in self.k]
        self.v = [torch.nn.functional.pad(t, (0, 0, 0, pad)) for t in self.v]
        self.capacity = capacity


class _Decode:
    """State of one batched T3 decode: per-row settings, the cache, the attention mask, the rows still running."""


# -- the engine ----------------------------------------------------------------------------------------------------


class BatchedChatterboxEngine(ChatterboxEngine):
    """Synthesizes many chunks per forward pass; each chunk's take depends only on its text, settings and seed."""

    check_every = 16
    """Steps between looks at the "all rows stopped" flag (each look is a host sync on a GPU)."""

    def __init__(self, spec: EngineSpec, max_batch: int | None = None):
        super().__init__(spec)
        self.max_batch = max_batch or CPU_MAX_BATCH
        self._fixed_batch = max_batch is not None
        self.last_token_counts: list[int | None] | None = None
        self.timings = {"t3": 0.0, "s3gen": 0.0}
        """Seconds spent in T3 and in S3Gen (watermark included) by the last `synthesize` call."""
        self.s3gen_batch: int | None = None
        """Chunks per S3Gen flow-decoder batch; None: the T3 batch on CUDA, 1 elsewhere (on a CPU a batched flow
        decoder is no faster than one chunk at a time, and one at a time is bit-exact with stock)."""
        self.cpu_workers = True
        """On the CPU, decode several chunks' S3Gen flow at once, one thread each (see batch_decode)."""
        self.use_cuda_graphs = True
        self._bf16 = None  # (layers, norm) in bfloat16, CUDA only
        self._graph_failed = False

    # -- set-up ----------------------------------------------------------------------------------------------------

    def load(self) -> None:
        super().load()
        self.prepare_device()

    def prepare_device(self) -> None:
        """Batch size and, on CUDA, a bfloat16 copy of T3's transformer. Call after `model` is set."""
        if self.device != "cuda" or not self.batchable():
            return
        torch = self._torch
        if not self._fixed_batch:
            free, _total = torch.cuda.mem_get_info()
            self.max_batch = int(max(1, min(CUDA_MAX_BATCH, (free * 0.6) // CHUNK_BYTES_CUDA)))
        try:
            import copy

            tfmr = self.model.t3.tfmr
            self._bf16 = (copy.deepcopy(tfmr.layers).to(torch.bfloat16), copy.deepcopy(tfmr.norm).to(torch.bfloat16))
        except Exception as exc:  # pragma: no cover - GPU only
            log.warning("bfloat16 T3 copy failed (%s); decoding in float32", exc)
            self._bf16 = None
        log.info("batched engine: up to %d chunks per batch on CUDA", self.max_batch)

    def batchable(self) -> bool:
        return self.spec.model == "original" and self.model is not None and not self.model.t3.hp.is_multilingual

    # -- synthesis -------------------------------------------------------------------------------------------------

    def synthesize(self, chunks: Sequence[Chunk]) -> list[np.ndarray]:
        chunks = list(chunks)
        self.timings = {"t3": 0.0, "s3gen": 0.0}
        if not self.batchable():
            self.last_token_counts = None
            return super().synthesize(chunks)
        # Similar lengths together: less padding. The order changes no take (batch invariance).
        order = sorted(range(len(chunks)), key=lambda i: len(chunks[i].spoken))
        waves: list[np.ndarray | None] = [None] * len(chunks)
        counts: list[int | None] = [None] * len(chunks)
        pending = order
        with contextlib.redirect_stdout(sys.stderr):
            while pending:
                group, rest = pending[: self.max_batch], pending[self.max_batch :]
                try:
                    results = self._run_batch([chunks[i] for i in group])
                except Exception as exc:
                    if len(group) == 1 or not _is_oom(exc):
                        raise
                    self._free_memory()
                    self.max_batch = max(1, len(group) // 2)
                    log.warning("out of memory with %d chunks per batch; retrying with %d", len(group), self.max_batch)
                    pending = group + rest
                    continue
                for i, (wav, count) in zip(group, results, strict=True):
                    waves[i], counts[i] = wav, count
                pending = rest
        self.last_token_counts = counts
        return waves  # type: ignore[return-value]

    def _run_batch(self, chunks: Sequence[Chunk]) -> list[tuple[np.ndarray, int]]:
        """One batch through T3 and S3Gen: (take, generated token count) per chunk, in order."""
        torch = self._torch
        with torch.inference_mode():
            t0 = time.perf_counter()
            generated = self.batch_speech_tokens(chunks)
            t1 = time.perf_counter()
            speech = [g[g < SPEECH_VOCAB] for g in generated]
            wavs = self.batch_decode(speech, [c.seed for c in chunks])
            t2 = time.perf_counter()
        self.timings["t3"] += t1 - t0
        self.timings["s3gen"] += t2 - t1
        counts = [int(g.numel()) - int(g.numel() > 0 and int(g[-1]) == STOP_SPEECH) for g in generated]
        return list(zip(wavs, counts, strict=True))

    def _free_memory(self) -> None:
        torch = self._torch
        if self.device == "cuda":
            torch.cuda.empty_cache()

    # -- T3 --------------------------------------------------------------------------------------------------------

    def batch_speech_tokens(self, chunks: Sequence[Chunk]) -> list:
        """Speech tokens for each chunk, as stock `T3.inference` returns them (row 0, stop token included if drawn).

        Every row runs to its stop token or its budget (`chunk.max_tokens`), sampling from its own stream.
        """
        torch = self._torch
        with torch.inference_mode():
            st = self._start(chunks)
            logits = self._prefill(st)
            n_steps = max(st.budget_host)
            k = 0
            while True:
                probs = process_logits(
                    logits, st.seen, st.cfg, st.penalty, st.temperature, st.min_p, st.one_minus_top_p, st.use_top_p
                )
                u = step_uniforms(st.keys, k, probs.shape[-1], st.vocab_codes)
                tok = race(probs, u)
                st.out[st.active, k] = tok
                st.seen.scatter_(1, tok[:, None], True)
                st.done |= (tok == STOP_SPEECH) | (k + 1 >= st.budget)
                k += 1
                if k >= n_steps:
                    break
                if k % self.check_every == 0:
                    done = st.done.cpu()
                    if bool(done.all()):
                        break
                    if bool(done.any()):
                        keep = self._compact(st, (~done).nonzero().flatten())
                        if keep is not None:
                            tok = tok.index_select(0, keep)
                            n_steps = max(st.budget_host)
                    self._ensure_capacity(st, k, n_steps)
                logits = self._step(st, tok, k)
            out = st.out[:, :k].cpu()
        results = []
        for i in range(len(chunks)):
            row = out[i, : chunks[i].max_tokens]
            stops = (row == STOP_SPEECH).nonzero()
            if stops.numel():
                row = row[: int(stops[0, 0]) + 1]
            results.append(row.clone())
        return results

    def _start(self, chunks: Sequence[Chunk]) -> _Decode:
        """Stock's prompt embeddings for every chunk (cond/uncond rows), left-padded into one batch; decode state."""
        torch = self._torch
        import torch.nn.functional as F
        from chatterbox.tts import punc_norm

        m = self.model
        t3 = m.t3
        hp = t3.hp
        dev = t3.device
        bos = torch.tensor([[hp.start_speech_token]], dtype=torch.long, device=dev)
        bos_embed = t3.speech_emb(bos) + t3.speech_pos_emb.get_fixed_embedding(0)
        prompts = []
        for c in chunks:
            p = c.params
            self._set_exaggeration(p.exaggeration)
            text = m.tokenizer.text_to_tokens(punc_norm(c.spoken)).to(dev)
            text = torch.cat([text, text], dim=0)
            text = F.pad(text, (1, 0), value=hp.start_text_token)
            text = F.pad(text, (0, 1), value=hp.stop_text_token).to(dtype=torch.long)
            speech0 = hp.start_speech_token * torch.ones_like(text[:, :1])
            embeds, _ = t3.prepare_input_embeds(
                t3_cond=m.conds.t3, text_tokens=text, speech_tokens=speech0, cfg_weight=p.cfg_weight
            )
            prompts.append(torch.cat([embeds, torch.cat([bos_embed, bos_embed])], dim=1))

        st = _Decode()
        n = len(chunks)
        st.n = n
        st.dev = dev
        st.lengths_host = [e.shape[1] for e in prompts for _ in range(2)]
        st.P = P = max(st.lengths_host)
        D = prompts[0].shape[-1]
        st.dtype = torch.float32
        if self._bf16 is not None and dev.type == "cuda":
            st.dtype = torch.bfloat16
        x = torch.zeros(2 * n, P, D, dtype=prompts[0].dtype, device=dev)
        for i, e in enumerate(prompts):
            x[2 * i : 2 * i + 2, P - e.shape[1] :] = e
        st.prompt = x
        st.lengths = torch.tensor(st.lengths_host, dtype=torch.long, device=dev)  # (R,)
        st.pad = P - st.lengths

        def col(values):
            return torch.tensor(values, dtype=torch.float32, device=dev)[:, None]

        ps = [c.params for c in chunks]
        st.cfg = col([p.cfg_weight for p in ps])
        st.penalty = col([float(p.repetition_penalty) for p in ps])
        st.temperature = col([p.temperature for p in ps])
        st.min_p = col([p.min_p for p in ps])
        st.one_minus_top_p = col([1 - p.top_p for p in ps])
        st.use_top_p = any(p.top_p < 1.0 for p in ps)
        st.budget_host = [c.max_tokens for c in chunks]
        st.budget = torch.tensor(st.budget_host, dtype=torch.long, device=dev)
        st.keys = torch.tensor([seed_key(c.seed) for c in chunks], dtype=torch.int64, device=dev)
        V = t3.speech_head.out_features
        st.vocab_codes = _vocab_codes(V, dev)
        st.seen = torch.zeros(n, V, dtype=torch.bool, device=dev)
        st.seen[:, hp.start_speech_token] = True
        st.done = torch.zeros(n, dtype=torch.bool, device=dev)
        st.active = torch.arange(n, device=dev)
        st.out = torch.full((n, max(st.budget_host)), STOP_SPEECH, dtype=torch.long, device=dev)

        n_steps = max(st.budget_host)
        full = P + n_steps
        on_cuda = dev.type == "cuda"
        cap = full if on_cuda else min(full, P + 2 * self.check_every)
        cfg = t3.cfg
        heads = cfg.num_key_value_heads
        head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
        st.cache = _KVCache(cfg.num_hidden_layers, 2 * n, heads, head_dim, cap, st.dtype, dev)
        st.slots = torch.arange(full, device=dev)
        st.key_valid = torch.zeros(2 * n, cap, dtype=torch.bool, device=dev)
        st.key_valid[:, :P] = st.slots[None, :P] >= st.pad[:, None]
        st.graph = None
        return st

    def _layers(self, st):
        if st.dtype == self._torch.bfloat16 and self._bf16 is not None:
            return self._bf16
        tfmr = self.model.t3.tfmr
        return tfmr.layers, tfmr.norm

    def _forward(self, st, x, position_ids, slots, mask):
        """Llama layers over x (R, S, D) at RoPE positions / cache slots; the speech logits of the last position."""
        t3 = self.model.t3
        layers, norm = self._layers(st)
        h = x.to(st.dtype)
        cos_sin = t3.tfmr.rotary_emb(h, position_ids=position_ids)
        for layer in layers:
            h = layer(
                h,
                attention_mask=mask,
                position_ids=position_ids,
                past_key_values=st.cache,
                use_cache=True,
                cache_position=slots,
                position_embeddings=cos_sin,
            )
        h = norm(h[:, -1:])
        return t3.speech_head(h.to(t3.speech_head.weight.dtype))[:, -1, :].float()

    def _prefill(self, st):
        torch = self._torch
        P = st.P
        pos = (torch.arange(P, device=st.dev)[None, :] - st.pad[:, None]).clamp(min=0)
        causal = torch.ones(P, P, dtype=torch.bool, device=st.dev).tril()
        mask = causal[None] & st.key_valid[:, None, :P]
        mask = mask | torch.eye(P, dtype=torch.bool, device=st.dev)[None]  # padded queries see themselves: no NaN
        st.cache.length = P
        logits = self._forward(st, st.prompt, pos, st.slots[:P], mask[:, None])
        st.prompt = None
        return logits

    def _step(self, st, tok, k):
        """Feed the k-th sampled token of every active row (learned position k, RoPE position length + k - 1)."""
        t3 = self.model.t3
        emb = t3.speech_emb(tok)[:, None] + t3.speech_pos_emb.emb.weight[k]
        emb = emb.repeat_interleave(2, dim=0)
        slot = st.P + k - 1
        st.key_valid[:, slot] = True
        pos = (st.lengths + (k - 1))[:, None]
        if st.dev.type == "cuda" and self.use_cuda_graphs and not self._graph_failed:
            logits = self._graph_step(st, emb, pos, slot)
            if logits is not None:
                return logits
        st.cache.full = False
        st.cache.length = slot + 1
        mask = st.key_valid[:, None, None, : slot + 1]
        return self._forward(st, emb, pos, st.slots[slot : slot + 1], mask)

    def _graph_step(self, st, emb, pos, slot):  # pragma: no cover - CUDA only
        """The decode step replayed from a CUDA graph (captured once per batch size); None to fall back to eager."""
        torch = self._torch
        try:
            if st.graph is None:
                st.g_emb = emb.to(st.dtype).clone()
                st.g_pos = pos.clone()
                st.g_slot = st.slots[slot : slot + 1].clone()
                st.g_mask = st.key_valid[:, None, None, :]
                st.cache.full = True
                stream = torch.cuda.Stream()
                stream.wait_stream(torch.cuda.current_stream())
                with torch.cuda.stream(stream):
                    for _ in range(2):
                        self._forward(st, st.g_emb, st.g_pos, st.g_slot, st.g_mask)
                torch.cuda.current_stream().wait_stream(stream)
                graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(graph):
                    st.g_out = self._forward(st, st.g_emb, st.g_pos, st.g_slot, st.g_mask)
                st.graph = graph
            st.g_emb.copy_(emb)
            st.g_pos.copy_(pos)
            st.g_slot.fill_(slot)
            st.graph.replay()
            return st.g_out
        except Exception as exc:
            if _is_oom(exc):
                raise  # the batch is too big: synthesize() halves it
            log.warning("CUDA graph capture failed (%s); decoding eagerly", exc)
            self._graph_failed = True
            st.graph = None
            st.cache.full = False
            return None

    def _compact(self, st, keep):
        """Drop finished rows (keep: indices into the current active rows, on the host); the kept indices or None."""
        if st.dev.type == "cuda" and st.graph is not None and 2 * len(keep) > len(st.budget_host):
            return None  # a smaller batch would need a new graph: wait until half the rows are done
        keep_host = keep.tolist()
        keep = keep.to(st.dev)
        rows = (2 * keep[:, None] + self._torch.arange(2, device=st.dev)[None]).flatten()
        st.cache.select(rows)
        st.key_valid = st.key_valid.index_select(0, rows)
        st.lengths = st.lengths.index_select(0, rows)
        st.pad = st.pad.index_select(0, rows)
        for name in ("cfg", "penalty", "temperature", "min_p", "one_minus_top_p", "budget", "keys", "seen", "done",
                     "active"):
            setattr(st, name, getattr(st, name).index_select(0, keep))
        st.budget_host = [st.budget_host[i] for i in keep_host]
        st.graph = None
        return keep

    def _ensure_capacity(self, st, k, n_steps):
        """Room in the cache for the next `check_every` steps (CPU: grow by doubling; CUDA: allocated in full)."""
        torch = self._torch
        need = min(st.P + n_steps, st.P + k + self.check_every)
        if need <= st.cache.capacity:
            return
        cap = min(st.P + n_steps, max(need, 2 * st.cache.capacity))
        st.cache.grow(cap)
        extra = cap - st.key_valid.shape[1]
        st.key_valid = torch.nn.functional.pad(st.key_valid, (0, extra), value=False)
        st.graph = None

    # -- S3Gen -----------------------------------------------------------------------------------------------------

    def batch_decode(self, token_lists: Sequence, seeds: Sequence[int]) -> list[np.ndarray]:
        """Speech tokens -> watermarked float32 takes; the flow decoder batched, HiFT and watermark per chunk."""
        torch = self._torch
        sizes = [int(t.numel()) for t in token_lists]
        out: list[np.ndarray | None] = [None] * len(token_lists)
        live = [i for i, s in enumerate(sizes) if s > 0]
        for i, s in enumerate(sizes):
            if s == 0:
                out[i] = np.zeros(0, dtype=np.float32)
        if not live:
            return out  # type: ignore[return-value]
        group = self.s3gen_batch or (self.max_batch if self.device == "cuda" else 1)
        batches = [live[g : g + group] for g in range(0, len(live), group)]

        def flow(rows):
            with torch.inference_mode():
                return self.batch_mels([token_lists[i] for i in rows], [seeds[i] for i in rows])

        workers = max(1, min(len(batches), torch.get_num_threads())) if self.device == "cpu" and self.cpu_workers else 0
        if workers:
            # Always one thread per chunk on the CPU, even for a lone chunk: a take must not depend on how many
            # chunks shared its batch (a resumed run renders fewer), and thread counts change float sums.
            # On the CPU, S3Gen's flow decoder (many mid-sized ops) scales better across chunks than across the
            # threads of one op: one single-threaded chunk per core is ~1.4x faster than chunks in turn on 2 cores.
            from concurrent.futures import ThreadPoolExecutor

            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                with ThreadPoolExecutor(workers) as pool:
                    results = list(pool.map(flow, batches))
            finally:
                torch.set_num_threads(threads)
        else:
            results = [flow(rows) for rows in batches]
        mels = [mel for result in results for mel in result]
        with torch.inference_mode():
            s3 = self.model.s3gen
            for i, mel in zip(live, mels, strict=True):
                torch.manual_seed(seeds[i])
                wav, _ = s3.hift_inference(mel.to(dtype=s3.dtype), None)
                wav[:, : len(s3.trim_fade)] *= s3.trim_fade
                wav = wav.squeeze(0).detach().float().cpu().numpy()
                marked = self.model.watermarker.apply_watermark(wav, sample_rate=self.sample_rate)
                out[i] = np.ascontiguousarray(marked, dtype=np.float32)
        return out  # type: ignore[return-value]

    def batch_mels(self, token_lists: Sequence, seeds: Sequence[int], n_timesteps: int = 10) -> list:
        """S3Gen's token -> mel (stock `flow_inference`, finalize=True) for many chunks at once: (1, 80, 2 * n) each."""
        torch = self._torch
        import torch.nn.functional as F
        from chatterbox.models.s3gen.utils.mask import make_pad_mask

        s3 = self.model.s3gen
        flow = s3.flow
        dev, dtype = s3.device, s3.dtype
        ref = {}
        for key, value in self.model.conds.gen.items():  # what S3Token2Mel.forward does to ref_dict
            if isinstance(value, np.ndarray):
                value = torch.from_numpy(value)
            ref[key] = value.to(device=dev, dtype=dtype) if torch.is_tensor(value) else value
        B = len(token_lists)
        lens = [int(t.numel()) for t in token_lists]
        N = max(lens)
        token = torch.zeros(B, N, dtype=torch.long, device=dev)
        for i, t in enumerate(token_lists):
            token[i, : lens[i]] = t.to(dev)
        token_len = torch.tensor(lens, dtype=torch.long, device=dev)

        embedding = F.normalize(torch.atleast_2d(ref["embedding"]), dim=1)
        embedding = flow.spk_embed_affine_layer(embedding).expand(B, -1)
        prompt_token = torch.atleast_2d(ref["prompt_token"]).expand(B, -1)
        prompt_token_len = torch.atleast_1d(ref["prompt_token_len"]).reshape(-1)[:1].expand(B)
        prompt_feat = ref["prompt_feat"]
        if prompt_feat.dim() == 2:
            prompt_feat = prompt_feat[None]
        token = torch.concat([prompt_token, token], dim=1)
        token_len = prompt_token_len + token_len
        mask = (~make_pad_mask(token_len)).unsqueeze(-1).to(embedding)
        token = flow.input_embedding(token.long()) * mask
        h, h_masks = _encode(flow.encoder, token, token_len)
        h_lengths = h_masks.sum(dim=-1).squeeze(dim=-1)
        mel_len1, mel_len2 = prompt_feat.shape[1], h.shape[1] - prompt_feat.shape[1]
        h = flow.encoder_proj(h)
        conds = torch.zeros([B, mel_len1 + mel_len2, flow.output_size], device=dev).to(h.dtype)
        conds[:, :mel_len1] = prompt_feat
        conds = conds.transpose(1, 2)
        mask = (~make_pad_mask(h_lengths)).unsqueeze(1).to(h)
        mu = h.transpose(1, 2).contiguous()

        # CausalConditionalCFM.forward, with each row's noise from its own seed
        z = torch.zeros_like(mu)
        for i, seed in enumerate(seeds):
            frames = mel_len1 + 2 * lens[i]
            gen = torch.Generator(device=dev).manual_seed(int(seed))
            z[i, :, :frames] = torch.randn((1, mu.shape[1], frames), generator=gen, device=dev, dtype=mu.dtype)[0]
        decoder = flow.decoder
        t_span = torch.linspace(0, 1, n_timesteps + 1, device=dev, dtype=mu.dtype)
        if decoder.t_scheduler == "cosine":
            t_span = 1 - torch.cos(t_span * 0.5 * torch.pi)
        feat = decoder.solve_euler(z, t_span=t_span, mu=mu, mask=mask, spks=embedding, cond=conds, meanflow=False)
        feat = feat[:, :, mel_len1:]
        return [feat[i : i + 1, :, : 2 * lens[i]] for i in range(B)]


def _encode(enc, xs, xs_lens):
    """UpsampleConformerEncoder.forward for padded batches (decoding_chunk_size=0, num_decoding_left_chunks=-1).

    The one change: positions past a row's end are zeroed before the look-ahead convolution, which is what that
    convolution sees unbatched (its right zero-padding). Everything after it is causal or masked.
    """
    from chatterbox.models.s3gen.utils.mask import add_optional_chunk_mask, make_pad_mask

    T = xs.size(1)
    masks = ~make_pad_mask(xs_lens, T).unsqueeze(1)  # (B, 1, T)
    if enc.global_cmvn is not None:
        xs = enc.global_cmvn(xs)
    xs, pos_emb, masks = enc.embed(xs, masks)
    mask_pad = masks
    chunk_masks = add_optional_chunk_mask(
        xs, masks, enc.use_dynamic_chunk, enc.use_dynamic_left_chunk, 0, enc.static_chunk_size, -1
    )
    xs = xs * mask_pad.transpose(1, 2).to(xs.dtype)
    xs = enc.pre_lookahead_layer(xs)
    xs = enc.forward_layers(xs, chunk_masks, pos_emb, mask_pad)
    xs = xs.transpose(1, 2).contiguous()
    xs, xs_lens = enc.up_layer(xs, xs_lens)
    xs = xs.transpose(1, 2).contiguous()
    T = xs.size(1)
    masks = ~make_pad_mask(xs_lens, T).unsqueeze(1)
    xs, pos_emb, masks = enc.up_embed(xs, masks)
    mask_pad = masks
    chunk_masks = add_optional_chunk_mask(
        xs, masks, enc.use_dynamic_chunk, enc.use_dynamic_left_chunk, 0, enc.static_chunk_size * enc.up_layer.stride, -1
    )
    xs = enc.forward_up_layers(xs, chunk_masks, pos_emb, mask_pad)
    if enc.normalize_before:
        xs = enc.after_norm(xs)
    return xs, masks


def _is_oom(exc: BaseException) -> bool:
    torch = sys.modules.get("torch")
    oom_type = getattr(getattr(torch, "cuda", None), "OutOfMemoryError", None) if torch else None
    if oom_type is not None and isinstance(exc, oom_type):
        return True
    return isinstance(exc, (RuntimeError, MemoryError)) and (
        isinstance(exc, MemoryError) or "out of memory" in str(exc).lower()
    )
