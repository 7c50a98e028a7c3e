"""Script → chunks: sentence-sized texts, each with its own seed, token budget and pause after it."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from cbx_cli.config.params import AssemblySettings, SynthesisParams
from cbx_cli.parse.script import BlockOverrides, Script, strip_tags
from cbx_cli.plan.normalize import Lexicon, normalize
from cbx_cli.plan.sentences import chunk_text_report

MODEL_TOKEN_CAP = 1000
"""Chatterbox's own cap on speech tokens per generation."""
TOKENS_PER_CHAR = 3.0
"""Speech runs at 25 tokens/s; even slow reading (about 8 characters/s) stays under 3 tokens a character."""
TOKENS_BASE = 30


@dataclass(frozen=True)
class Chunk:
    """One unit of synthesis."""

    index: int
    text: str
    """The chunk's text as written in the script (markup removed): what the manifest shows."""
    spoken: str
    """What the engine reads."""
    chapter: int
    paragraph: int
    pause_after: float
    """Seconds of silence after this chunk's take."""
    seed: int
    max_tokens: int
    params: SynthesisParams
    model: str = "original"
    language: str | None = None
    voice: str | None = None
    """A directive's voice (library name, file or URL); None means the run's --voice."""


@dataclass
class Plan:
    chunks: list[Chunk]
    chapter_titles: list[str | None]
    warnings: list[str] = field(default_factory=list)
    split_between_words: int = 0


SPEAKING_RATE = 14.0
"""Characters per second of typical narration, for estimates before anything is rendered."""


def estimate_seconds(chunk: Chunk) -> float:
    """A rough duration for a chunk's take, before it is rendered."""
    return len(chunk.spoken) / SPEAKING_RATE


def token_budget(text: str, cap: int | None) -> int:
    """Speech tokens a chunk may use: proportional to its text, at most the model's cap or the user's."""
    budget = TOKENS_BASE + math.ceil(TOKENS_PER_CHAR * len(text))
    limit = MODEL_TOKEN_CAP if cap is None else min(cap, MODEL_TOKEN_CAP)
    return max(1, min(budget, limit))


def derive_seed(base_seed: int, spoken: str, params: SynthesisParams, model: str, attempt: int = 0) -> int:
    """A chunk's own seed, from the run's seed, its text and the settings that shape its audio."""
    settings = params.model_dump(exclude={"seed"})
    blob = json.dumps([base_seed, spoken, settings, model, attempt], sort_keys=True, ensure_ascii=False)
    return int.from_bytes(hashlib.sha256(blob.encode("utf-8")).digest()[:4], "big") & 0x7FFFFFFF


def plan(
    script: Script,
    params: SynthesisParams,
    assembly: AssemblySettings,
    model: str = "original",
    language: str | None = None,
    lexicon: Lexicon | None = None,
    block_params: Callable[[BlockOverrides], SynthesisParams] | None = None,
) -> Plan:
    """Split every paragraph into chunks, spell out what the model should read, attach seeds, budgets, pauses.

    A paragraph's directive (voice, preset, exaggeration, seed, model) applies to its chunks; ``block_params``
    resolves a directive's preset (defaults to applying only its exaggeration and seed to ``params``).
    """
    chunks: list[Chunk] = []
    warnings: list[str] = []
    dropped_tags: list[str] = []
    split_words = 0
    titles = [c.title for c in script.chapters]
    n_chapters = len(script.chapters)
    for ci, chapter in enumerate(script.chapters):
        paras = list(chapter.paragraphs)
        for pi, para in enumerate(paras):
            text = para.text
            over = para.overrides
            para_model = (over.model if over and over.model else model)
            para_params = _block_params(params, over, block_params)
            keeps_tags = para_model == "turbo"
            if not keeps_tags:
                text, tags = strip_tags(text)
                dropped_tags += tags
            if not text.strip():
                continue
            pieces, n_split = chunk_text_report(text, assembly.max_chars)
            split_words += n_split
            for k, piece in enumerate(pieces):
                spoken = normalize(piece, language or "en", lexicon)
                last_in_para = k == len(pieces) - 1
                last_in_chapter = last_in_para and pi == len(paras) - 1
                if last_in_para and para.pause_after is not None:
                    pause = para.pause_after
                elif last_in_chapter and ci < n_chapters - 1:
                    pause = assembly.chapter_pause
                elif last_in_para:
                    pause = assembly.paragraph_pause
                else:
                    pause = assembly.sentence_pause
                chunks.append(
                    Chunk(
                        index=len(chunks),
                        text=piece,
                        spoken=spoken,
                        chapter=ci,
                        paragraph=pi,
                        pause_after=pause,
                        seed=derive_seed(para_params.seed, spoken, para_params, para_model),
                        max_tokens=token_budget(spoken, para_params.max_tokens),
                        params=para_params,
                        model=para_model,
                        language=language,
                        voice=over.voice if over else None,
                    )
                )
    if chunks:
        last = chunks[-1]
        chunks[-1] = replace(last, pause_after=0.0)
    if dropped_tags:
        shown = ", ".join(sorted(set(dropped_tags)))
        warnings.append(
            f"Dropped {len(dropped_tags)} tag(s) ({shown}): only --model turbo speaks tags such as [laugh]."
        )
    if split_words:
        warnings.append(f"{split_words} over-long sentence(s) had to be split between words.")
    return Plan(chunks, titles, warnings, split_words)


def _block_params(
    params: SynthesisParams,
    over: BlockOverrides | None,
    block_params: Callable[[BlockOverrides], SynthesisParams] | None,
) -> SynthesisParams:
    if over is None or (over.preset is None and over.exaggeration is None and over.seed is None):
        return params
    if block_params is not None:
        return block_params(over)
    values = {k: v for k, v in (("exaggeration", over.exaggeration), ("seed", over.seed)) if v is not None}
    return params.model_copy(update=values)


def retry_chunk(chunk: Chunk, attempt: int) -> Chunk:
    """The chunk again, with the seed its ``attempt``-th retry uses (attempt 0 is the chunk itself)."""
    seed = derive_seed(chunk.params.seed, chunk.spoken, chunk.params, chunk.model, attempt)
    return replace(chunk, seed=seed)
