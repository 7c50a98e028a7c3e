"""Per-row sampling for the batched T3 decoder: stock T3's logits pipeline and counter-based random numbers.

Pure functions of their inputs, so a chunk's tokens depend on its seed and its own logits only, never on which
other chunks share its batch:

* `process_logits` is the pipeline of stock `T3.inference` (chatterbox-tts 0.1.7): CFG combine, transformers'
  RepetitionPenaltyLogitsProcessor, temperature, MinPLogitsWarper and TopPLogitsWarper, with one row per chunk and
  per-row settings.
* `step_uniforms` hashes (chunk key, step, vocabulary index) to a uniform in (0, 1); `race` turns the uniforms
  into a draw from the probabilities (argmax of p / E with E exponential), which is what `torch.multinomial` does
  in stock, with a stream of its own per chunk instead of torch's global generator.

torch is imported inside the functions.
"""

from __future__ import annotations

_M32 = 0xFFFFFFFF


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


def vocab_codes(vocab: int, device=None):
    """The per-index constants `step_uniforms` mixes in; compute once per decode and pass them in."""
    import torch

    return (torch.arange(vocab, dtype=torch.int64, device=device) * 0x9E3779B1) & _M32


def step_uniforms(keys, step, vocab: int, codes=None):
    """Uniforms in (0, 1), shape (rows, vocab): a hash of (row key, step, vocabulary index) and nothing else.

    step: one step for every row (an int), or each row's own step (an int64 tensor, one per row).
    """
    import torch

    if codes is None:
        codes = vocab_codes(vocab, keys.device)
    if isinstance(step, int):
        s = _mix32_int(step * 0x9E3779B9 + 0x632BE5AB)
        s1 = _mix32_int(s + 1)
    else:
        s = _mix32(_mul32(step.to(torch.int64) & _M32, 0x9E3779B9) + 0x632BE5AB & _M32)
        s1 = _mix32(s + 1 & _M32)
    x = _mix32((keys ^ s)[:, None] + codes[None, :] & _M32)
    x = _mix32(x ^ (keys ^ s1)[:, None])
    return ((x >> 8).to(torch.float32) + 0.5) * (1.0 / (1 << 24))


def process_logits(logits, seen, cfg, penalty, temperature, min_p, one_minus_top_p, use_top_p: bool):
    """Stock `T3.inference`'s logits pipeline (chatterbox-tts 0.1.7), one row per chunk, per-row (n, 1) settings.

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
        x = _top_p(x, one_minus_top_p)
    return torch.softmax(x, dim=-1)


def _top_p(x, one_minus_top_p):
    """transformers' TopPLogitsWarper (min_tokens_to_keep=1) with a top_p per row."""
    import torch

    sorted_x, order = torch.sort(x, descending=False)
    drop = sorted_x.softmax(dim=-1).cumsum(dim=-1) <= one_minus_top_p
    drop[..., -1:] = False
    return x.masked_fill(drop.scatter(1, order, drop), -float("inf"))


def process_turbo_logits(logits, seen, temperature, top_k, one_minus_top_p, penalty, use_top_p: bool):
    """Stock `T3.inference_turbo`'s processors (chatterbox-tts 0.1.7), in its order, one row per chunk.

    TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper, then RepetitionPenaltyLogitsProcessor. Per-row
    (n, 1) settings: temperature 1.0 where stock skips it (t <= 0 or t == 1: x / 1.0 == x), top_k the vocabulary
    size where stock skips it (top_k <= 0), penalty 1.0 where stock skips it. seen: (n, V) bool, the ids stock passes
    as `input_ids` (the start token at the first step, then the tokens drawn so far).
    """
    import torch

    x = logits / temperature
    kth = torch.sort(x, dim=-1, descending=True).values.gather(1, top_k.clamp(max=x.shape[-1]) - 1)
    x = x.masked_fill(x < kth, -float("inf"))
    if use_top_p:
        x = _top_p(x, one_minus_top_p)
    x = torch.where(seen, torch.where(x < 0, x * penalty, x / penalty), x)
    return torch.softmax(x, dim=-1)


def race(probs, uniforms):
    """Exponential race: argmax_i p_i / E_i with E_i = -log(u_i) picks index i with probability p_i."""
    import torch

    return torch.argmax(probs / -torch.log(uniforms), dim=-1)
