"""Typed settings: what the model samples with, and how takes are assembled.

Values merge in this order, later winning: defaults < preset < user config < command-line flags.
Every layer but the defaults is a partial ``...Overrides`` whose ``None`` fields leave the value below.
"""

from __future__ import annotations

import typing
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cbx_cli.errors import ParamError

Exaggeration = Annotated[float, Field(ge=0.0, le=2.0, description="Emotion intensity, 0 to 2.")]
Temperature = Annotated[float, Field(ge=0.05, le=2.0, description="Sampling temperature, 0.05 to 2.")]
CfgWeight = Annotated[float, Field(ge=0.0, le=2.0, description="Classifier-free guidance weight, 0 to 2.")]
MinP = Annotated[float, Field(ge=0.0, le=1.0, description="Min-p sampling floor, 0 to 1.")]
TopP = Annotated[float, Field(ge=0.0, le=1.0, description="Nucleus (top-p) mass, 0 to 1.")]
TopK = Annotated[int, Field(ge=1, le=10000, description="Top-k cut-off (turbo), 1 to 10000.")]
RepetitionPenalty = Annotated[float, Field(ge=1.0, le=2.0, description="Repetition penalty, 1 to 2.")]
Seed = Annotated[int, Field(ge=0, le=2**63 - 1, description="Base seed of the run.")]
MaxTokens = Annotated[int, Field(ge=1, le=1000, description="Upper bound on speech tokens per chunk.")]

Pause = Annotated[float, Field(ge=0.0, le=10.0, description="Seconds of silence, 0 to 10.")]
MaxChars = Annotated[int, Field(ge=40, le=1000, description="Chunk size bound in characters, 40 to 1000.")]
Loudness = Annotated[float, Field(ge=-40.0, le=-5.0, description="Integrated loudness target, LUFS.")]
Peak = Annotated[float, Field(ge=-20.0, le=0.0, description="Sample peak ceiling, dBFS.")]
Level = Annotated[float, Field(ge=-60.0, le=0.0, description="A level in dBFS.")]
Crossfade = Annotated[float, Field(ge=0.0, le=200.0, description="Crossfade between takes, ms.")]


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
    field = ".".join(str(p) for p in err["loc"]) or "value"
    kind = err["type"]
    if kind == "extra_forbidden":
        return f"{where}: unknown field '{field}'. Remove it or check its spelling."
    bounds = _declared_bounds(str(err["loc"][-1])) if err["loc"] else ""
    got = err.get("input")
    if bounds:
        return f"{where}: {field} = {got!r} is out of range; allowed {bounds}."
    return f"{where}: {field} = {got!r}: {err['msg']}."


def _declared_bounds(name: str) -> str:
    """The allowed range of a field, as declared on the settings models ('0.0 to 2.0')."""
    for model in (SynthesisParams, AssemblySettings):
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
    info = model.model_fields[name]
    metas = list(info.metadata)
    for arg in typing.get_args(info.annotation):  # Optional[Annotated[...]] keeps bounds one level down
        metas += [m for a in typing.get_args(arg)[1:] for m in getattr(a, "metadata", [a])]
    lo = hi = None
    for meta in metas:
        lo = getattr(meta, "ge", lo)
        hi = getattr(meta, "le", hi)
    return lo, hi


def overrides_from_flags(kind: type[BaseModel], **flags: Any) -> BaseModel:
    """Build an overrides layer from command-line values, one clear line on a bad value."""
    try:
        return kind(**flags)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]) if err["loc"] else "value"
        bounds = _declared_bounds(name)
        flag = "--" + name.replace("_", "-")
        raise ParamError(f"{flag} {err.get('input')!r} is out of range; use a value from {bounds}.") from None
