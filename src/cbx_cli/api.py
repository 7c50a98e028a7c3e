"""The library: load a narrator once, narrate text or a script into a `Narration`, export it. Nothing here prints.

    import cbx_cli as cbx

    narrator = cbx.Narrator(model="original", device="auto")          # loads on first use, once
    narration = narrator.narrate("Your order has shipped.", cbx.Options(preset="agent"))
    cbx.export(narration, "notice.wav")

The stages meet here and nowhere else: `prepare` (parse → validate → plan, no model), `Narrator.takes` (render:
cache → engine → guards), `assemble` (takes → the finished program, a plain-data `Narration`), `export`,
`write_manifest`, `write_subtitles` and `Delivery` (deliver). The CLI, a server and a cluster driver are thin clients
of these calls: they import this module (with `cbx_cli.config`, `cbx_cli.errors` and `cbx_cli.files`) and nothing
below it, so the names they use of the stages and of the engine seam are given here too.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from cbx_cli import __version__
from cbx_cli.config import paths
from cbx_cli.config.models import check_language
from cbx_cli.config.params import (
    AssemblySettings,
    NarrationOptions,
    RunOptions,
    SynthesisParams,
    VerifySettings,
    check_options,
)
from cbx_cli.config.presets import Presets
from cbx_cli.deliver.export import format_for, pcm16
from cbx_cli.deliver.ffmpeg import check_bitrate
from cbx_cli.deliver.manifest import manifest, write_manifest
from cbx_cli.deliver.output import Delivery, write_audio
from cbx_cli.deliver.safety import Named, check_clashes
from cbx_cli.deliver.stream import STREAMED, StreamEncoder, encode_stream
from cbx_cli.deliver.subtitles import write_subtitles
from cbx_cli.engine import make_engine
from cbx_cli.engine.base import (
    Engine,
    EngineFactory,
    EngineInfo,
    EngineSpec,
    Piece,
    PieceSizes,
    Synthesis,
    TakeRequest,
    Voice,
    VoicePrompt,
)
from cbx_cli.engine.weights import resolve_device
from cbx_cli.errors import RenderError
from cbx_cli.narration import AudioPiece, Narration
from cbx_cli.parse.script import Script
from cbx_cli.parse.sources import MARKDOWN_SUFFIXES, TEXT_SUFFIXES
from cbx_cli.plan.chunks import Chunk, Plan, estimate_seconds
from cbx_cli.plan.retakes import Retakes, chunk_numbers
from cbx_cli.render.cache import CachedTake, TakeCache
from cbx_cli.render.takes import Progress, ProgressFn, RenderInterrupted, RenderStats, Take
from cbx_cli.voices.audio import check_audio, check_voice
from cbx_cli.voices.fetch import fetch_voice
from cbx_cli.voices.library import NO_VOICES, check_new, get_voice, list_voices, remove_voice
from cbx_cli.voices.reference import library_voice

__all__ = [
    # the library
    "DEFAULT_BATCH", "DEFAULT_CACHE", "DEFAULT_FIRST_PIECE", "AudioPiece", "Job", "Narration", "Narrator", "Options",
    "add_voice", "assemble", "export",
    "finish_take", "load_say", "load_script", "manifest", "plan_script", "prepare", "retake", "run_inputs",
    "script_from_text", "take_keys", "versions", "write_manifest", "write_subtitles",
    # the stages' and the engine seam's names the clients use
    "MARKDOWN_SUFFIXES", "NO_VOICES", "TEXT_SUFFIXES", "CachedTake", "Chunk", "Delivery", "Engine", "EngineFactory",
    "EngineInfo", "EngineSpec", "Named", "Piece", "PieceSizes",
    "Progress", "ProgressFn", "RenderInterrupted", "RenderStats", "Retakes",
    "Synthesis", "Take", "TakeCache", "TakeRequest", "Voice", "VoicePrompt", "check_audio", "check_bitrate",
    "check_clashes", "check_new", "chunk_numbers", "estimate_seconds", "fetch_voice", "format_for", "get_voice",
    "list_voices", "make_engine", "remove_voice", "resolve_device",
    "STREAMED", "StreamEncoder", "check_voice", "encode_stream", "library_voice", "pcm16",
]

DEFAULT_CACHE: Any = "default"
"""`Narrator(cache_dir=DEFAULT_CACHE)`: the user's cache folder (e.g. ~/.cache/cbx/takes)."""
DEFAULT_BATCH = 8
"""Chunks per streamed part (`iter_takes`, a server's shared engine) and per speech-recognition batch, when
`batch_size` is None (the batched engine then picks its own rows: 8 on a CPU, by memory on CUDA)."""

DEFAULT_FIRST_PIECE = 10
"""Speech tokens (25 a second) in a streamed take's first piece when `Narrator.stream` is not told."""
PIECE_TOKENS = 25
"""Speech tokens in each later piece of a streamed take: a second of audio."""

Options = NarrationOptions


@dataclass
class Job:
    """A narration made ready: the script planned into chunks, its settings resolved, its voices checked."""

    script: Script
    plan: Plan
    options: NarrationOptions
    synthesis: SynthesisParams
    assembly: AssemblySettings
    model: str
    voices: dict[str | None, VoicePrompt | None]
    """Each voice the chunks name (None: the run's --voice), resolved to a checked reference or None (built-in)."""
    source_name: str | None = None
    verify: VerifySettings = field(default_factory=VerifySettings)
    """Whether and how takes are judged by what they say."""
    retakes: Retakes | None = None
    """The script's retake picks (`cbx retake`), applied to the plan's chunks."""
    inputs: list[Named] = field(default_factory=list)
    """Every file the run reads (`run_inputs`): no output may be one of them."""

    @property
    def chunks(self) -> list[Chunk]:
        return self.plan.chunks

    def voice(self, name: str | None) -> VoicePrompt | None:
        """The checked recording a chunk's voice names (None: the run's --voice); None for the built-in voice."""
        return self.voices[name] if name is not None else self.voices[None]


def retake(job: Job, numbers: Sequence[int], seed: int | None = None) -> Job:
    """The job with chunks ``numbers`` (from 1, as `cbx plan` shows them) given a new seed: ``seed``, or each one's
    next derived retake seed. The picks go into ``job.retakes`` (beside the script when it was read from a file, else
kept in memory only); save them once the output is written."""
    retakes = job.retakes if job.retakes is not None else \
        Retakes.beside(job.script.path) if job.script.path is not None else Retakes(None)
    chunks = retakes.pick(job.chunks, numbers, seed)
    return replace(job, plan=replace(job.plan, chunks=chunks), retakes=retakes)


def load_say(text: str, stdin=None) -> Script:
    """`cbx say`'s text: the text itself, or ``-`` to read it from stdin (plain text; blank lines separate
    paragraphs)."""
    from cbx_cli.parse.sources import load_say as parse

    return parse(text, stdin)


def load_script(source: str, stdin=None) -> tuple[Script, str]:
    """A script file (.md, .txt) or ``-`` for Markdown on stdin; returns the script and its name."""
    from cbx_cli.parse.sources import load_book

    return load_book(source, stdin)


def script_from_text(text: str, markdown: bool = False) -> Script:
    """A script from text: plain (blank lines separate paragraphs) or Markdown."""
    from cbx_cli.parse.sources import script_from_text as parse

    return parse(text, markdown=markdown)


def complete_sentences(text: str, language: str | None = None) -> tuple[str, str]:
    """For text that arrives in pieces (an LLM's tokens): the sentences of ``text`` known to be complete, because
    another one has begun after them, and the unfinished rest to keep for the next piece ("" and ``text`` while
    one sentence is still being written)."""
    from cbx_cli.plan.sentences import split_sentences

    sentences = split_sentences(" ".join(text.split()), language)
    if len(sentences) < 2:
        return "", text
    rest = sentences[-1] + (" " if text[-1:].isspace() else "")
    return " ".join(sentences[:-1]), rest


def prepare(
    source: Script | str,
    options: NarrationOptions | None = None,
    *,
    model: str = "original",
    source_name: str | None = None,
    delivery: Delivery | None = None,
    model_dir: Path | None = None,
    cache_dir: Path | None = None,
    voice: VoicePrompt | None = None,
    library_only: bool = False,
    retakes: Retakes | None = None,
    presets: Presets | None = None,
) -> Job:
    """Everything that can fail on bad input, checked before any model loads: settings, preset, lexicon, directive
    voices, voices (files, URLs, library names: each resolved once), the outputs (``delivery``: never onto one of
    the run's inputs, ``model_dir``'s files and the voices' recordings included), the take cache (``cache_dir``);
    then the plan, with ``retakes``' picked seeds. ``source`` is a Script or plain text. The preset files are read
    once.

    ``voice``, an already checked recording, stands in for ``options.voice``. With ``library_only`` every voice
    named (``options.voice`` and the directives') must be a voice library name: no file is read and no URL fetched
    on a name's behalf (what a server allows its requests). ``presets``: the run's, when it prepares several jobs
    (`cbx batch`), so their files are read once."""
    from cbx_cli.voices.reference import library_voice, resolve_voice

    options = options or NarrationOptions()
    resolve = library_voice if library_only else resolve_voice
    script = script_from_text(source) if isinstance(source, str) else source
    presets = presets or Presets()
    the_plan, synthesis, assembly = plan_script(script, options, model, source_name, presets=presets)
    voices: dict[str | None, VoicePrompt | None] = {None: voice if voice is not None else resolve(options.voice, model)}
    for chunk in the_plan.chunks:
        if chunk.voice not in voices:
            voices[chunk.voice] = resolve(chunk.voice, chunk.model)
    inputs = run_inputs(script, voices, options.lexicon, delivery.cover if delivery else None, model_dir)
    _check_run_files(delivery, inputs, the_plan, cache_dir)
    if retakes is not None:
        if delivery is not None and retakes.path is not None:
            check_clashes(delivery.outputs(), [Named("the retake file", retakes.path)])
        the_plan.chunks = retakes.apply(the_plan.chunks)
    verify = presets.verify(options.preset, options.verification())
    return Job(script, the_plan, options, synthesis, assembly, model, voices, source_name, verify=verify,
               retakes=retakes, inputs=inputs)


def plan_script(
    script: Script,
    options: NarrationOptions,
    model: str = "original",
    source_name: str | None = None,
    hints: bool = False,
    *,
    presets: Presets | None = None,
) -> tuple[Plan, SynthesisParams, AssemblySettings]:
    """The script's chunks with their settings, seeds and budgets; reads preset and lexicon files, no audio.
    With ``hints``, the plan's warnings also list words that may need a lexicon respelling. Each preset is resolved
    once, however many paragraphs name it (``presets``: the run's, when it reads them again later)."""
    from cbx_cli.parse.directives import check_voices
    from cbx_cli.plan.chunks import check_silence, plan

    presets = presets or Presets()
    language = check_language(model, options.language)
    flags = options.synthesis()
    synthesis, assembly = presets.resolve(options.preset, flags, options.assembly())
    resolved: dict[str | None, SynthesisParams] = {options.preset: synthesis}
    lexicon = _lexicon(options.lexicon)

    def block_params(over) -> SynthesisParams:
        name = over.preset or options.preset
        if name not in resolved:
            resolved[name] = presets.resolve(name, flags)[0]
        picked = {k: getattr(over, k) for k in ("exaggeration", "seed") if getattr(over, k) is not None}
        return resolved[name].model_copy(update=picked)

    check_voices(script, {v.name for v in list_voices()}, source_name)
    the_plan = plan(script, synthesis, assembly, model, language, lexicon, block_params, options.date_order)
    check_silence(the_plan)
    if hints:
        from cbx_cli.plan.hints import unknown_words

        unknown = unknown_words(script.speakable_text(), lexicon)
        if unknown:
            shown = ", ".join(unknown[:12]) + (", ..." if len(unknown) > 12 else "")
            the_plan.warnings.append(f"{len(unknown)} word(s) may need a --lexicon respelling: {shown}")
    return the_plan, synthesis, assembly


def run_inputs(script: Script, voices: Mapping[str | None, VoicePrompt | None], lexicon: Path | None,
               cover: Path | None, model_dir: Path | None) -> list[Named]:
    """Every file a narration of ``script`` reads: the script, the recordings of its resolved ``voices`` (None: the
    run's --voice; the others by the name a directive gives), the lexicon, the cover, the user's presets and
    config, the checkpoint's files."""
    from cbx_cli.deliver.safety import model_dir_files, user_files
    from cbx_cli.parse.script import where

    reads = [Named("the script", script.path)] if script.path is not None else []
    name = script.path.name if script.path is not None else None
    named = [("--voice", voices.get(None))] + [
        (f"the voice directive at {where(name, d.line).rstrip(': ')}", voices.get(d.voice))
        for d in script.directives if d.voice]
    reads += [Named(label, prompt.path) for label, prompt in named if prompt is not None]
    reads += [Named(flag, Path(p)) for flag, p in (("--lexicon", lexicon), ("--cover", cover)) if p is not None]
    return [*reads, *user_files(), *model_dir_files(model_dir)]


def _check_run_files(delivery: Delivery | None, inputs: list[Named], the_plan: Plan, cache_dir: Path | None) -> None:
    """The outputs against every input, and the take cache's folder: usable, and no output's place."""
    from cbx_cli.deliver.output import spoken_chapter_titles
    from cbx_cli.render.cache import check_cache

    if delivery is not None:
        titles = spoken_chapter_titles(the_plan.chunks, the_plan.chapter_titles)
        delivery.check_run(inputs, titles, cache_dir)
    if cache_dir is not None:
        check_cache(cache_dir)


def _lexicon(path: Path | None):
    if path is None:
        return None
    from cbx_cli.plan.lexicon import Lexicon

    return Lexicon.load(path)


class Narrator:
    """Chatterbox models loaded once (one per model a script asks for), narrating any number of jobs.

    ``model``, ``model_dir``, ``revision`` and ``device`` pick the weights (``model_dir`` None: the Hugging Face
    cache, or $CBX_MODEL_DIR); ``batched`` False synthesizes one chunk at a time exactly as stock Chatterbox does;
    ``batch_size`` sets how many chunks the batched engine decodes at once (None: its own choice);
    ``cache_dir`` None renders everything afresh, without the take cache; ``engine_factory`` makes each engine
    (default `make_engine`; it is given the voice library as the place to keep voice conditioning).
    """

    def __init__(
        self,
        model: str = "original",
        *,
        model_dir: Path | None = None,
        revision: str | None = None,
        device: str = "auto",
        batched: bool = True,
        batch_size: int | None = None,
        cache_dir: Path | None = DEFAULT_CACHE,
        engine_factory: EngineFactory | None = None,
    ):
        check_options(RunOptions, batch_size=batch_size)
        self.spec = EngineSpec.from_options(model, model_dir, device, None, batched=batched, revision=revision,
                                            max_batch=batch_size)
        self.batch_size = batch_size or DEFAULT_BATCH
        self.cache_dir = paths.takes_dir() if cache_dir is DEFAULT_CACHE else cache_dir
        self._factory = engine_factory or make_engine
        self._engines: dict[str, Engine] = {}
        self._transcribers: dict[str, Any] = {}
        self._loading = threading.Lock()  # a server's threads share one narrator: each model loads once
        self.on_loaded: Callable[[Engine], None] | None = None
        """Called once per engine right after it loads (the CLI prints the device warning there)."""

    @property
    def model(self) -> str:
        return self.spec.model

    def engine(self, model: str | None = None) -> Engine:
        """The loaded engine for ``model`` (default: the narrator's), loading it on first use."""
        model = model or self.spec.model
        with self._loading:
            if model not in self._engines:
                from cbx_cli.voices.library import LibraryConditioning

                engine = self._factory(replace(self.spec, model=model), LibraryConditioning())
                engine.load()
                self._engines[model] = engine
                if self.on_loaded:
                    self.on_loaded(engine)
            return self._engines[model]

    def _main_engine(self, job: Job) -> Engine:
        """The engine whose rate and identity the program carries: the job's model's, else the first loaded (a
        script whose directives pick other models for every paragraph never loads the job's own)."""
        return self._engines.get(job.model) or next(iter(self._engines.values()), None) or self.engine(job.model)

    def load(self) -> Engine:
        """Load the narrator's model now (otherwise it loads on first use)."""
        return self.engine()

    def prepare(self, source: Script | str, options: NarrationOptions | None = None,
                source_name: str | None = None, delivery: Delivery | None = None,
                retakes: Retakes | None = None) -> Job:
        """`prepare` for this narrator's model."""
        return prepare(source, options, model=self.spec.model, source_name=source_name, delivery=delivery,
                       model_dir=self.spec.model_dir, cache_dir=self.cache_dir, retakes=retakes)

    def narrate(self, source: Script | str | Job, options: NarrationOptions | None = None,
                on_progress: ProgressFn | None = None) -> Narration:
        """Text, a Script or a prepared Job → the finished, loudness-normalized Narration."""
        started = time.monotonic()
        job = source if isinstance(source, Job) else self.prepare(source, options)
        stats = RenderStats()
        takes = self.takes(job, on_progress, stats)
        narration = assemble(job, takes, self._main_engine(job), stats)
        if self.cache_dir is not None:
            narration.info["cache"] = str(self.cache_dir)  # where `cbx review` finds the takes
        narration.wall = time.monotonic() - started
        return narration

    def takes(self, job: Job, on_progress: ProgressFn | None = None, stats: RenderStats | None = None) -> list[Take]:
        """Every chunk's take, in chunk order: from the cache, or rendered (with guards and seeded retries)."""
        from cbx_cli.render.takes import render

        cache = TakeCache(self.cache_dir) if self.cache_dir is not None else None
        stats = stats if stats is not None else RenderStats()
        verifier = self.verifier(job) if job.verify.enabled else None
        groups: dict[str, list[Chunk]] = {}
        for chunk in job.chunks:
            groups.setdefault(chunk.model, []).append(chunk)
        rendered: list[Take] = []
        for model, group in groups.items():  # every voice and chapter of a model in one render: one scheduler
            engine = self.engine(model)
            conditioning = {voice: engine.voice(job.voice(voice)) for voice in dict.fromkeys(c.voice for c in group)}
            requests = [TakeRequest(chunk, conditioning[chunk.voice]) for chunk in group]
            progress = _offset(on_progress, rendered, len(job.chunks)) if on_progress else None
            rendered += render(requests, engine, progress, cache, job.options.retries, stats,
                               verifier, job.verify.candidates)
        takes = sorted(rendered, key=lambda t: t.chunk.index)
        flagged = [t for t in takes if t.warnings]
        if job.options.strict and flagged:
            raise RenderError(
                f"{len(flagged)} chunk(s) still bad after {job.options.retries} retries (--strict): "
                + "; ".join(_take_warnings(flagged))[:400]
            )
        return takes

    def render(self, chunks: Sequence[Chunk], prompt: VoicePrompt | None, model: str | None = None, retries: int = 0,
               cache=None) -> list[Take]:
        """``chunks``, in one voice (``prompt``) and one model, rendered with guards and ``retries`` seeded retries,
        each take kept in ``cache`` (anything with the take cache's ``get`` and ``put``) as it is made; no
        verification. What a `cbx batch` worker does with a batch."""
        from cbx_cli.render.takes import render

        engine = self.engine(model)
        voice = engine.voice(prompt)
        return render([TakeRequest(chunk, voice) for chunk in chunks], engine, None, cache, retries)

    def verifier(self, job: Job):
        """The job's `Verifier`: its speech models found now (before any Chatterbox model loads, so a missing one
        fails at once), on the device synthesis runs on, loaded on first use and kept for later jobs."""
        from cbx_cli.verify import asr
        from cbx_cli.verify.judge import Verifier

        check, recheck = asr.default_models([c.language for c in job.chunks])
        check = job.options.verify_model or check
        recheck = job.options.recheck_model or recheck
        device = resolve_device(self.spec.device)[0]
        for name in (check, recheck):
            if name.lower() != "none" and name not in self._transcribers:
                self._transcribers[name] = asr.make_transcriber(name, device, self.batch_size)
        second = None if recheck.lower() == "none" or recheck == check else self._transcribers[recheck]
        return Verifier(self._transcribers[check], second, job.verify.tolerance)

    def stream(self, source: Script | str | Job, options: NarrationOptions | None = None, *,
               first_piece: int | None = None, stats: RenderStats | None = None) -> Iterator[AudioPiece]:
        """The narration as it is made: finished audio pieces in order, each take in pieces of speech tokens
        (``first_piece`` in its first, default `DEFAULT_FIRST_PIECE`, then `PIECE_TOKENS`), while T3 is still
        drawing the rest. A streamed take is one take, cached as any take (under the streamed engine's identity), so a
        repeated stream is the same audio; the guards judge it when it ends (a bad take is reported in its last
        piece's ``take.warnings``, not made again, and verification does not run). Loudness is a fixed gain per
        voice with the peak limiter (`assemble.stream`), not the whole program's measure, so the samples differ
        from `narrate`'s."""
        from cbx_cli.assemble.stream import StreamFinisher, fixed_gain_db
        from cbx_cli.engine.base import PieceSizes
        from cbx_cli.render.takes import stream_takes

        check_options(RunOptions, first_piece=first_piece)
        job = source if isinstance(source, Job) else self.prepare(source, options)
        sizes = PieceSizes(first_piece or DEFAULT_FIRST_PIECE, PIECE_TOKENS)
        cache = TakeCache(self.cache_dir) if self.cache_dir is not None else None
        stats = stats if stats is not None else RenderStats()
        finisher: StreamFinisher | None = None
        gains: dict[tuple[str, str], float] = {}
        at = 0
        runs = [list(group) for _, group in itertools.groupby(job.chunks, key=lambda c: c.model)]
        for run in runs:  # consecutive chunks of one model: one call, so they share T3's batch
            engine = self.engine(run[0].model)
            if finisher is None:
                finisher = StreamFinisher(engine.sample_rate, job.assembly, speed=job.options.speed,
                                          volume=job.options.volume, sample_rate=job.options.sample_rate)
            voices = {name: engine.voice(job.voice(name)) for name in dict.fromkeys(c.voice for c in run)}
            for voice in voices.values():
                if (run[0].model, voice.id) not in gains:
                    gains[run[0].model, voice.id] = fixed_gain_db(engine.voice_sample(voice), engine.sample_rate,
                                                                  job.assembly.loudness)
            requests = [TakeRequest(c, voices[c.voice]) for c in run]
            for piece in stream_takes(requests, engine, sizes, cache, stats):
                chunk = run[piece.index]
                audio = finisher.piece(piece.audio, gains[chunk.model, requests[piece.index].voice.id])
                if piece.take is not None:
                    audio = np.concatenate([audio, finisher.pause(chunk.pause_after)])
                    if chunk is job.chunks[-1]:
                        audio = np.concatenate([audio, finisher.end()])
                yield AudioPiece(chunk.index, at / finisher.out_rate, audio, finisher.out_rate, piece.take)
                at += len(audio)

    def iter_takes(self, job: Job, on_progress: ProgressFn | None = None) -> Iterator[Take]:
        """Takes in chunk order as they are ready, a batch at a time (for streaming); the same takes `takes` gives."""
        for start in range(0, len(job.chunks), self.batch_size):
            part = replace(job, plan=replace(job.plan, chunks=job.chunks[start : start + self.batch_size]))
            yield from self.takes(part, on_progress)


def _offset(on_progress: ProgressFn, before: list[Take], total: int) -> ProgressFn:
    """Progress of one model's chunks, reported as progress of the whole run."""
    done_before, seconds_before = len(before), sum(t.seconds for t in before)

    def report(p: Progress) -> None:
        on_progress(Progress(done_before + p.done, total, seconds_before + p.audio_seconds, p.elapsed, p.cached))

    return report


def _take_warnings(takes: list[Take]) -> list[str]:
    return [f"chunk {t.chunk.index + 1} ({_excerpt(t.chunk.text)}): {w}" for t in takes for w in t.warnings]


def _excerpt(text: str, width: int = 40) -> str:
    return f'"{text}"' if len(text) <= width else f'"{text[: width - 1]}…"'


def assemble(job: Job, takes: list[Take], engine: Engine, stats: RenderStats | None = None) -> Narration:
    """Takes → the finished program: trims, pauses and crossfades, speed, loudness, volume, output rate; where each
    take and chapter sits in it, and each take's sentences as subtitles show them."""
    from cbx_cli.assemble.program import chapters_from_spans, finish
    from cbx_cli.plan.sentences import shown_sentences

    program, spans = finish(
        [t.audio for t in takes], [t.chunk.pause_after for t in takes], engine.sample_rate, job.assembly,
        speed=job.options.speed, volume=job.options.volume, sample_rate=job.options.sample_rate,
    )
    duration = len(program) / (job.options.sample_rate or engine.sample_rate)
    chapters = chapters_from_spans(spans, [t.chunk.chapter for t in takes], job.plan.chapter_titles, duration)
    info = {
        "model": job.model,
        "checkpoint": engine.info.checkpoint_id,
        "revision": engine.info.revision,
        "engine": engine.identity(),
        "versions": versions(),
    }
    if job.verify.enabled:
        info["verify"] = {"tolerance": job.verify.tolerance, "candidates": job.verify.candidates}
    warnings = list(job.plan.warnings) + _take_warnings(takes)
    return Narration(program, job.options.sample_rate or engine.sample_rate, spans, chapters, takes, job.plan, info,
                     stats or RenderStats(), warnings, captions=[shown_sentences(t.chunk.text) for t in takes])


def finish_take(job: Job, take: Take, sample_rate: int) -> np.ndarray:
    """One take finished on its own, as a stream hands it out: trimmed, at the job's speed, loudness-normalized over
    the take alone, its volume, at the job's output rate (``sample_rate``: the engine's), followed by its pause (so
    a one-take job gives exactly its narration's audio)."""
    from cbx_cli.assemble.program import finish

    audio, _ = finish([take.audio], [take.chunk.pause_after], sample_rate, job.assembly, speed=job.options.speed,
                      volume=job.options.volume, sample_rate=job.options.sample_rate)
    return audio


def export(narration: Narration, path: str | Path, fmt: str | None = None, *, bitrate: str | None = None,
           title: str | None = None, author: str | None = None, cover: Path | None = None, stdout=None) -> None:
    """Write the narration's audio to ``path`` atomically (``-``: to ``stdout``, WAV unless ``fmt`` says otherwise).
    The format follows the extension unless ``fmt`` is given; .m4b/.m4a get a chapter mark per chapter."""
    write_audio(narration, path, format_for(str(path), fmt), bitrate=bitrate, title=title, author=author,
                cover=cover, stdout=stdout)


def take_keys(job: Job, identities: Mapping[str, str],
              voice_ids: Mapping[str, Mapping[VoicePrompt | None, str]]) -> list[str]:
    """Each chunk's take-cache key, the key `Narrator.takes` looks its take up by, from each model's engine
    identity and the id its engine gives each voice (both by model name)."""
    from cbx_cli.render.cache import take_key

    return [take_key(identities[c.model], voice_ids[c.model][job.voice(c.voice)], c) for c in job.chunks]


def add_voice(name: str, source: str, narrator: Narrator, replace: bool = False):
    """Store ``source`` (a recording or its URL) in the voice library as ``name``, with its conditioning for the
    narrator's model. The name and the recording are checked before the model loads."""
    from cbx_cli.voices.library import add_voice as store
    from cbx_cli.voices.library import source_audio

    check_new(name, replace)
    source_audio(source, narrator.model)
    return store(name, source, narrator.model, replace=replace, engine=narrator.engine())


def versions() -> dict[str, str | None]:
    """Versions of cbx, chatterbox-tts and torch, for manifests and `cbx doctor`."""
    from importlib.metadata import PackageNotFoundError, version

    found: dict[str, str | None] = {"cbx": __version__}
    for dist in ("chatterbox-tts", "torch"):
        try:
            found[dist] = version(dist)
        except PackageNotFoundError:
            found[dist] = None
    return found
