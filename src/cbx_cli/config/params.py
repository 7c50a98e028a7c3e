"""Typed settings: what the model samples with, and how takes are assembled.

Values merge in this order, later winning: defaults < preset < user config < command-line flags.
Every layer but the defaults is a partial ``...Overrides`` whose ``None`` fields leave the value below.
"""

from __future__ import annotations

import re
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from cbx_cli.config.ranges import RANGES
from cbx_cli.errors import ParamError, cut, shown


def bounded(name: str) -> Any:
    """The pydantic Field for option ``name``, from its declaration in `cbx_cli.config.ranges`."""
    r = RANGES[name]
    extra = {k: v for k, v in (("allowed", r.allowed), ("message", r.message)) if v is not None}
    return Field(ge=r.low, le=r.high, description=r.help, json_schema_extra=extra or None)


Exaggeration = Annotated[float, bounded("exaggeration")]
Temperature = Annotated[float, bounded("temperature")]
CfgWeight = Annotated[float, bounded("cfg_weight")]
MinP = Annotated[float, bounded("min_p")]
TopP = Annotated[float, bounded("top_p")]
TopK = Annotated[int, bounded("top_k")]
RepetitionPenalty = Annotated[float, bounded("repetition_penalty")]
Seed = Annotated[int, bounded("seed")]
MaxTokens = Annotated[int, bounded("max_tokens")]

Pause = Annotated[float, bounded("pause")]
MaxChars = Annotated[int, bounded("max_chars")]
Loudness = Annotated[float, bounded("loudness")]
Peak = Annotated[float, bounded("peak")]
Level = Annotated[float, bounded("level")]
Crossfade = Annotated[float, bounded("crossfade_ms")]

Speed = Annotated[float, bounded("speed")]
Volume = Annotated[float, bounded("volume")]
SampleRate = Annotated[int, bounded("sample_rate")]
Retries = Annotated[int, bounded("retries")]
BatchSize = Annotated[int, bounded("batch_size")]
Tolerance = Annotated[float, bounded("verify_tolerance")]
Candidates = Annotated[int, bounded("candidates")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SynthesisParams(_Strict):
    """What the model samples with. Defaults are stock Chatterbox's."""

    exaggeration: Exaggeration = 0.5
    """Emotion intensity (original and multilingual models)."""
    temperature: Temperature = 0.8
    """Sampling temperature."""
    cfg_weight: CfgWeight = 0.5
    """Classifier-free guidance weight (original and multilingual models)."""
    min_p: MinP = 0.05
    """Tokens less likely than min_p times the top token are dropped."""
    top_p: TopP = 1.0
    """Nucleus sampling mass."""
    top_k: TopK = 1000
    """Top-k cut-off (turbo only)."""
    repetition_penalty: RepetitionPenalty = 1.2
    """Penalty on speech tokens already generated."""
    seed: Seed = 42
    """Base seed; each chunk derives its own from it."""
    max_tokens: MaxTokens | None = None
    """Cap on speech tokens per chunk; None means proportional to the chunk's text."""


class SynthesisOverrides(_Strict):
    """A partial SynthesisParams: a preset's, the user config's or the command line's values."""

    exaggeration: Exaggeration | None = None
    temperature: Temperature | None = None
    cfg_weight: CfgWeight | None = None
    min_p: MinP | None = None
    top_p: TopP | None = None
    top_k: TopK | None = None
    repetition_penalty: RepetitionPenalty | None = None
    seed: Seed | None = None
    max_tokens: MaxTokens | None = None


class AssemblySettings(_Strict):
    """How takes become one program: pauses, chunk size, loudness."""

    sentence_pause: Pause = 0.25
    """Silence after a chunk that ends inside a paragraph."""
    paragraph_pause: Pause = 0.6
    """Silence after the last chunk of a paragraph."""
    chapter_pause: Pause = 1.5
    """Silence after the last chunk of a chapter."""
    max_chars: MaxChars = 250
    """Sentences are packed into chunks of at most this many characters."""
    loudness: Loudness = -16.0
    """Integrated loudness target of the whole program, LUFS."""
    peak: Peak = -1.0
    """Sample peaks are held at or below this, dBFS."""
    crossfade_ms: Crossfade = 10.0
    """Length of the fades that join takes without clicks."""
    rms_range: tuple[Level, Level] | None = None
    """If set, the whole file's RMS (pauses included, as ACX measures it) is brought into this range, dB."""


class AssemblyOverrides(_Strict):
    """A partial AssemblySettings."""

    sentence_pause: Pause | None = None
    paragraph_pause: Pause | None = None
    chapter_pause: Pause | None = None
    max_chars: MaxChars | None = None
    loudness: Loudness | None = None
    peak: Peak | None = None
    crossfade_ms: Crossfade | None = None
    rms_range: tuple[Level, Level] | None = None


class VerifySettings(_Strict):
    """Whether takes are judged by what they say, and how strictly (`cbx_cli.verify`)."""

    enabled: bool = False
    """Transcribe every take and re-render those that do not say their text."""
    tolerance: Tolerance = 0.1
    """Word errors allowed per word of text."""
    candidates: Candidates = 1
    """Takes rendered per chunk before judging; the best passing one is kept."""


class VerifyOverrides(_Strict):
    """A partial VerifySettings: a preset's or the command line's values."""

    enabled: bool | None = None
    tolerance: Tolerance | None = None
    candidates: Candidates | None = None


CHAPTERS_MESSAGE = "{flag} takes chapter numbers and ranges as `cbx plan` lists them, such as 3-7,12."
MAX_CHAPTER = 100_000


def chapter_numbers(text: str) -> tuple[int, ...]:
    """``"3-7,12"`` → (3, 4, 5, 6, 7, 12): numbers and ranges from 1, each once, in order."""
    numbers: set[int] = set()
    for part in text.split(","):
        low, dash, high = part.strip().partition("-")
        if not low.strip().isdigit() or (dash and not high.strip().isdigit()):
            raise ValueError("not a list of chapter numbers")
        first, last = int(low), int(high) if dash else int(low)
        if not 1 <= first <= last <= MAX_CHAPTER:
            raise ValueError("not a list of chapter numbers")
        numbers.update(range(first, last + 1))
    return tuple(sorted(numbers))


class ReadingOptions(_Strict):
    """How a book (EPUB, Word, HTML, PDF) is read into a script."""

    notes: Literal["end", "skip"] = "end"
    """Footnotes and endnotes: read at the end of the chapter that first refers to them, or not read; never where
    their marks stand."""
    matter: Literal["skip", "read"] = "skip"
    """Front and back matter (cover and copyright pages, tables of contents, indexes, ...): skipped and named in the
    plan, or read."""


class NarrationOptions(SynthesisOverrides):
    """What a narration asks for besides the model: a preset, a voice, sampling overrides, and how the finished
    program is shaped. Sampling fields left None take the preset's (or stock Chatterbox's) value.

    The one place every option's range is checked: the CLI, the server and library callers all build one.
    """

    preset: str | None = None
    """A built-in preset name or one of the user's own."""
    voice: str | None = None
    """A recording, an http(s) URL or a voice library name; None for the checkpoint's built-in voice."""
    language: str | None = None
    """Language code for the multilingual model."""
    lexicon: Path | None = None
    """A YAML file of 'word or phrase: respelling'."""
    date_order: Literal["dmy", "mdy", "ymd"] | None = None
    """How a numeric date whose day and month could be swapped (03/11/1998) is read; None: as the language
    writes dates (day first; year first for Japanese, Korean and Chinese)."""
    max_chars: MaxChars | None = None
    """Chunk size bound in characters; None: the preset's."""
    speed: Speed = 1.0
    volume: Volume = 0.0
    sample_rate: SampleRate | None = None
    """None keeps the model's rate (24000 Hz)."""
    retries: Retries = 2
    strict: bool = False
    """Fail instead of keeping a take still bad after its retries."""
    verify: bool | None = None
    """Judge every take by what speech recognition hears in it; None: as the preset says (off by default)."""
    verify_tolerance: Tolerance | None = None
    candidates: Candidates | None = None
    verify_model: str | None = None
    """The faster-whisper model that hears every take: a name (base.en) or a folder; None: by language."""
    recheck_model: str | None = None
    """The larger model that hears again the takes the first one fails; "none" skips that stage."""
    chapters: tuple[int, ...] | None = Field(None, json_schema_extra={"message": CHAPTERS_MESSAGE})
    """Only these chapters, numbered from 1 as `cbx plan` lists them (``"3-7,12"`` is read as a list); None: all."""

    @field_validator("chapters", mode="before")
    @classmethod
    def _chapter_numbers(cls, value: Any) -> Any:
        return chapter_numbers(value) if isinstance(value, str) else value

    def verification(self) -> VerifyOverrides:
        """The verification overrides among these options."""
        return VerifyOverrides(enabled=self.verify, tolerance=self.verify_tolerance, candidates=self.candidates)

    def synthesis(self) -> SynthesisOverrides:
        """The sampling overrides among these options."""
        return SynthesisOverrides(**{k: getattr(self, k) for k in SynthesisOverrides.model_fields})

    def assembly(self) -> AssemblyOverrides:
        """The assembly overrides among these options."""
        return AssemblyOverrides(max_chars=self.max_chars)


class RunOptions(_Strict):
    """How a narrator runs, besides which model: options with a range, checked like every other option."""

    batch_size: BatchSize | None = None
    first_piece: Annotated[int, bounded("first_piece")] | None = None


class ServeOptions(_Strict):
    """How `cbx serve` listens and how much it takes on."""

    port: Annotated[int, bounded("port")] = 8000
    workers: Annotated[int, bounded("workers")] = 4
    max_concurrent: Annotated[int, bounded("max_concurrent")] = 10


class ClusterOptions(_Strict):
    """Where `cbx batch` renders: this process (no cluster) or Ray workers."""

    cluster: str | None = None
    """local, auto, ray://HOST:PORT (Ray Client) or HOST:PORT (the head's address)."""
    worker_cpus: Annotated[int, bounded("worker_cpus")] = 1
    max_workers: Annotated[int, bounded("max_workers")] | None = None

    @field_validator("cluster")
    @classmethod
    def _known(cls, value: str | None) -> str | None:
        if value is None or value in ("local", "auto") or re.fullmatch(r"(ray://)?[\w.-]+:\d+", value):
            return value
        raise ValueError("use local, auto or ray://HOST:PORT")


class BenchOptions(_Strict):
    """The work `cbx bench` measures."""

    chunks: Annotated[int, bounded("chunks")] = 8
    tokens: Annotated[int, bounded("tokens")] = 40
    repeats: Annotated[int, bounded("repeats")] = 1


def merge(base: BaseModel, *layers: BaseModel | None) -> Any:
    """Apply override layers onto ``base`` in order; fields left ``None`` keep the value below."""
    values = base.model_dump()
    for layer in layers:
        if layer is None:
            continue
        values.update({k: v for k, v in layer.model_dump().items() if v is not None})
    return type(base)(**values)


def describe_validation_error(exc: ValidationError, where: str) -> str:
    """One line naming the field, the bad value and the allowed range."""
    err = exc.errors()[0]
    field = cut(".".join(str(p) for p in err["loc"]) or "value", 60)
    kind = err["type"]
    if kind == "extra_forbidden":
        return f"{where}: unknown field '{field}'. Remove it or check its spelling."
    bounds = _declared_bounds(str(err["loc"][-1])) if err["loc"] else ""
    got = shown(err.get("input"))
    if bounds and kind.startswith(("greater_than", "less_than")):
        return f"{where}: {field} = {got} is out of range; allowed {bounds}."
    return f"{where}: {field} = {got}: {err['msg']}."


def _declared_bounds(name: str) -> str:
    """The allowed range of a field, as declared on the settings models ('0.0 to 2.0')."""
    for model in (SynthesisParams, AssemblySettings, NarrationOptions):
        if name in model.model_fields:
            lo, hi = field_range(model, name)
            break
    else:
        return ""
    if lo is not None and hi is not None:
        return f"{lo} to {hi}"
    if lo is not None:
        return f"at least {lo}"
    if hi is not None:
        return f"at most {hi}"
    return ""


def field_range(model: type[BaseModel], name: str) -> tuple[float | None, float | None]:
    """The (low, high) bounds declared for a field, for help texts and messages."""
    lo = hi = None
    for meta in _field_metadata(model, name):
        lo = getattr(meta, "ge", lo)
        hi = getattr(meta, "le", hi)
    return lo, hi


def _field_metadata(model: type[BaseModel], name: str) -> list:
    info = model.model_fields[name]
    metas = list(info.metadata)
    for arg in typing.get_args(info.annotation):  # Optional[Annotated[...]] keeps bounds one level down
        metas += [m for a in typing.get_args(arg)[1:] for m in getattr(a, "metadata", [a])]
    return metas


def _field_extra(model: type[BaseModel], name: str) -> dict:
    """A field's declared json_schema_extra (message texts), also from inside ``Optional[Annotated[...]]``."""
    info = model.model_fields[name]
    extra = info.json_schema_extra
    for arg in typing.get_args(info.annotation):
        for meta in typing.get_args(arg)[1:]:
            extra = extra or getattr(meta, "json_schema_extra", None)
    return extra if isinstance(extra, dict) else {}


def flag_name(field: str) -> str:
    """The command-line flag of an option field: max_tokens → --max-tokens."""
    return "--" + field.replace("_", "-")


def option_error(exc: ValidationError, model: type[BaseModel], label=flag_name) -> str:
    """One line for a bad option value: the option (``label(field)``, a flag by default), the value, its range."""
    err = exc.errors()[0]
    name = str(err["loc"][0]) if err["loc"] else "value"
    label_text = label(name)
    if err["type"] == "extra_forbidden":
        return f"Unknown option '{name}'. Remove it or check its spelling."
    extra = _field_extra(model, name) if name in model.model_fields else {}
    if "message" in extra:
        return extra["message"].format(flag=label_text)
    got = err.get("input")
    value = cut(got, 60) if isinstance(got, str) else shown(got)
    bounds = extra.get("allowed") or (f"a value from {b}" if (b := _declared_bounds(name)) else "")
    if not bounds or not err["type"].startswith(("greater_than", "less_than")):
        return f"{label_text} {value}: {err['msg']}."
    return f"{label_text} {value} is out of range; use {bounds}."


def check_options(model: type[BaseModel], label=flag_name, **values: Any) -> Any:
    """Build ``model`` from ``values``; a bad value is a ParamError of one line naming its option."""
    try:
        return model(**values)
    except ValidationError as exc:
        raise ParamError(option_error(exc, model, label)) from None
