"""T3 for many chunks at once: stock T3's weights and prompts, a preallocated KV cache, per-row sampling and stops.

Every chunk contributes a cond/uncond row pair built by chatterbox's own `T3.prepare_input_embeds` (so the uncond
row's zeroed text embedding and the learned position embeddings are stock's), followed by stock's extra BOS
embedding. A prompt starts with its voice's conditioning (speaker, speech prompt, emotion), the same in both rows
and in every chunk of that voice and exaggeration: its keys and values are computed once (`prefix`) and copied in,
and only the rest of each prompt is prefilled. Prompts of different lengths are left-padded; an attention mask
hides the padding and explicit RoPE `position_ids` give each row the positions it has in stock's unbatched run.
The decode loop calls the Llama decoder layers directly with a preallocated KV cache (`KVCache`: fixed buffers
written with `index_copy_`; on the CPU it grows by doubling, and only ever at a check point; on CUDA it is
allocated at full size once, so the decode step can be captured in a CUDA graph). HF's DynamicCache is not used.

GPU-shaped decoding (`gpu_shaped`: always on CUDA, on any device with the `gpu` device profile) is everything the
GPU runs but the graph itself: the full-capacity cache, a decode step over that whole capacity under a mask (the
shapes a captured graph replays), the compaction rule a graph imposes, and, unless the profile is `gpu-fp32`, a
bfloat16 copy of the transformer. So the CPU runs and tests every GPU branch except `torch.cuda.graph`.

Sampling is per row (`sampling.py`); each row stops at its stop token or its own budget `chunk.max_tokens`. The
host looks at the rows' "stopped" flags only at check points (every `check_every` steps, or sooner when a row
reaches its budget). Continuous batching (`T3BatchDecoder.stream`): at a check point finished rows hand out their
tokens and the next chunks take their places in the running batch, prefilled apart and written into the freed
rows' cache just before the current slot; every row then writes the same slot at each step, and the windows slide
back over slots no live row reads. With nothing left to start, finished rows leave the batch
(`DecodeState.select`). torch and chatterbox are imported inside the methods.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from cbx_cli.engine.base import SpokenChunk
from cbx_cli.engine.sampling import (
    process_logits,
    process_turbo_logits,
    race,
    seed_key,
    step_uniforms,
    vocab_codes,
)

log = logging.getLogger(__name__)


class KVCache:
    """Preallocated keys/values per layer, (rows, heads, capacity, head_dim); the `Cache.update` the layers call."""

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

    def place(self, rows, other: KVCache, at: int, length: int) -> None:
        """Write the first `length` slots of `other` (one row per entry of `rows`) into slots [at, at + length)."""
        for mine, theirs in zip(self.k + self.v, other.k + other.v, strict=True):
            mine[rows, :, at : at + length] = theirs[:, :, :length]

    def slide(self, d: int) -> None:
        """Every slot's contents d slots earlier, in place."""
        for t in self.k + self.v:
            t[:, :, :-d] = t[:, :, d:].clone()

    def grow(self, capacity):
        import torch

        if capacity <= self.capacity:
            return
        pad = capacity - self.capacity
        self.k = [torch.nn.functional.pad(t, (0, 0, 0, pad)) for t in self.k]
        self.v = [torch.nn.functional.pad(t, (0, 0, 0, pad)) for t in self.v]
        self.capacity = capacity


@dataclass
class CapturedStep:
    """A decode step captured in a CUDA graph, with the static tensors it reads and writes."""

    graph: Any
    emb: Any
    pos: Any
    slot: Any
    mask: Any
    out: Any


PER_CHUNK = {"rows": "chunk"}
"""Field metadata: one entry per chunk row of the batch."""
PER_ROW = {"rows": "row"}
"""Field metadata: one entry per attention row (a cond and an uncond row per chunk)."""
FREE = -1
PREFIXES_KEPT = 8
"""Voice conditionings (voice and exaggeration) whose keys and values `T3BatchDecoder.prefix` keeps."""
"""`DecodeState.index_host` of a row that holds no chunk (finished and handed out, not yet refilled)."""


@dataclass
class DecodeState:
    """Everything one batched T3 decode carries from step to step.

    Every row writes the same cache slot `S` at a step; a row's prompt sits just before the slot of its first fed
    token, so rows that joined at different times hold different slot windows (continuous batching). A row's
    step is its own: how many tokens it has drawn.
    """

    dev: Any
    dtype: Any
    S: int
    """The cache slot the next fed token goes to."""
    slots: Any
    codes: Any
    """`sampling.vocab_codes` for the speech vocabulary."""
    use_top_p: bool
    max_capacity: int
    """Cache slots any row can need: longest prompt + largest budget + one check interval."""
    G: int = 0
    """Steps taken: a row's step is G - its `base_host`."""
    prompt: Any = None
    """(2n, Ls, D) embeddings of the prompts of rows about to join, past their conditioning, left-padded; until
    their prefill has run (`T3BatchDecoder._start`)."""
    cache: KVCache = field(default=None, metadata=PER_ROW)
    key_valid: Any = field(default=None, metadata=PER_ROW)
    """(2n, capacity) bool: which cache slots each row attends to."""
    lengths: Any = field(default=None, metadata=PER_ROW)
    """(2n,) prompt length of each row: its first fed token's RoPE position."""
    cfg: Any = field(default=None, metadata=PER_CHUNK)
    penalty: Any = field(default=None, metadata=PER_CHUNK)
    temperature: Any = field(default=None, metadata=PER_CHUNK)
    min_p: Any = field(default=None, metadata=PER_CHUNK)
    one_minus_top_p: Any = field(default=None, metadata=PER_CHUNK)
    budget: Any = field(default=None, metadata=PER_CHUNK)
    keys: Any = field(default=None, metadata=PER_CHUNK)
    seen: Any = field(default=None, metadata=PER_CHUNK)
    done: Any = field(default=None, metadata=PER_CHUNK)
    step: Any = field(default=None, metadata=PER_CHUNK)
    """(n,) tokens drawn so far by each row; the next draw is that row's step-th token."""
    out: Any = field(default=None, metadata=PER_CHUNK)
    """(n, largest budget) tokens drawn by each row."""
    last: Any = field(default=None, metadata=PER_CHUNK)
    """(n,) each row's latest token: what the next step feeds."""
    budget_host: list[int] = field(default_factory=list, metadata=PER_CHUNK)
    index_host: list[int] = field(default_factory=list, metadata=PER_CHUNK)
    """Which chunk each row holds (its index in the decode's input), or FREE."""
    start_host: list[int] = field(default_factory=list, metadata=PER_CHUNK)
    """First cache slot of each row's prompt."""
    base_host: list[int] = field(default_factory=list, metadata=PER_CHUNK)
    want_host: list[int] = field(default_factory=list, metadata=PER_CHUNK)
    """Tokens drawn at which the caller next wants a row's tokens so far (`T3BatchDecoder.stream`'s ``want``); 0:
    only when it finishes."""
    want: Any = None
    """The caller's ``want`` (chunk index → tokens drawn), or None."""
    graph: CapturedStep | None = None

    def rows(self, chunk_rows):
        """The attention rows (cond, uncond) of chunk rows (a long tensor)."""
        import torch

        return (2 * chunk_rows[:, None] + torch.arange(2, device=chunk_rows.device)[None]).flatten()

    def select(self, keep_host: list[int], keep, rows) -> None:
        """Keep only the chunks `keep` (and their attention `rows`): every per-chunk and per-row field follows."""
        for f in fields(self):
            kind = f.metadata.get("rows")
            if kind is None:
                continue
            value = getattr(self, f.name)
            if isinstance(value, KVCache):
                value.select(rows)
            elif isinstance(value, list):
                setattr(self, f.name, [value[i] for i in keep_host])
            else:
                setattr(self, f.name, value.index_select(0, keep if kind == "chunk" else rows))
        self.graph = None

    def place(self, at_host: list[int], new: DecodeState) -> None:
        """Put the rows of `new` (prefilled, first token drawn) into the free rows `at_host`, in place (a captured
        graph keeps reading the same tensors). Their prompts go into slots [S - P, S), P being `new`'s padded
        prompt length."""
        import torch

        at = torch.tensor(at_host, dtype=torch.long, device=self.dev)
        rows = self.rows(at)
        P, S = new.S, self.S
        for f in fields(self):
            kind = f.metadata.get("rows")
            value, incoming = getattr(self, f.name), getattr(new, f.name)
            if kind is None:
                continue
            if isinstance(value, KVCache):
                value.place(rows, incoming, S - P, P)
            elif f.name == "key_valid":
                value[rows] = False
                value[rows, S - P : S] = incoming[:, :P]
            elif isinstance(value, list):
                for j, i in enumerate(at_host):
                    value[i] = incoming[j]
            else:
                value[at if kind == "chunk" else rows] = incoming
        for j, i in enumerate(at_host):
            self.start_host[i] = S - P + new.start_host[j]
            self.base_host[i] = self.G - new.G + new.base_host[j]

    def slide(self, d: int) -> None:
        """Move every row's cache window d slots earlier, in place (slots before d hold nothing a live row reads)."""
        self.cache.slide(d)
        kv = self.key_valid
        kv[:, :-d] = kv[:, d:].clone()
        kv[:, -d:] = False
        self.start_host = [s - d for s in self.start_host]
        self.S -= d


class T3BatchDecoder:
    """Speech tokens for many chunks per forward pass, from a loaded chatterbox T3 and its text tokenizer.

    `stream` is continuous batching: up to `rows` chunks decode at once, and at each check point the rows that
    have finished hand their tokens out and the next chunks take their places in the running batch (prefilled on
    their own, then written into the freed rows' cache), so a long chunk never holds back a whole batch. `decode`
    is one batch of all its chunks.
    """

    check_every = 16
    """Most steps between looks at the rows' "stopped" flags (each look is a host sync on a GPU)."""

    def __init__(self, t3, tokenizer, gpu_shaped: bool = False):
        self.t3 = t3
        self.tokenizer = tokenizer
        self.gpu_shaped = gpu_shaped
        """Take the GPU's code paths (module docstring); on CUDA always."""
        self.use_cuda_graphs = True
        self.bf16 = None
        """(layers, norm) of T3's transformer in bfloat16 (`make_bf16_copy`); GPU-shaped decoding only."""
        self.graph_failed = False

    def make_bf16_copy(self) -> None:
        import copy

        import torch

        try:
            tfmr = self.t3.tfmr
            self.bf16 = (copy.deepcopy(tfmr.layers).to(torch.bfloat16), copy.deepcopy(tfmr.norm).to(torch.bfloat16))
        except Exception as exc:
            log.warning("bfloat16 T3 copy failed (%s); decoding in float32", exc)
            self.bf16 = None

    def decode(self, chunks: Sequence[SpokenChunk], conds: Sequence) -> list:
        """Speech tokens per chunk, as stock `T3.inference` returns them (stop token included if drawn), all the
        chunks in one batch. conds: each chunk's T3Cond (its voice, with the chunk's exaggeration)."""
        out: list = [None] * len(chunks)
        for rows in self.stream(chunks, conds, len(chunks)):
            for i, tokens, _done in rows:
                out[i] = tokens
        return out

    def stream(self, chunks: Sequence[SpokenChunk], conds: Sequence, rows: int,
               want: Callable[[int], int] | None = None) -> Iterator[list[tuple[int, Any, bool]]]:
        """(index, speech tokens, True) of the chunks whose rows finished, at each check point; up to `rows` chunks
        decode at once, in the order given, and a finished row's place goes to the next chunk.

        With ``want`` (a chunk's index → how many tokens it should have drawn when its tokens are next handed out),
        a row still decoding is handed out too, as (index, its tokens so far, False), at the first check point
        after it has drawn that many, and the check point comes as soon as a row gets there: what a caller that
        turns tokens into audio as they come (streaming) needs. ``want`` is asked again for a row after each time it
        is handed out (when the caller has consumed it). Where check points fall changes no token.

        Mirrors `T3.inference`'s generation loop (chatterbox-tts 0.1.7) for many rows at once: the logits pipeline
        and the draw per row (`sampling.py`), each row stopping at its stop token or its budget
        (`chunk.max_tokens`).
        """
        import torch

        if not chunks:
            return
        with torch.inference_mode():
            parts = [self.prompt_parts(c, cond) for c, cond in zip(chunks, conds, strict=True)]
            # the most slots a group of chunks still to come can need for its prompts (`_start`'s layout)
            rest = [max((p[0] for p in parts[i:]), default=0) + max((p[1] for p in parts[i:]), default=0)
                    for i in range(len(chunks) + 1)]
            B = max(c.max_tokens for c in chunks)
            st = self._empty(min(rows, len(chunks)), B, rest[0], rest[0] + B + self.check_every,
                             any(c.params.top_p < 1.0 for c in chunks))
            st.want = want
            queue = deque(range(len(chunks)))
            self._reshape(st, queue, chunks, conds, rest)
        while True:
            with torch.inference_mode():
                for _ in range(self._steps_to_check(st)):
                    self._sample(st, self._step(st))
                finished = self._finished(st)
                partial = self._partial(st)
            if finished or partial:
                # before the next chunks start: a failure there keeps these
                yield finished + [(st.index_host[r], tokens, False) for r, tokens in partial]
            for r, _tokens in partial:
                st.want_host[r] = want(st.index_host[r])
            with torch.inference_mode():
                more = self._reshape(st, queue, chunks, conds, rest)
            if not more:
                return

    def prompt_parts(self, chunk: SpokenChunk, t3_cond) -> tuple[int, int]:
        """The lengths of `prompt(chunk, t3_cond)`'s two parts: the voice's conditioning, then the rest (the text
        and its start/stop tokens, the start speech token, BOS)."""
        from chatterbox.tts import punc_norm

        # Keyed by the voice's tensors, which the entry holds (so their ids stay theirs while it is kept).
        key = (id(t3_cond.speaker_emb), id(t3_cond.cond_prompt_speech_tokens))
        memo = self.__dict__.setdefault("_cond_lengths", {})
        if key not in memo:
            if len(memo) >= 64:
                memo.pop(next(iter(memo)))
            length = int(self.t3.prepare_conditioning(t3_cond).shape[1])
            memo[key] = (length, t3_cond.speaker_emb, t3_cond.cond_prompt_speech_tokens)
        text = self.tokenizer.text_to_tokens(punc_norm(chunk.spoken))
        return memo[key][0], int(text.shape[-1]) + 4

    def prefix(self, t3_cond, dtype):
        """The keys and values of a voice's conditioning (its speaker, speech prompt and emotion embeddings): one
        (1, heads, C, head_dim) pair per layer, computed once per conditioning and dtype and shared by every row
        that starts with it (both rows of a CFG pair: only the text is zeroed in the uncond row).

        Computed alone, so a chunk's prompt keys never depend on the chunks it is prefilled with.
        """
        import hashlib
        from types import SimpleNamespace

        import torch

        emb = self.t3.prepare_conditioning(t3_cond)  # (1, C, D): the first C columns of `prompt`'s rows
        key = (hashlib.blake2b(emb.float().cpu().numpy().tobytes(), digest_size=16).digest(), dtype)
        memo = self.__dict__.setdefault("_prefixes", {})
        if key not in memo:
            C, dev = emb.shape[1], emb.device
            cache = self._cache(1, C, dtype, dev)
            cache.length = C
            causal = torch.ones(C, C, dtype=torch.bool, device=dev).tril()[None, None]
            slots = torch.arange(C, device=dev)
            self._forward(SimpleNamespace(dtype=dtype, cache=cache), emb, slots[None], slots, causal)
            if len(memo) >= PREFIXES_KEPT:
                memo.pop(next(iter(memo)))
            memo[key] = (cache.k, cache.v)
        return memo[key]

    def prompt(self, chunk: SpokenChunk, t3_cond):
        """One chunk's cond/uncond prompt rows (2, L, D), as stock `T3.inference` builds them before decoding.

        Mirrors `ChatterboxTTS.generate`'s text tokens (CFG doubled, start/stop text tokens), then
        `T3.inference`'s `prepare_input_embeds` and BOS embedding, chatterbox-tts 0.1.7.
        """
        import torch
        import torch.nn.functional as F
        from chatterbox.tts import punc_norm

        t3, hp = self.t3, self.t3.hp
        dev = t3.device
        text = self.tokenizer.text_to_tokens(punc_norm(chunk.spoken)).to(dev)
        text = torch.cat([text, text], dim=0)
        text = F.pad(text, (1, 0), value=hp.start_text_token)
        text = F.pad(text, (0, 1), value=hp.stop_text_token).to(dtype=torch.long)
        speech0 = hp.start_speech_token * torch.ones_like(text[:, :1])
        embeds, _ = t3.prepare_input_embeds(
            t3_cond=t3_cond, text_tokens=text, speech_tokens=speech0, cfg_weight=chunk.params.cfg_weight
        )
        bos = torch.tensor([[hp.start_speech_token]], dtype=torch.long, device=dev)
        bos_embed = t3.speech_emb(bos) + t3.speech_pos_emb.get_fixed_embedding(0)
        return torch.cat([embeds, torch.cat([bos_embed, bos_embed])], dim=1)

    def _start(self, chunks: Sequence[SpokenChunk], conds: Sequence, indices: Sequence[int], B: int,
               want: Callable[[int], int] | None = None) -> DecodeState:
        """Chunks about to join, with a cache just for their prefill, laid out as [conditioning | pad | rest]: each
        voice's conditioning keys (`prefix`, computed once) end at slot Cmax, the rest of each prompt (left-padded,
        to be prefilled) ends at slot P. Positions are explicit, so the gap between the two changes nothing."""
        import torch

        t3 = self.t3
        dev = t3.device
        dtype = torch.bfloat16 if self.bf16 is not None else torch.float32
        prompts = [self.prompt(c, cond) for c, cond in zip(chunks, conds, strict=True)]
        prefixes = [self.prefix(cond, dtype) for cond in conds]
        m = len(chunks)
        cond_lens = [k[0].shape[2] for k, _ in prefixes]
        rest_lens = [e.shape[1] - c for e, c in zip(prompts, cond_lens, strict=True)]
        Cm, Ls = max(cond_lens), max(rest_lens)
        P = Cm + Ls
        x = torch.zeros(2 * m, Ls, prompts[0].shape[-1], dtype=prompts[0].dtype, device=dev)
        cache = self._cache(2 * m, P, dtype, dev)
        key_valid = torch.zeros(2 * m, P, dtype=torch.bool, device=dev)
        for j, (e, (pk, pv), C, n) in enumerate(zip(prompts, prefixes, cond_lens, rest_lens, strict=True)):
            pair = slice(2 * j, 2 * j + 2)
            x[pair, Ls - n :] = e[:, C:]
            for mine, theirs in zip(cache.k + cache.v, pk + pv, strict=True):
                mine[pair, :, Cm - C : Cm] = theirs
            key_valid[pair, Cm - C : Cm] = True
            key_valid[pair, P - n :] = True
        lengths = torch.tensor([e.shape[1] for e in prompts for _ in range(2)], dtype=torch.long, device=dev)

        def col(values):
            return torch.tensor(values, dtype=torch.float32, device=dev)[:, None]

        ps = [c.params for c in chunks]
        budget_host = [c.max_tokens for c in chunks]
        V = t3.speech_head.out_features
        seen = torch.zeros(m, V, dtype=torch.bool, device=dev)
        seen[:, t3.hp.start_speech_token] = True
        return DecodeState(
            dev=dev, dtype=dtype, S=P, slots=torch.arange(P, device=dev), codes=vocab_codes(V, dev),
            use_top_p=any(p.top_p < 1.0 for p in ps), max_capacity=P, prompt=x, cache=cache, key_valid=key_valid,
            lengths=lengths, cfg=col([p.cfg_weight for p in ps]),
            penalty=col([float(p.repetition_penalty) for p in ps]), temperature=col([p.temperature for p in ps]),
            min_p=col([p.min_p for p in ps]), one_minus_top_p=col([1 - p.top_p for p in ps]),
            budget=torch.tensor(budget_host, dtype=torch.long, device=dev),
            keys=torch.tensor([seed_key(c.seed) for c in chunks], dtype=torch.int64, device=dev), seen=seen,
            done=torch.zeros(m, dtype=torch.bool, device=dev), step=torch.zeros(m, dtype=torch.long, device=dev),
            out=torch.full((m, B), t3.hp.stop_speech_token, dtype=torch.long, device=dev),
            last=torch.zeros(m, dtype=torch.long, device=dev), budget_host=budget_host, index_host=list(indices),
            start_host=[Cm - C for C in cond_lens], base_host=[0] * m,
            want_host=[want(i) for i in indices] if want else [0] * m,
        )

    def _empty(self, n: int, B: int, S: int, max_capacity: int, use_top_p: bool) -> DecodeState:
        """A batch of n free rows whose next token goes to slot S; B: the largest budget of any chunk."""
        import torch

        t3 = self.t3
        dev = t3.device
        V = t3.speech_head.out_features
        cap = max_capacity if self.gpu_shaped else min(max_capacity, S + 2 * self.check_every)
        dtype = torch.bfloat16 if self.bf16 is not None else torch.float32

        def col(value):
            return torch.full((n, 1), value, dtype=torch.float32, device=dev)

        def zeros(*shape, dtype=torch.long):
            return torch.zeros(shape, dtype=dtype, device=dev)

        return DecodeState(
            dev=dev, dtype=dtype, S=S, slots=torch.arange(max_capacity, device=dev), codes=vocab_codes(V, dev),
            use_top_p=use_top_p, max_capacity=max_capacity, cache=self._cache(2 * n, cap, dtype, dev),
            key_valid=zeros(2 * n, cap, dtype=torch.bool), lengths=zeros(2 * n), cfg=col(0.0), penalty=col(1.0),
            temperature=col(1.0), min_p=col(0.0), one_minus_top_p=col(0.0), budget=zeros(n), keys=zeros(n),
            seen=zeros(n, V, dtype=torch.bool), done=torch.ones(n, dtype=torch.bool, device=dev), step=zeros(n),
            out=torch.full((n, B), t3.hp.stop_speech_token, dtype=torch.long, device=dev), last=zeros(n),
            budget_host=[0] * n, index_host=[FREE] * n, start_host=[S] * n, base_host=[0] * n, want_host=[0] * n,
        )

    def _cache(self, rows: int, capacity: int, dtype, dev) -> KVCache:
        cfg = self.t3.cfg
        head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
        return KVCache(cfg.num_hidden_layers, rows, cfg.num_key_value_heads, head_dim, capacity, dtype, dev)

    def _layers(self, st: DecodeState):
        import torch

        if st.dtype == torch.bfloat16 and self.bf16 is not None:
            return self.bf16
        return self.t3.tfmr.layers, self.t3.tfmr.norm

    def _forward(self, st: DecodeState, x, position_ids, slots, mask):
        """Llama layers over x (R, S, D) at RoPE positions / cache slots; the speech logits of the last position."""
        t3 = self.t3
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

    def _prefill(self, st: DecodeState):
        """`T3.inference`'s initial forward pass (chatterbox-tts 0.1.7) over the rest of each prompt (`_start`),
        attending to its conditioning's keys; padding masked out. The logits of each row's BOS position."""
        import torch

        P, Ls = st.S, st.prompt.shape[1]
        cols = torch.arange(Ls, device=st.dev)
        pos = (st.lengths[:, None] - Ls + cols[None]).clamp(min=0)  # the last column is position length - 1
        query_slots = P - Ls + cols
        mask = st.key_valid[:, None, :] & (st.slots[None, None, :] <= query_slots[None, :, None])
        mask = mask | (st.slots[None, None, :] == query_slots[None, :, None])  # padded queries see themselves
        st.cache.length = P
        logits = self._forward(st, st.prompt, pos, query_slots, mask[:, None])
        st.prompt = None
        return logits

    def _sample(self, st: DecodeState, logits) -> None:
        """Each row's next token from its logits: recorded (unless the row is done), and fed at the next step."""
        import torch

        stop = self.t3.hp.stop_speech_token
        probs = process_logits(
            logits, st.seen, st.cfg, st.penalty, st.temperature, st.min_p, st.one_minus_top_p, st.use_top_p
        )
        tok = race(probs, step_uniforms(st.keys, st.step, probs.shape[-1], st.codes))
        col = st.step.clamp(max=st.out.shape[1] - 1)[:, None]
        st.out.scatter_(1, col, torch.where(st.done[:, None], st.out.gather(1, col), tok[:, None]))
        st.seen.scatter_(1, tok[:, None], True)
        st.done |= (tok == stop) | (st.step + 1 >= st.budget)
        st.step += 1
        st.last = tok
        st.G += 1

    def _step(self, st: DecodeState):
        """Feed every row's latest token into slot S (learned position: the row's step; RoPE position: its prompt
        length + step - 1); the logits of the next draw.

        Mirrors the step of `T3.inference` (chatterbox-tts 0.1.7): `speech_emb` plus the fixed position embedding,
        duplicated for the CFG pair, through the transformer with the cache.
        """
        t3 = self.t3
        table = t3.speech_pos_emb.emb.weight
        emb = t3.speech_emb(st.last)[:, None] + table[st.step.clamp(max=table.shape[0] - 1)][:, None]
        emb = emb.repeat_interleave(2, dim=0)
        slot = st.S
        st.S += 1
        st.key_valid[:, slot] = True
        pos = (st.lengths + (st.step - 1).repeat_interleave(2))[:, None]
        if st.dev.type == "cuda" and self.use_cuda_graphs and not self.graph_failed:
            logits = self._graph_step(st, emb, pos, slot)
            if logits is not None:
                return logits
        if self._holds_graph():  # eagerly, what the captured graph replays: every slot, the mask hiding the rest
            st.cache.full = True
            return self._forward(st, emb, pos, st.slots[slot : slot + 1], st.key_valid[:, None, None, :])
        st.cache.full = False
        st.cache.length = slot + 1
        mask = st.key_valid[:, None, None, : slot + 1]
        return self._forward(st, emb, pos, st.slots[slot : slot + 1], mask)

    def _graph_step(self, st: DecodeState, emb, pos, slot):  # pragma: no cover - CUDA only
        """The decode step replayed from a CUDA graph (captured once per batch size); None to fall back to eager."""
        try:
            if st.graph is None:
                st.graph = self._capture(st, emb, pos, slot)
            g = st.graph
            g.emb.copy_(emb)
            g.pos.copy_(pos)
            g.slot.fill_(slot)
            g.graph.replay()
            return g.out
        except Exception as exc:
            if is_oom(exc):
                raise  # the batch is too big: the engine halves it
            log.warning("CUDA graph capture failed (%s); decoding eagerly", exc)
            self.graph_failed = True
            st.graph = None
            st.cache.full = False
            return None

    def _capture(self, st: DecodeState, emb, pos, slot) -> CapturedStep:  # pragma: no cover - CUDA only
        import torch

        emb_s, pos_s = emb.to(st.dtype).clone(), pos.clone()
        slot_s = st.slots[slot : slot + 1].clone()
        mask = st.key_valid[:, None, None, :]
        st.cache.full = True
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(2):
                self._forward(st, emb_s, pos_s, slot_s, mask)
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            out = self._forward(st, emb_s, pos_s, slot_s, mask)
        return CapturedStep(graph, emb_s, pos_s, slot_s, mask, out)

    def _steps_to_check(self, st: DecodeState) -> int:
        """Steps until the next check point: `check_every`, or fewer when a row reaches its budget, or the tokens
        its caller wants, sooner."""
        left = [b - (st.G - base) for b, base, i in zip(st.budget_host, st.base_host, st.index_host, strict=True)
                if i != FREE]
        left += [w - (st.G - base) for w, base, i in zip(st.want_host, st.base_host, st.index_host, strict=True)
                 if i != FREE and w > 0]
        left = [n for n in left if n > 0]
        return min([self.check_every, *left]) if left else 0

    def _finished(self, st: DecodeState) -> list:
        """(chunk index, tokens) of every row that has stopped; their rows become free."""
        stop = self.t3.hp.stop_speech_token
        done = st.done.cpu().tolist()
        rows = [r for r, i in enumerate(st.index_host) if i != FREE and done[r]]
        if not rows:
            return []
        out = st.out[rows].cpu()
        results = []
        for j, r in enumerate(rows):
            row = out[j, : min(st.G - st.base_host[r], st.budget_host[r])]
            stops = (row == stop).nonzero()
            if stops.numel():
                row = row[: int(stops[0, 0]) + 1]
            results.append((st.index_host[r], row.clone(), True))
            st.index_host[r] = FREE
        return results

    def _partial(self, st: DecodeState) -> list:
        """(row, tokens so far) of every row still decoding that has drawn as many tokens as the caller wants."""
        rows = [r for r, i in enumerate(st.index_host)
                if i != FREE and 0 < st.want_host[r] <= st.G - st.base_host[r]]
        if not rows:
            return []
        out = st.out[rows].cpu()
        return [(r, out[j, : st.G - st.base_host[r]].clone()) for j, r in enumerate(rows)]

    def _reshape(self, st: DecodeState, queue: deque, chunks, conds, rest: list[int]) -> bool:
        """At a check point: free rows take the next chunks, or (none left) leave the batch; the cache makes room
        for the next steps. False when nothing is left to decode."""
        import torch

        free = [r for r, i in enumerate(st.index_host) if i == FREE]
        if queue and free:
            joining = [queue.popleft() for _ in range(min(len(free), len(queue)))]
            self._admit(st, free[: len(joining)], joining, chunks, conds)
            free = free[len(joining) :]
        held = [r for r, i in enumerate(st.index_host) if i != FREE]
        if not held:
            return False
        if free and not (self._holds_graph() and 2 * len(held) > len(st.index_host)):
            # a captured graph fixes the batch size: the GPU shape waits until half the rows are free
            keep = torch.tensor(held, device=st.dev)
            st.select(held, keep, st.rows(keep))
        self._make_room(st, rest[len(chunks) - len(queue)])
        return True

    def _admit(self, st: DecodeState, at: list[int], joining: list[int], chunks, conds) -> None:
        """Prefill the joining chunks together, draw their first tokens, and put them in rows `at`."""
        new = self._start([chunks[i] for i in joining], [conds[i] for i in joining], joining, st.out.shape[1],
                          st.want)
        if new.S > st.S:
            raise RuntimeError(f"a prompt of {new.S} tokens does not fit before cache slot {st.S}")
        self._sample(new, self._prefill(new))
        st.place(at, new)

    def _make_room(self, st: DecodeState, coming: int) -> None:
        """Room in the cache for the steps to the next check point: the rows' windows slid back over slots no
        live row reads (keeping room for prompts of `coming` tokens before slot S), and on the CPU the cache
        grown (by doubling) when that is not enough; on CUDA it is allocated in full."""
        import torch

        n = self._steps_to_check(st)
        low = min(s for s, i in zip(st.start_host, st.index_host, strict=True) if i != FREE)
        d = min(low, st.S - coming)
        if d > 0 and (st.S + n > st.cache.capacity or (not self._holds_graph() and 2 * d >= st.S)):
            st.slide(d)
        if st.S + n <= st.cache.capacity:
            return
        cap = min(st.max_capacity, max(st.S + n, 2 * st.cache.capacity))
        if st.S + n > cap:
            raise RuntimeError(f"T3 cache window overflow at slot {st.S}")
        st.cache.grow(cap)
        st.key_valid = torch.nn.functional.pad(st.key_valid, (0, cap - st.key_valid.shape[1]), value=False)
        st.graph = None

    def _holds_graph(self) -> bool:
        """Whether decode steps run at the fixed shapes of a CUDA graph (captured on CUDA, eager elsewhere)."""
        return self.gpu_shaped and self.use_cuda_graphs and not self.graph_failed


class TurboBatchDecoder:
    """Speech tokens for many chunks per forward pass with Chatterbox-Turbo's T3 (GPT-2, no CFG: one row a chunk).

    Mirrors `T3.inference_turbo` (chatterbox-tts 0.1.7) per row: the prompt of `prepare_input_embeds`, the first token
    drawn from the prompt's last position, then one token per step; turbo's processors per row
    (`sampling.process_turbo_logits`: its top_k included) and each row's own random stream; each row stops at its
    stop token (dropped, as stock drops it) or its budget (`chunk.max_tokens` tokens in all, stock's
    `max_gen_len + 1`). GPT-2's own blocks run over a preallocated `KVCache`: each voice's conditioning keys and
    values are computed once (`prefix`), only the text is prefilled, padding is masked out, and explicit positions
    give each row stock's learned positions.
    A batch decodes until all its rows have finished (no refill: rows that have finished ride along, their draws
    discarded). At check points (every `check_every` steps, or sooner when a row reaches its budget or the tokens a
    streaming caller wants) the host reads the rows' "stopped" flags and hands out the rows due (`stream`): a
    finished row once, and a row still decoding its tokens so far, so a streamed take starts while T3 draws.
    """

    check_every = 16

    def __init__(self, t3, tokenizer):
        self.t3 = t3
        self.tokenizer = tokenizer

    def prompt(self, chunk: SpokenChunk, t3_cond):
        """One chunk's prompt embeddings (L, D), as `ChatterboxTurboTTS.generate` and `inference_turbo` build them."""
        import torch
        from chatterbox.tts_turbo import punc_norm

        t3 = self.t3
        ids = self.tokenizer(punc_norm(chunk.spoken), return_tensors="pt", padding=True, truncation=True)
        ids = ids.input_ids.to(t3.device)
        start = t3.hp.start_speech_token * torch.ones_like(ids[:, :1])
        embeds, _ = t3.prepare_input_embeds(t3_cond=t3_cond, text_tokens=ids, speech_tokens=start, cfg_weight=0.0)
        return embeds[0]

    def stream(self, chunks: Sequence[SpokenChunk], conds: Sequence, rows: int,
               want: Callable[[int], int] | None = None) -> Iterator[list[tuple[int, Any, bool]]]:
        """(index, speech tokens, True) of the chunks whose rows finished, at each check point; `rows` chunks per
        batch, in the order given, each batch decoding until all its rows have finished (no refill).

        With ``want``, as in `T3BatchDecoder.stream`: a row still decoding is handed out too, as (index, its tokens
        so far, False), at a check point that comes as soon as it has drawn ``want(index)`` tokens; ``want`` is
        asked again for that row after each time it is handed out. Where check points fall changes no token."""
        for first in range(0, len(chunks), rows):
            part = slice(first, first + rows)
            wanted = None if want is None else (lambda k, first=first: want(first + k))
            for handed in self._decoding(chunks[part], conds[part], wanted):
                yield [(first + k, tokens, done) for k, tokens, done in handed]

    def decode(self, chunks: Sequence[SpokenChunk], conds: Sequence) -> list:
        """Speech tokens per chunk, as stock `T3.inference_turbo` returns them (stop token dropped), all the chunks
        in one batch."""
        out: list = [None] * len(chunks)
        for handed in self._decoding(chunks, conds):
            for k, tokens, _done in handed:
                out[k] = tokens
        return out

    def _decoding(self, chunks: Sequence[SpokenChunk], conds: Sequence,
                  want: Callable[[int], int] | None = None) -> Iterator[list[tuple[int, Any, bool]]]:
        """One batch of `chunks`: at each check point, (row, tokens, done) of the rows due (`stream`). A finished
        row's tokens are stock's (stop token dropped, at most its budget); a row's tokens so far are always a
        prefix of them.

        Check points: every `check_every` steps, when a row reaches its budget or the tokens ``want`` asks of it,
        and at the last step. Only there does the host read the rows' "stopped" flags and tokens; the draws come
        from each row's per-step uniforms, so where check points fall changes no token."""
        import torch

        if not chunks:
            return
        t3, hp = self.t3, self.t3.hp
        stop, dev, n = hp.stop_speech_token, t3.device, len(chunks)
        budgets = [max(c.max_tokens, 0) for c in chunks]
        with torch.inference_mode():
            cache, key_valid, lengths, logits = self._prefill(chunks, conds)
            S = key_valid.shape[1] - max(1, max(budgets))  # the slot of the first fed token
            settings = self._settings(chunks, dev)
            V = logits.shape[-1]
            seen = torch.zeros(n, V, dtype=torch.bool, device=dev)
            seen[:, hp.start_speech_token] = True
            budget = torch.tensor(budgets, device=dev)
            done = budget <= 0
            out = torch.full((n, max(1, max(budgets))), stop, dtype=torch.long, device=dev)
            codes, keys = vocab_codes(V, dev), settings.pop("keys")
        wants = [want(i) if want else 0 for i in range(n)]  # tokens drawn at which a row is next handed out; 0: never
        left = set(range(n))  # rows not yet handed out finished
        k, tok = 0, None  # k: tokens drawn by every row; tok: the latest draw, fed at the next step
        while left:
            ahead = [self.check_every - k % self.check_every, out.shape[1] - k]
            ahead += [budgets[i] - k for i in left] + [wants[i] - k for i in left if wants[i] > 0]
            with torch.inference_mode():
                for _ in range(min(a for a in ahead if a > 0)):
                    if k > 0:
                        slot = S + k - 1
                        key_valid[:, slot] = True
                        cache.length = slot + 1
                        logits = self._forward(t3.speech_emb(tok)[:, None], (lengths + k - 1)[:, None], cache,
                                               torch.arange(slot, slot + 1, device=dev),
                                               key_valid[:, None, None, : slot + 1])
                    probs = process_turbo_logits(logits, seen, **settings)
                    tok = race(probs, step_uniforms(keys, k, V, codes))
                    out[:, k] = torch.where(done, stop, tok)
                    if k == 0:
                        seen.zero_()  # from the second step on, stock's input_ids are the drawn tokens only
                    seen.scatter_(1, tok[:, None], True)
                    done |= (tok == stop) | (k + 1 >= budget)
                    k += 1
                stopped = done.cpu().tolist()
                finished = sorted(i for i in left if stopped[i])
                partial = sorted(i for i in left if not stopped[i] and 0 < wants[i] <= k)
                drawn = out[finished + partial, :k].cpu() if finished or partial else None
            handed = []
            for j, i in enumerate(finished):
                row = drawn[j, : budgets[i]]
                stops = (row == stop).nonzero()
                handed.append((i, (row[: int(stops[0, 0])] if stops.numel() else row).clone(), True))
            handed += [(i, drawn[len(finished) + j].clone(), False) for j, i in enumerate(partial)]
            left.difference_update(finished)
            if handed:
                yield handed
            for i in partial:
                wants[i] = want(i)

    def _prefill(self, chunks: Sequence[SpokenChunk], conds: Sequence):
        """The prompts through GPT-2: (cache, key_valid, prompt lengths, logits of each prompt's last position).

        Layout per row: [pad | conditioning | pad | text], the conditioning's keys and values copied in (`prefix`),
        then room for every token of the largest budget.
        """
        import torch

        dev = self.t3.device
        prompts = [self.prompt(c, cond) for c, cond in zip(chunks, conds, strict=True)]
        prefixes = [self.prefix(cond) for cond in conds]
        n = len(chunks)
        cond_lens = [p[0][0].shape[2] for p in prefixes]
        rest_lens = [e.shape[0] - c for e, c in zip(prompts, cond_lens, strict=True)]
        Cm, Ls = max(cond_lens), max(rest_lens)
        P = Cm + Ls
        cache = self._cache(n, P + max(1, max(c.max_tokens for c in chunks)))
        key_valid = torch.zeros(n, cache.capacity, dtype=torch.bool, device=dev)
        x = torch.zeros(n, Ls, prompts[0].shape[-1], dtype=prompts[0].dtype, device=dev)
        for i, (e, pkv, C, m) in enumerate(zip(prompts, prefixes, cond_lens, rest_lens, strict=True)):
            x[i, Ls - m :] = e[C:]
            for layer, (pk, pv) in enumerate(pkv):
                cache.k[layer][i, :, Cm - C : Cm] = pk[0]
                cache.v[layer][i, :, Cm - C : Cm] = pv[0]
            key_valid[i, Cm - C : Cm] = True
            key_valid[i, P - m : P] = True
        lengths = torch.tensor([e.shape[0] for e in prompts], device=dev)
        cols = torch.arange(Ls, device=dev)
        pos = (lengths[:, None] - Ls + cols[None]).clamp(min=0)  # the last column is position length - 1
        slots = torch.arange(P, device=dev)
        query = Cm + cols
        mask = key_valid[:, None, :P] & (slots[None, None, :] <= query[None, :, None])
        mask = mask | (slots[None, None, :] == query[None, :, None])  # padded queries see themselves
        cache.length = P
        return cache, key_valid, lengths, self._forward(x, pos, cache, query, mask[:, None])

    def prefix(self, t3_cond) -> list:
        """The keys and values of a voice's conditioning (speaker and speech prompt: nearly all of a turbo prompt),
        one (1, heads, C, head_dim) pair per layer, computed once (alone) per conditioning and shared by every
        chunk of that voice; only the text is prefilled per chunk."""
        import hashlib

        import torch

        emb = self.t3.prepare_conditioning(t3_cond)  # (1, C, D): the first C positions of `prompt`
        key = hashlib.blake2b(emb.float().cpu().numpy().tobytes(), digest_size=16).digest()
        memo = self.__dict__.setdefault("_prefixes", {})
        if key not in memo:
            C, dev = emb.shape[1], emb.device
            cache = self._cache(1, C)
            cache.length = C
            slots = torch.arange(C, device=dev)
            causal = torch.ones(C, C, dtype=torch.bool, device=dev).tril()[None, None]
            self._forward(emb, slots[None], cache, slots, causal)
            if len(memo) >= PREFIXES_KEPT:
                memo.pop(next(iter(memo)))
            memo[key] = list(zip(cache.k, cache.v, strict=True))
        return memo[key]

    def _cache(self, rows: int, capacity: int) -> KVCache:
        cfg = self.t3.tfmr.config
        return KVCache(len(self.t3.tfmr.h), rows, cfg.n_head, cfg.n_embd // cfg.n_head, capacity,
                       self.t3.speech_emb.weight.dtype, self.t3.device)

    def _forward(self, x, pos, cache: KVCache, slots, mask):
        """GPT-2's blocks over x (n, S, D) at positions `pos`, keys and values into `cache` at `slots`, attention
        under the boolean `mask` (n, 1, S, slots read); the speech logits of the last position.

        What `GPT2Model.forward` does (transformers 5.x) with a 4D mask and a cache given: position embeddings,
        the blocks, the final layer norm.
        """
        tfmr = self.t3.tfmr
        h = tfmr.drop(x + tfmr.wpe(pos))
        for block in tfmr.h:
            h = block(h, past_key_values=cache, cache_position=slots, attention_mask=mask, use_cache=True,
                      position_ids=pos)[0]
        h = tfmr.ln_f(h)
        return self.t3.speech_head(h[:, -1:])[:, -1, :].float()

    @staticmethod
    def _settings(chunks: Sequence[SpokenChunk], dev) -> dict:
        """Per-row columns for `process_turbo_logits`, each at the value that makes a processor stock skips a no-op."""
        import torch

        ps = [c.params for c in chunks]

        def col(values, dtype=torch.float32):
            return torch.tensor(values, dtype=dtype, device=dev)[:, None]

        return dict(
            temperature=col([p.temperature if p.temperature > 0 else 1.0 for p in ps]),
            top_k=col([p.top_k if p.top_k > 0 else 1 << 30 for p in ps], torch.long),  # clamped to V when used
            one_minus_top_p=col([1 - p.top_p for p in ps]),
            penalty=col([float(p.repetition_penalty) for p in ps]),
            use_top_p=any(p.top_p < 1.0 for p in ps),
            keys=torch.tensor([seed_key(c.seed) for c in chunks], dtype=torch.int64, device=dev),
        )


def is_oom(exc: BaseException) -> bool:
    """Whether `exc` is running out of (GPU or host) memory."""
    import sys

    torch = sys.modules.get("torch")
    oom_type = getattr(getattr(torch, "cuda", None), "OutOfMemoryError", None) if torch else None
    if oom_type is not None and isinstance(exc, oom_type):
        return True
    return isinstance(exc, (RuntimeError, MemoryError)) and (
        isinstance(exc, MemoryError) or "out of memory" in str(exc).lower()
    )
