"""Checks on a finished take: did it run to its token budget, is it mostly silence, is its length plausible?"""

from __future__ import annotations

import numpy as np

from cbx_cli.assemble.assemble import trim_silence
from cbx_cli.plan.chunks import Chunk

CHARS_PER_SECOND = {"default": (4.0, 30.0), "zh": (1.5, 12.0), "ja": (2.0, 16.0), "ko": (2.0, 16.0)}
"""Plausible speaking rates, in characters of text per second of speech."""
MIN_CHARS_FOR_RATE = 12
"""Very short texts (a word or two) vary too much in length to judge."""
SILENCE_FRACTION = 0.25
"""A take whose non-silent part is shorter than this fraction of it is 'mostly silence'."""
SILENT_PEAK = 1e-3


def check_take(chunk: Chunk, audio: np.ndarray, sample_rate: int, tokens: int | None) -> list[str]:
    """Problems with a take, as short phrases; empty when the take looks right."""
    problems = []
    if tokens is not None and tokens >= chunk.max_tokens:
        problems.append(f"ran to its token budget ({chunk.max_tokens} tokens) without stopping")
    total = len(audio) / sample_rate if sample_rate else 0.0
    peak = float(np.max(np.abs(audio))) if len(audio) else 0.0
    voiced = len(trim_silence(audio, sample_rate)) / sample_rate if peak > SILENT_PEAK else 0.0
    if total == 0 or voiced < SILENCE_FRACTION * total:
        problems.append("is mostly silence")
    elif len(chunk.spoken) >= MIN_CHARS_FOR_RATE:
        low, high = CHARS_PER_SECOND.get(chunk.language or "", CHARS_PER_SECOND["default"])
        rate = len(chunk.spoken) / voiced
        if rate < low:
            problems.append(f"is too long for its text ({voiced:.1f} s for {len(chunk.spoken)} characters)")
        elif rate > high:
            problems.append(f"is too short for its text ({voiced:.1f} s for {len(chunk.spoken)} characters)")
    return problems
