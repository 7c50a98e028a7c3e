"""Script → chunks: sentence-sized texts, each with its own seed, token budget and pause after it."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from cbx_cli.config.models import Model
from cbx_cli.config.params import AssemblySettings, SynthesisParams
from cbx_cli.errors import InputError
from cbx_cli.parse.script import BlockOverrides, Paragraph, Script, Skipped
from cbx_cli.parse.tags import strip_tags
from cbx_cli.plan.lexicon import Lexicon
from cbx_cli.plan.normalize import normalize_text, resolve_language
from cbx_cli.plan.sentences import chunk_text_report, spoken_length

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
    left_as_written: tuple[str, ...] = ()
    """Tokens with figures that the normalizer did not understand, read as written (`cbx plan` lists them)."""
    retake: int = 0
    """How many times `cbx retake` picked a new seed for this chunk (0: never; its seed is then the planned one)."""


@dataclass(frozen=True)
class ChapterInfo:
    """A chapter as `cbx plan` lists it: the number --chapters takes, its title, words and estimated length."""

    number: int
    title: str | None
    words: int
    seconds: float
    """Estimated seconds of audio, pauses included."""
    selected: bool = True
    """Whether --chapters keeps it (every chapter when --chapters is not given)."""
    written_pauses: float = 0.0
    """Seconds of silence the chapter writes itself (``[pause]`` tags, separators)."""


@dataclass
class Plan:
    chunks: list[Chunk]
    chapter_titles: list[str | None]
    warnings: list[str] = field(default_factory=list)
    split_between_words: int = 0
    written_pauses: float = 0.0
    """Seconds of silence the script writes itself (``[pause]`` tags, separators) in the chapters planned; the
    preset's pauses between sentences and paragraphs are not counted (`check_silence`)."""
    chapters: list[ChapterInfo] = field(default_factory=list)
    """Every chapter of the script, selected or not."""
    skipped: list[Skipped] = field(default_factory=list)
    """The parts of the book that are not read, each with its reason (`Script.skipped`)."""

    @property
    def left_as_written(self) -> list[str]:
        """Every token with figures read as written, once each, in order."""
        return list(dict.fromkeys(token for chunk in self.chunks for token in chunk.left_as_written))


SPEAKING_RATE = 14.0
"""Characters per second of typical narration, for estimates before anything is rendered."""


def estimate_seconds(chunk: Chunk) -> float:
    """A rough duration for a chunk's take, before it is rendered."""
    return spoken_length(chunk.spoken) / SPEAKING_RATE


def token_budget(text: str, cap: int | None) -> int:
    """Speech tokens a chunk may use: proportional to its text (a Chinese character counts as the letters it
    takes as long to say), at most the model's cap or the user's."""
    budget = TOKENS_BASE + math.ceil(TOKENS_PER_CHAR * spoken_length(text))
    limit = MODEL_TOKEN_CAP if cap is None else min(cap, MODEL_TOKEN_CAP)
    return max(1, min(budget, limit))


def derive_seed(base_seed: int, spoken: str, params: SynthesisParams, model: str, attempt: int = 0) -> int:
    """A chunk's own seed, from the run's seed, its text and the settings that shape its audio."""
    settings = params.model_dump(exclude={"seed"})
    blob = json.dumps([base_seed, spoken, settings, model, attempt], sort_keys=True, ensure_ascii=False)
    return int.from_bytes(hashlib.sha256(blob.encode("utf-8")).digest()[:4], "big") & 0x7FFFFFFF


@dataclass
class _Planning:
    """What `plan` carries from paragraph to paragraph."""

    chunks: list[Chunk] = field(default_factory=list)
    dropped_tags: list[str] = field(default_factory=list)
    split_words: int = 0


def plan(
    script: Script,
    params: SynthesisParams,
    assembly: AssemblySettings,
    model: str = Model.original.value,
    language: str | None = None,
    lexicon: Lexicon | None = None,
    block_params: Callable[[BlockOverrides], SynthesisParams] | None = None,
    date_order: str | None = None,
) -> Plan:
    """Split every paragraph into chunks, spell out what the model should read, attach seeds, budgets, pauses.

    A paragraph's directive (voice, preset, exaggeration, seed, model) applies to its chunks; ``block_params``
    resolves a directive's preset (defaults to applying only its exaggeration and seed to ``params``).
    ``language`` (the multilingual model's, None for English) picks the sentence rules and how numbers are
    read; ``date_order`` how a numeric date that could be read two ways is read.
    """
    state = _Planning()
    for ci, chapter in enumerate(script.chapters):
        for pi, para in enumerate(chapter.paragraphs):
            over = para.overrides
            para_model = over.model if over and over.model else model
            para_params = _block_params(params, over, block_params)
            text = para.text
            if para_model != Model.turbo.value:  # only turbo speaks tags such as [laugh]
                text, tags = strip_tags(text)
                state.dropped_tags += tags
            if not text.strip():
                continue
            pieces, n_split = chunk_text_report(text, assembly.max_chars, language)
            state.split_words += n_split
            ends_chapter = pi == len(chapter.paragraphs) - 1 and ci < len(script.chapters) - 1
            for k, piece in enumerate(pieces):
                spoken, left = normalize_text(piece, language or "en", lexicon, date_order)
                state.chunks.append(
                    Chunk(
                        index=len(state.chunks), text=piece, spoken=spoken, chapter=ci, paragraph=pi,
                        pause_after=_pause_after(para, assembly, k == len(pieces) - 1, ends_chapter),
                        seed=derive_seed(para_params.seed, spoken, para_params, para_model),
                        max_tokens=token_budget(spoken, para_params.max_tokens), params=para_params,
                        model=para_model, language=language, voice=over.voice if over else None,
                        left_as_written=left,
                    )
                )
    chunks = state.chunks
    if chunks:
        chunks[-1] = replace(chunks[-1], pause_after=0.0)
    infos = _chapter_infos(script, chunks)
    planned = Plan(chunks, [c.title for c in script.chapters], [], state.split_words,
                   written_pauses=sum(info.written_pauses for info in infos), chapters=infos,
                   skipped=list(script.skipped))
    planned.warnings += [*script.warnings, *_skipped_warning(script.skipped),
                         *_warnings(state.dropped_tags, state.split_words),
                         *_long_words(script, assembly.max_chars), *_left_warnings(planned, language)]
    return planned


def _chapter_infos(script: Script, chunks: list[Chunk]) -> list[ChapterInfo]:
    seconds = [0.0] * len(script.chapters)
    for chunk in chunks:
        seconds[chunk.chapter] += estimate_seconds(chunk) + chunk.pause_after
    return [ChapterInfo(n + 1, chapter.title, sum(len(p.text.split()) for p in chapter.paragraphs), seconds[n],
                        written_pauses=sum(p.pause_after or 0.0 for p in chapter.paragraphs))
            for n, chapter in enumerate(script.chapters)]


def _skipped_warning(skipped) -> list[str]:
    """One line on the parts of a book that are not read, by reason; `cbx plan` lists each."""
    if not skipped:
        return []
    reasons: dict[str, int] = {}
    for part in skipped:
        reasons[part.reason] = reasons.get(part.reason, 0) + 1
    words = sum(part.words for part in skipped)
    shown = ", ".join(f"{n} {reason}" for reason, n in reasons.items())
    return [f"Not read: {len(skipped)} part(s) of the book, {words} word(s) ({shown}); `cbx plan` lists each with "
            "its words."]


def select_chapters(the_plan: Plan, numbers: tuple[int, ...], name: str | None = None) -> Plan:
    """The plan of chapters ``numbers`` only (from 1, as `cbx plan` lists them), chunks numbered afresh. Seeds and
    cache keys do not depend on the selection, so a later run with more chapters renders only the new ones.
    ``name`` (the script's) names it in messages."""
    total = len(the_plan.chapters)
    wrong = [n for n in numbers if n > total]
    if wrong:
        raise InputError(f"--chapters {wrong[0]}: {name or 'the script'} has {total} chapter(s), numbered 1 to "
                         f"{total} as `cbx plan` lists them.")
    wanted = {n - 1 for n in numbers}
    chunks = [replace(c, index=i) for i, c in enumerate(c for c in the_plan.chunks if c.chapter in wanted)]
    if not chunks:
        raise InputError(f"--chapters {_ranges(numbers)} has nothing to read. `cbx plan` lists the chapters and "
                         "their words.")
    chunks[-1] = replace(chunks[-1], pause_after=0.0)
    infos = [replace(info, selected=info.number - 1 in wanted) for info in the_plan.chapters]
    written = sum(info.written_pauses for info in infos if info.selected)
    return replace(the_plan, chunks=chunks, chapters=infos, written_pauses=written)


def _ranges(numbers: tuple[int, ...]) -> str:
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def _pause_after(para: Paragraph, assembly: AssemblySettings, ends_paragraph: bool, ends_chapter: bool) -> float:
    """Seconds of silence after a chunk of ``para``: the script's own pause, else the preset's."""
    if not ends_paragraph:
        return assembly.sentence_pause
    if para.pause_after is not None:
        return para.pause_after
    return assembly.chapter_pause if ends_chapter else assembly.paragraph_pause


def _warnings(dropped_tags: list[str], split_words: int) -> list[str]:
    warnings = []
    if dropped_tags:
        shown = ", ".join(sorted(set(dropped_tags)))
        warnings.append(
            f"Dropped {len(dropped_tags)} tag(s) ({shown}): only --model turbo speaks tags such as [laugh]."
        )
    if split_words:
        warnings.append(f"{split_words} over-long sentence(s) had to be split between words.")
    return warnings


def _left_warnings(planned: Plan, language: str | None) -> list[str]:
    """One line listing what is read as written: figures no rule understood, or every figure of a language
    without number words."""
    left = planned.left_as_written
    if not left:
        return []
    shown = ", ".join(left[:12]) + (", ..." if len(left) > 12 else "")
    if language and resolve_language(language) is None:
        return [f"{len(left)} token(s) with figures are read as written: cbx has no number words for "
                f"--language {language}: {shown}"]
    return [f"{len(left)} token(s) with figures not understood, read as written: {shown}"]


def _long_words(script: Script, max_chars: int) -> list[str]:
    """A warning for words too long for one chunk (`cbx_cli.plan.sentences.split_long_words` cuts them)."""
    long = [w for p in script.paragraphs for w in p.text.split() if len(w) > max_chars]
    if not long:
        return []
    first = long[0] if len(long[0]) <= 40 else long[0][:39] + "…"
    return [f"{len(long)} word(s) longer than a chunk ({max_chars} characters) had to be cut into pieces, "
            f"such as '{first}'. Put spaces in them to choose where."]


MAX_SILENCE = 600.0
"""Seconds of pauses a script may ask for beyond its speech (see `check_silence`)."""


def check_silence(the_plan: Plan) -> None:
    """Fail when the pauses a script writes add up to more than `MAX_SILENCE` and more than its speech: 120
    ``[pause 30s]`` tags would make an hour of silence, gigabytes of samples held in memory, and no script means
    that. Paragraph breaks are not written pauses: a script of many short paragraphs is only a long script."""
    silence = the_plan.written_pauses
    speech = sum(estimate_seconds(c) for c in the_plan.chunks)
    if silence > max(MAX_SILENCE, speech):
        raise InputError(
            f"The script asks for {silence / 60:.1f} min of pauses and about {speech / 60:.1f} min of speech; pauses "
            f"may add up to {MAX_SILENCE / 60:g} min, or to as long as the speech. Use fewer or shorter [pause] tags "
            "or separators."
        )


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


def retake_seed(chunk: Chunk, retake: int) -> int:
    """The seed of the chunk's ``retake``-th `cbx retake` (from 1). Retakes count down from attempt -1, a sequence
    of their own: a retake never lands on a seed the guards' retries (attempts 1, 2, ...) already tried."""
    return derive_seed(chunk.params.seed, chunk.spoken, chunk.params, chunk.model, -retake)
