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
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from cbx_cli import __version__
from cbx_cli.config import paths
from cbx_cli.config.catalog import ModelEntry
from cbx_cli.config.models import check_language
from cbx_cli.config.params import (
    AssemblySettings,
    NarrationOptions,
    ReadingOptions,
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
    EngineFacts,
    EngineInfo,
    EngineSpec,
    Piece,
    PieceSizes,
    Synthesis,
    TakeRequest,
    Voice,
    VoicePrompt,
)
from cbx_cli.engine.hub import PullProgress
from cbx_cli.engine.weights import resolve_device
from cbx_cli.errors import MissingModel, RenderError
from cbx_cli.narration import AudioPiece, Narration
from cbx_cli.parse.script import Cover, Script
from cbx_cli.parse.sources import BOOK_SUFFIXES, FORMATS, MARKDOWN_SUFFIXES, TEXT_SUFFIXES
from cbx_cli.plan.chunks import Chunk, Plan, estimate_seconds
from cbx_cli.plan.retakes import Retakes, chunk_numbers
from cbx_cli.render.cache import CachedTake, TakeCache
from cbx_cli.render.takes import Progress, ProgressFn, RenderInterrupted, RenderStats, Take
from cbx_cli.voices.audio import check_audio, check_header_length, check_voice, length_advice
from cbx_cli.voices.fetch import fetch_voice
from cbx_cli.voices.library import NO_VOICES, check_new, get_voice, list_voices, remove_voice, voice_folder
from cbx_cli.voices.reference import library_voice

__all__ = [
    # the library
    "DEFAULT_BATCH", "DEFAULT_CACHE", "DEFAULT_FIRST_PIECE", "AudioPiece", "Job", "Narration", "Narrator", "Options",
    "Stage", "add_voice", "assemble", "check_player", "export", "finish_take", "load_say", "load_script", "manifest",
    "missing_models", "plan_script", "play", "prepare", "retake", "run_inputs", "script_from_text", "take_keys",
    "versions", "warning_summary", "write_manifest", "write_subtitles",
    # the stages' and the engine seam's names the clients use
    "BOOK_SUFFIXES", "FORMATS", "MARKDOWN_SUFFIXES", "NO_VOICES", "TEXT_SUFFIXES", "CachedTake", "Chunk", "Cover",
    "Delivery", "Engine", "EngineFacts", "EngineFactory", "EngineInfo", "EngineSpec", "MissingModel", "Named", "Piece",
    "PieceSizes", "Progress", "ProgressFn", "PullProgress", "ReadingOptions", "RenderInterrupted", "RenderStats",
    "Retakes", "Script", "Synthesis", "Take", "TakeCache", "TakeRequest", "Voice", "VoicePrompt", "check_audio",
    "check_bitrate", "check_clashes", "check_new", "chunk_numbers", "estimate_seconds", "fetch_voice", "format_for",
    "get_voice", "length_advice", "list_voices", "make_engine", "remove_voice", "resolve_device", "voice_folder",
    "STREAMED", "StreamEncoder", "check_header_length", "check_voice", "encode_stream", "library_voice", "pcm16",
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
log = logging.getLogger(__name__)


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
kept in memory only); save them once the output is written. The retake file is an output too: it is checked now,
before any model loads, to be writable and none of the run's inputs."""
    from cbx_cli.files import check_output_path

    retakes = job.retakes if job.retakes is not None else \
        Retakes.beside(job.script.path) if job.script.path is not None else Retakes(None)
    if retakes.path is not None:
        check_output_path(str(retakes.path), "the retake file")
        check_clashes([Named("the retake file", retakes.path)], job.inputs)
    chunks = retakes.pick(job.chunks, numbers, seed)
    return replace(job, plan=replace(job.plan, chunks=chunks), retakes=retakes)


def load_say(text: str, stdin=None) -> Script:
    """`cbx say`'s text: the text itself, or ``-`` to read it from stdin (plain text; blank lines separate
    paragraphs)."""
    from cbx_cli.parse.sources import load_say as parse

    return parse(text, stdin)


def load_script(source: str, stdin=None, reading: ReadingOptions | None = None) -> tuple[Script, str]:
    """A script or book file (.md, .txt, .epub, .docx, .html, .pdf) or ``-`` for stdin; returns the script and its
    name. ``reading`` says how a book's notes and front and back matter are read."""
    from cbx_cli.parse.sources import load_book

    return load_book(source, stdin, reading)


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
    voice_roots: Sequence[Path] | None = None,
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
    on a name's behalf (what a server allows its requests), and ``voice_roots`` are the voice libraries looked in,
    in order (default: the user's). ``presets``: the run's, when it prepares several jobs (`cbx batch`), so their
    files are read once."""
    from functools import partial

    from cbx_cli.voices.reference import library_voice, resolve_voice

    options = options or NarrationOptions()
    resolve = partial(library_voice, roots=voice_roots) if library_only else resolve_voice
    script = script_from_text(source) if isinstance(source, str) else source
    presets = presets or Presets()
    the_plan, synthesis, assembly = plan_script(script, options, model, source_name, presets=presets,
                                                voice_roots=voice_roots if library_only else None)
    voices: dict[str | None, VoicePrompt | None] = {None: voice if voice is not None else resolve(options.voice, model)}
    for chunk in the_plan.chunks:
        if chunk.voice not in voices:
            voices[chunk.voice] = resolve(chunk.voice, chunk.model)
    the_plan.warnings += _voice_advice(voices)
    inputs = run_inputs(script, voices, options.lexicon, delivery.cover_file if delivery else None, model_dir)
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
    voice_roots: Sequence[Path] | None = None,
) -> tuple[Plan, SynthesisParams, AssemblySettings]:
    """The script's chunks with their settings, seeds and budgets; reads preset and lexicon files, no audio.
    With ``hints``, the plan's warnings also list words that may need a lexicon respelling. Each preset is resolved
    once, however many paragraphs name it (``presets``: the run's, when it reads them again later); directives'
    voice names are looked up in ``voice_roots`` (default: the user's voice library)."""
    from cbx_cli.parse.directives import check_voices
    from cbx_cli.plan.chunks import check_silence, plan, select_chapters
    from cbx_cli.voices.library import voice_names

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

    check_voices(script, {n for root in (voice_roots or [None]) for n in voice_names(root)}, source_name)
    the_plan = plan(script, synthesis, assembly, model, language, lexicon, block_params, options.date_order)
    if options.chapters:
        the_plan = select_chapters(the_plan, options.chapters, source_name)
    the_plan.warnings += _language_warning(script, model, language)
    check_silence(the_plan)
    if hints:
        from cbx_cli.plan.hints import unknown_words

        unknown = unknown_words(script.speakable_text(), lexicon)
        if unknown:
            shown = ", ".join(unknown[:12]) + (", ..." if len(unknown) > 12 else "")
            the_plan.warnings.append(f"{len(unknown)} word(s) may need a --lexicon respelling: {shown}")
    return the_plan, synthesis, assembly


def _voice_advice(voices: Mapping[str | None, VoicePrompt | None]) -> list[str]:
    """One warning per voice whose recording is outside the 5-15 s Chatterbox copies a voice from best."""
    from cbx_cli.voices.audio import length_advice, recording_seconds

    advice = []
    for prompt in dict.fromkeys(p for p in voices.values() if p is not None):
        label = f"Voice '{prompt.name}'" if prompt.name else f"Voice file '{prompt.path.name}'"
        said = length_advice(recording_seconds(prompt.path), label)
        if said:
            advice.append(said)
    return advice


def _language_warning(script: Script, model: str, language: str | None) -> list[str]:
    """A book in another language than the one the model will read it in."""
    written = script.metadata.get("language", "")
    primary = written.replace("_", "-").split("-")[0].lower()
    reading = (language or "en").split("-")[0].lower()
    if not primary or primary == reading or model == "multilingual" and language is None:
        return []
    fix = f"--model multilingual --language {primary}" if model != "multilingual" else f"--language {primary}"
    return [f"The book's language is {written}, and it will be read as {reading}. For {written}, narrate it with "
            f"{fix}."]


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
    (default `make_engine`; it is given the voice library as the place to keep voice conditioning: the libraries
    beneath ``voices_root``, default the user's).
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
        voices_root: Path | None = None,
    ):
        check_options(RunOptions, batch_size=batch_size)
        self.voices_root = voices_root
        self.spec = EngineSpec.from_options(model, model_dir, device, None, batched=batched, revision=revision,
                                            max_batch=batch_size)
        self.batch_size = batch_size or DEFAULT_BATCH
        self.cache_dir = paths.takes_dir() if cache_dir is DEFAULT_CACHE else cache_dir
        self._factory = engine_factory or make_engine
        self._identify = getattr(self._factory, "identify", None)
        self._engines: dict[str, Engine] = {}
        self._facts: dict[str, EngineFacts] = {}
        self._transcribers: dict[str, Any] = {}
        self._loading = threading.RLock()  # a server's threads share one narrator: each model loads once
        self.on_loaded: Callable[[Engine], None] | None = None
        """Called once per engine right after it loads (the CLI prints the device warning there)."""
        self.on_stage: Callable[[Stage], None] | None = None
        """Told what the narrator is doing when that takes a while: a model loading, voices being conditioned,
        takes being heard, the program being assembled (the CLI shows it)."""
        self.loads = 0
        """Engines loaded so far: none for a run whose takes all come from the take cache."""

    @property
    def model(self) -> str:
        return self.spec.model

    def engine(self, model: str | None = None) -> Engine:
        """The loaded engine for ``model`` (default: the narrator's), loading it on first use."""
        model = model or self.spec.model
        with self._loading:
            if model not in self._engines:
                from cbx_cli.voices.library import LibraryConditioning

                self._stage("loading", f"loading the {model} model")
                engine = self._factory(replace(self.spec, model=model), LibraryConditioning(self.voices_root))
                engine.load()
                self._engines[model] = engine
                self.loads += 1
                if self.on_loaded:
                    self.on_loaded(engine)
            return self._engines[model]

    def facts(self, model: str | None = None) -> EngineFacts:
        """What names ``model``'s takes (its identity, rate, each voice's id), without loading it when the engine
        factory can tell (`EngineFactory`); a missing checkpoint fails here. Otherwise the engine is loaded."""
        model = model or self.spec.model
        with self._loading:
            if model not in self._facts:
                if model in self._engines or self._identify is None:
                    engine = self.engine(model)
                    self._facts[model] = EngineFacts(engine.identity(), engine.sample_rate, engine.info,
                                                     lambda prompt: engine.voice(prompt).id)
                else:
                    from cbx_cli.voices.library import LibraryConditioning

                    self._facts[model] = self._identify(replace(self.spec, model=model), LibraryConditioning())
            return self._facts[model]

    def deferred(self, model: str | None = None) -> Engine:
        """``model``'s engine as the render sees it: named by its facts, loaded on the first take it must make."""
        return DeferredEngine(self, model or self.spec.model)

    def _main_engine(self, job: Job) -> Engine:
        """The engine whose rate and identity the program carries: the job's model's, else the first a chunk names (a
        script whose directives pick other models for every paragraph never needs the job's own)."""
        models = {c.model for c in job.chunks}
        return self.deferred(job.model if job.model in models or not models else job.chunks[0].model)

    def _stage(self, name: str, detail: str, total: int | None = None) -> None:
        if self.on_stage:
            self.on_stage(Stage(name, detail, total))

    def load(self) -> Engine:
        """Load the narrator's model now (otherwise it loads on the first take it must make)."""
        return self.engine()

    def check_models(self, job: Job, on_pull: Callable[[PullProgress], None] | None = None) -> None:
        """Every model the job can need, there before any work: each Chatterbox model its chunks name (from the
        Hugging Face cache, or --model-dir) and, when it verifies, the speech recognition models. Missing ones are
        fetched when the hub answers (``on_pull`` is told the bytes), else one `MissingModel` names them all."""
        from cbx_cli.engine import hub

        needed = self.models_needed(job)
        missing = [(entry, revision) for entry, revision in needed if hub.find(entry, revision) is None]
        if missing and hub.reachable([entry for entry, _ in missing]):
            for entry, revision in missing:
                self._stage("downloading", f"downloading {entry.name} ({entry.repo})")
                hub.pull(entry, revision, on_pull)
        problems: list[MissingModel] = []
        for model in dict.fromkeys([c.model for c in job.chunks] or [job.model]):
            try:
                self.facts(model)
            except MissingModel as exc:
                problems.append(exc)
        if job.verify.enabled:
            try:
                self.verifier(job)
            except MissingModel as exc:
                problems.append(exc)
        if problems:
            raise missing_models(problems)

    def models_needed(self, job: Job) -> list[tuple[ModelEntry, str | None]]:
        """The catalog's models (with the revision asked for) that the job reads from the Hugging Face cache: its
        Chatterbox models unless --model-dir gives them or the engines are not the library's own, and its speech
        recognition models when it verifies, unless given as folders."""
        from cbx_cli.config.catalog import CATALOG, speech_entry

        needed: list[tuple[ModelEntry, str | None]] = []
        if self._factory is make_engine and self.spec.model_dir is None:
            needed += [(CATALOG[m], self.spec.revision) for m in dict.fromkeys([c.model for c in job.chunks])]
        if job.verify.enabled:
            for name in self.speech_models(job):
                if name.lower() != "none" and not Path(name).expanduser().is_dir():
                    needed.append((speech_entry(name), None))
        return needed

    def speech_models(self, job: Job) -> tuple[str, str]:
        """The names (or folders) of the models that hear the job's takes: (every take, the failures again)."""
        from cbx_cli.verify import asr

        check, recheck = asr.default_models([c.language for c in job.chunks])
        return job.options.verify_model or check, job.options.recheck_model or recheck

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
        self._stage("assembling", "assembling the program")
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
        self.check_models(job)
        verifier = self.verifier(job) if job.verify.enabled else None
        groups: dict[str, list[Chunk]] = {}
        for chunk in job.chunks:
            groups.setdefault(chunk.model, []).append(chunk)
        rendered: list[Take] = []
        for model, group in groups.items():  # every voice and chapter of a model in one render: one scheduler
            engine = self.deferred(model)  # loaded on the first take the cache lacks
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

        check, recheck = self.speech_models(job)
        device = self._speech_device()
        missing: list[MissingModel] = []
        for name in (check, recheck):
            if name.lower() != "none" and name not in self._transcribers:
                try:
                    self._transcribers[name] = asr.make_transcriber(name, device, self.batch_size)
                except MissingModel as exc:
                    missing.append(exc)
        if missing:
            raise missing_models(missing)
        second = None if recheck.lower() == "none" or recheck == check else self._transcribers[recheck]
        return Verifier(self._transcribers[check], second, job.verify.tolerance)

    def _speech_device(self) -> str:
        """Where speech recognition runs: where synthesis does (CTranslate2 runs on CUDA or the CPU). Told without
        importing torch, so a run from the take cache starts at once."""
        loaded = next(iter(self._engines.values()), None)
        if loaded is not None and loaded.info.device:
            return loaded.info.device
        if self.spec.device != "auto":
            return self.spec.device
        from cbx_cli.verify.asr import cuda_available

        return "cuda" if cuda_available() else "cpu"

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
                audio = finisher.piece(piece.audio, gains[chunk.model, requests[piece.index].voice.id],
                                       last=piece.take is not None)
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


@dataclass(frozen=True)
class Stage:
    """What a narrator is doing, as it starts doing it (`Narrator.on_stage`)."""

    name: str
    """downloading, loading, conditioning, rendering, verifying, assembling."""
    detail: str
    """The same in words, e.g. "loading the original model"."""
    total: int | None = None
    """How many things the stage goes through, where that is known (takes to hear)."""


def missing_models(problems: Sequence[MissingModel]) -> MissingModel:
    """One error naming every missing model of ``problems``, with the one `cbx models pull` line for them all."""
    from cbx_cli.config.catalog import missing_message

    names = tuple(dict.fromkeys(n for p in problems for n in p.names))
    revision = next((p.revision for p in problems if p.revision), None)
    verify = any(p.verify for p in problems)
    return MissingModel(missing_message(names, revision, verify), names, revision, verify)


class DeferredEngine(Engine):
    """A narrator's engine as a render sees it: named by its facts (identity, rate, voice ids), so takes are looked
    up in the take cache without it; loaded, and the voices conditioned, when the first take must be made. Its
    `Voice` carries the prompt where a loaded engine keeps the conditioning."""

    def __init__(self, narrator: Narrator, model: str):
        self.narrator, self.model = narrator, model
        self.facts = narrator.facts(model)
        self.sample_rate = self.facts.sample_rate

    @property
    def loaded(self) -> Engine | None:
        return self.narrator._engines.get(self.model)

    @property
    def info(self) -> EngineInfo:
        return self.loaded.info if self.loaded is not None else self.facts.info

    @property
    def timings(self) -> dict[str, float]:
        return self.loaded.timings if self.loaded is not None else {}

    def load(self) -> None:
        self.narrator.engine(self.model)

    def identity(self) -> str:
        return self.facts.identity

    def voice(self, prompt: VoicePrompt | None) -> Voice:
        return Voice(self.facts.voice_id(prompt), prompt)

    def synthesize(self, requests: Sequence[TakeRequest]) -> list[Synthesis]:
        return [take for _, take in self.stream(requests)]

    def stream(self, requests: Sequence[TakeRequest]) -> Iterator[tuple[int, Synthesis]]:
        engine = self.narrator.engine(self.model)
        if engine.identity() != self.facts.identity:  # the checkpoint changed between the look and the load
            log.warning("the %s model's files changed while it loaded; its takes are cached under the identity it "
                        "had before (%s, now %s)", self.model, self.facts.identity, engine.identity())
        prompts = {r.voice.id: r.voice.conditionals for r in requests}
        if any(p is not None for p in prompts.values()):
            self.narrator._stage("conditioning", "conditioning the voices")
        voices = {vid: engine.voice(prompt) for vid, prompt in prompts.items()}
        self.narrator._stage("rendering", "rendering")
        yield from engine.stream([TakeRequest(r.chunk, voices[r.voice.id]) for r in requests])


def _offset(on_progress: ProgressFn, before: list[Take], total: int) -> ProgressFn:
    """Progress of one model's chunks, reported as progress of the whole run."""
    done_before, seconds_before = len(before), sum(t.seconds for t in before)

    made_before = sum(t.seconds for t in before if not t.from_cache)

    def report(p: Progress) -> None:
        on_progress(Progress(done_before + p.done, total, seconds_before + p.audio_seconds, p.elapsed, p.cached,
                             made_before + p.made_seconds, p.stage))

    return report


TAKE_PROBLEMS = (
    ("ran to its token budget", "ran to its token budget without stopping", "ran to their token budget without "
     "stopping"),
    ("is mostly silence", "is mostly silence", "are mostly silence"),
    ("is too long for its text", "is too long for its text", "are too long for their text"),
    ("is too short for its text", "is too short for its text", "are too short for their text"),
    ("says", "does not say its text (as heard)", "do not say their text (as heard)"),
)
"""Each kind of take warning: how its detail starts, and its summary for one take and for several."""


def warning_summary(narration: Narration) -> list[str]:
    """The run's warnings as a person reads them: the plan's, then one line per kind of problem that takes made in
    this run still have after their retries ("3 takes ran to their token budget without stopping: chunks 4, 9, 12"),
    and one line for flagged takes that came from the take cache (told when they were made). Each take's details
    are in ``narration.warnings`` and the manifest."""
    lines = list(narration.plan.warnings)
    new = [t for t in narration.takes if t.warnings and not t.from_cache]
    for start, one, many in TAKE_PROBLEMS:
        numbers = [t.chunk.index + 1 for t in new if any(w.startswith(f"take {start}") for w in t.warnings)]
        if numbers:
            lines.append(f"{len(numbers)} take{'s' if len(numbers) > 1 else ''} {many if len(numbers) > 1 else one}"
                         f": {_chunk_list(numbers)}")
    known = [t.chunk.index + 1 for t in narration.takes if t.warnings and t.from_cache]
    if known:
        lines.append(f"{len(known)} flagged take{'s' if len(known) > 1 else ''} from an earlier run, still used: "
                     f"{_chunk_list(known)} (cbx review to hear them, cbx retake --chunk N to redo one)")
    return lines


def _chunk_list(numbers: list[int]) -> str:
    return ("chunk " if len(numbers) == 1 else "chunks ") + ", ".join(map(str, numbers))


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
           title: str | None = None, author: str | None = None, cover: Path | Cover | None = None, stdout=None,
           language: str | None = None) -> None:
    """Write the narration's audio to ``path`` atomically (``-``: to ``stdout``, WAV unless ``fmt`` says otherwise).
    The format follows the extension unless ``fmt`` is given; .m4b/.m4a get a chapter mark per chapter.
    ``cover`` is an image file or a book's own `Cover` (`Script.cover`); ``language`` tags the audio track."""
    write_audio(narration, path, format_for(str(path), fmt), bitrate=bitrate, title=title, author=author,
                cover=cover.data if isinstance(cover, Cover) else cover, stdout=stdout, language=language)


def play(narration: Narration) -> None:
    """Play the narration on the default audio output, to its end (the `play` extra)."""
    from cbx_cli.deliver.play import play as play_audio

    play_audio(narration.audio, narration.sample_rate)


def check_player() -> str:
    """The audio output `play` would use (its name), or an error saying what is missing: asked before a render."""
    from cbx_cli.deliver.play import player

    return player()[1]


def take_keys(job: Job, identities: Mapping[str, str],
              voice_ids: Mapping[str, Mapping[VoicePrompt | None, str]]) -> list[str]:
    """Each chunk's take-cache key, the key `Narrator.takes` looks its take up by, from each model's engine
    identity and the id its engine gives each voice (both by model name)."""
    from cbx_cli.render.cache import take_key

    return [take_key(identities[c.model], voice_ids[c.model][job.voice(c.voice)], c) for c in job.chunks]


def add_voice(name: str, source: str, narrator: Narrator, replace: bool = False, root: Path | None = None):
    """Store ``source`` (a recording or its URL) in the voice library ``root`` (default: the user's) as ``name``, with
    its conditioning for the narrator's model (whose ``voices_root`` must hold ``root``). The name and the recording
    are checked before the model loads; the model loads only when no voice of that library already has this
    recording's conditioning for it (adding the same recording again copies that)."""
    from cbx_cli.voices.library import add_voice as store
    from cbx_cli.voices.library import source_audio

    check_new(name, replace, root)
    source_audio(source, narrator.model)
    checkpoint = narrator.facts().info.checkpoint_id
    return store(name, source, narrator.model, replace=replace, checkpoint_id=checkpoint, load=narrator.engine,
                 root=root)


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
