"""The batched decoder's sampling, without a model: stock's logits pipeline, counter-based streams, the race.

The numbers are fixed (hashes of fixed inputs), so the statistical bounds below are checks of the hash's quality
that cannot flake: they hold with a wide margin for a good mix and fail for a broken one (a constant, a stream
that ignores its key or step, a bias towards some values).
"""

from __future__ import annotations

import pytest
import torch
from transformers.generation.logits_process import (
    MinPLogitsWarper,
    RepetitionPenaltyLogitsProcessor,
    TopPLogitsWarper,
)

from cbx_cli.engine.sampling import (
    _mix32,
    _mix32_int,
    process_logits,
    race,
    seed_key,
    step_uniforms,
)


def stock_row(cond, uncond, ids, cfg_w, penalty, temperature, min_p, top_p):
    """One row through stock `T3.inference`'s steps, with transformers' own processors."""
    x = cond + torch.as_tensor(cfg_w, dtype=cond.dtype) * (cond - uncond)
    x = RepetitionPenaltyLogitsProcessor(penalty=float(penalty))(ids, x)
    if temperature != 1.0:
        x = x / temperature
    x = MinPLogitsWarper(min_p=min_p)(ids, x)
    x = TopPLogitsWarper(top_p=top_p)(ids, x)
    return torch.softmax(x, dim=-1)[0]


@pytest.mark.parametrize("trial", range(4))
def test_process_logits_matches_stock_processors(trial):
    """Per row, process_logits equals stock's CFG + HF processors applied to that row alone, bit for bit."""
    g = torch.Generator().manual_seed(trial)
    V, n = 300, 5

    def rand() -> float:
        return float(torch.rand(1, generator=g))

    # (cfg_weight, repetition_penalty, temperature, min_p, top_p) per row
    settings = [(2 * rand(), 1 + rand(), 0.2 + rand(), 0.3 * rand(), [1.0, 0.9, 0.5][i % 3]) for i in range(n)]
    logits = torch.randn(2 * n, V, generator=g) * 3
    ids = [torch.randint(0, V, (1, 7), generator=g) for _ in range(n)]
    seen = torch.zeros(n, V, dtype=torch.bool)
    for i, row in enumerate(ids):
        seen[i, row[0]] = True

    def col(k, f=lambda x: x):
        return torch.tensor([f(s[k]) for s in settings], dtype=torch.float32)[:, None]

    got = process_logits(logits, seen, col(0), col(1), col(2), col(3), col(4, lambda p: 1 - p), use_top_p=True)
    for i, s in enumerate(settings):
        expected = stock_row(logits[2 * i : 2 * i + 1], logits[2 * i + 1 : 2 * i + 2], ids[i], *s)
        assert torch.equal(expected, got[i])


def test_top_p_of_one_may_be_skipped():
    """With top_p = 1 for every row, skipping the top-p step gives stock's probabilities exactly."""
    g = torch.Generator().manual_seed(9)
    n, V = 3, 200
    logits = torch.randn(2 * n, V, generator=g)
    ids = torch.randint(0, V, (1, 4), generator=g)
    seen = torch.zeros(n, V, dtype=torch.bool)
    seen[:, ids[0]] = True
    one = torch.ones(n, 1)
    got = process_logits(logits, seen, 0.5 * one, 1.2 * one, 0.8 * one, 0.05 * one, 0 * one, use_top_p=False)
    for i in range(n):
        assert torch.equal(got[i], stock_row(logits[2 * i : 2 * i + 1], logits[2 * i + 1 : 2 * i + 2], ids,
                                             0.5, 1.2, 0.8, 0.05, 1.0))


def test_tensor_mix_equals_integer_mix():
    values = [0, 1, 2, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 123456789, 0xDEADBEEF]
    got = _mix32(torch.tensor(values, dtype=torch.int64)).tolist()
    assert got == [_mix32_int(v) for v in values]
    assert len(set(got)) == len(values)


def keys_of(*seeds):
    return torch.tensor([seed_key(s) for s in seeds], dtype=torch.int64)


def test_same_key_and_step_give_the_same_numbers_whatever_the_batch():
    keys = keys_of(1, 2, 2**40 + 1, 99)
    u = step_uniforms(keys, 5, 1000)
    assert u.shape == (4, 1000) and u.dtype == torch.float32
    assert torch.equal(step_uniforms(keys, 5, 1000), u)
    assert torch.equal(step_uniforms(keys[1:2], 5, 1000)[0], u[1])  # a row's draws ignore the other rows
    assert torch.equal(step_uniforms(keys.flip(0), 5, 1000).flip(0), u)
    assert not torch.equal(step_uniforms(keys, 6, 1000), u)
    assert not torch.equal(u[0], u[2])  # seeds differing only above 32 bits still differ


def test_rows_at_their_own_steps_draw_what_they_would_draw_at_that_step_together():
    """Continuous batching puts rows at different steps in one batch: a per-row step tensor gives each row the
    numbers of its own step, the same as a shared int step."""
    keys = keys_of(1, 2, 2**40 + 1, 99)
    steps = torch.tensor([0, 7, 999, 2**31 - 1])
    u = step_uniforms(keys, steps, 300)
    for i, step in enumerate(steps.tolist()):
        assert torch.equal(u[i], step_uniforms(keys, step, 300)[i])
    assert torch.equal(step_uniforms(keys, torch.full((4,), 5), 300), step_uniforms(keys, 5, 300))


def test_seed_keys_are_distinct_32_bit_values():
    seeds = list(range(1000)) + [2**32 + s for s in range(1000)] + [2**63 - 1]
    keys = [seed_key(s) for s in seeds]
    assert all(0 <= k < 2**32 for k in keys)
    assert len(set(keys)) == len(keys)


def test_uniforms_are_uniform_in_the_open_interval():
    u = step_uniforms(keys_of(*range(64)), 3, 4096).flatten()
    assert float(u.min()) > 0.0 and float(u.max()) < 1.0
    counts = torch.histc(u, bins=16, min=0.0, max=1.0)
    expected = u.numel() / 16
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 60  # 15 degrees of freedom: 60 is far beyond the 99.99th percentile (~44)
    assert abs(float(u.mean()) - 0.5) < 0.005 and abs(float(u.var()) - 1 / 12) < 0.002


def correlation(a, b) -> float:
    a, b = a.flatten().double() - a.double().mean(), b.flatten().double() - b.double().mean()
    return float((a * b).sum() / (a.norm() * b.norm()))


def test_uniforms_are_independent_across_steps_seeds_and_indices():
    keys = keys_of(*range(32))
    a, b = step_uniforms(keys, 0, 2048), step_uniforms(keys, 1, 2048)
    neighbours = step_uniforms(keys_of(*range(1, 33)), 0, 2048)  # seed s + 1: the next chunk's key
    limit = 4 / (a.numel() ** 0.5)  # four standard errors of a correlation between independent samples
    assert abs(correlation(a, b)) < limit
    assert abs(correlation(a, neighbours)) < limit
    assert abs(correlation(a[:, :-1], a[:, 1:])) < limit  # adjacent vocabulary indices


@pytest.mark.parametrize("across", ["steps", "seeds"])
def test_race_draws_from_the_probabilities(across):
    """Over the steps of one stream, or one step of many streams, each index wins as often as its probability
    says (as torch.multinomial's draw would)."""
    probs = torch.softmax(torch.tensor([[2.0, 1.0, 0.5, 0.0, -1.0, -30.0]]), dim=-1)
    V = probs.shape[-1]
    if across == "steps":
        key = keys_of(7)
        picks = torch.cat([race(probs, step_uniforms(key, step, V)) for step in range(4000)])
    else:
        picks = race(probs.expand(20000, -1), step_uniforms(keys_of(*range(20000)), 0, V))
    freq = torch.bincount(picks, minlength=V).double() / picks.numel()
    assert torch.allclose(freq, probs[0].double(), atol=4 * (0.25 / picks.numel()) ** 0.5)
    assert int((picks == 5).sum()) == 0  # probability ~1e-14


def test_race_never_picks_a_removed_token():
    probs = torch.zeros(3, 50)
    probs[0, 7] = 1.0
    probs[1, [3, 40]] = 0.5
    probs[2] = 1 / 50
    for step in range(200):
        tok = race(probs, step_uniforms(keys_of(1, 2, 3), step, 50))
        assert int(tok[0]) == 7 and int(tok[1]) in (3, 40)
