"""The JSON manifest: each chunk's text as written, its seed and where it sits in the output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cbx_cli.files import write_text
from cbx_cli.narration import Narration


def manifest(narration: Narration) -> dict[str, Any]:
    """The header (model, checkpoint, versions, rate, duration, chapters), then each take's text as written, the seed
    that made it and its span in the output (seconds); its take-cache key (``take``, where `cbx review` finds its
    audio) and, for a chunk picked by `cbx retake`, its retake number."""
    info = {**narration.info, "sample_rate": narration.sample_rate, "duration": round(narration.duration, 3),
            "chapters": [{"title": t, "start": round(a, 3), "end": round(b, 3)} for a, b, t in narration.chapters]}
    entries = []
    for take, (start, end) in zip(narration.takes, narration.spans, strict=True):
        entry = {
            "text": take.chunk.text,
            "seed": take.chunk.seed,
            "start": round(start, 3),
            "end": round(end, 3),
            "chapter": take.chunk.chapter,
        }
        if take.warnings:
            entry["warnings"] = take.warnings
        entry |= verification(take)
        if take.chunk.retake:
            entry["retake"] = take.chunk.retake
        if take.key is not None:
            entry["take"] = take.key
        entries.append(entry)
    return {**info, "chunks": entries}


def verification(take) -> dict[str, Any]:
    """A verified take's fields: what it says, its score, what was cut from its tail, and every take tried for its
    chunk (DESIGN.md lists them). A take that was not verified has only its attempts, and only if it was retried."""
    v = take.verdict
    attempts = {"attempts": [t.record(kept=t is take) for t in take.tried]} if len(take.tried) > 1 else {}
    if v is None:
        return attempts
    return {
        "transcript": v.heard.text,
        "score": round(v.alignment.score, 3),
        "errors": v.alignment.errors,
        "words": v.alignment.words,
        "verified": v.passed,
        "trimmed": round(take.trimmed, 3),
        "attempts": [t.record(kept=t is take) for t in take.tried],
    }


def write_manifest(narration: Narration, path: Path) -> None:
    """The manifest as JSON, written atomically."""
    write_text(path, json.dumps(manifest(narration), indent=2, ensure_ascii=False) + "\n")


MAX_MANIFEST_BYTES = 100_000_000
"""The largest manifest read back (`cbx review`): a twenty-hour book with every attempt listed is about 30 MB."""
LONGEST_TAKE = 3600.0
"""Seconds no take, span or trim can exceed in a manifest: bounds for what is read back, not a render's limit."""


def _schema():
    """The manifest's pydantic models, built on first use (pydantic is not imported to show help)."""
    from typing import Annotated

    from pydantic import BaseModel, ConfigDict, Field

    from cbx_cli.config.params import Seed

    seconds = Annotated[float, Field(ge=0.0, le=1e7, allow_inf_nan=False)]
    count = Annotated[int, Field(ge=0, le=10**9)]

    class Attempt(BaseModel):
        """One take tried for a chunk. Fields this version does not know are kept and shown as they are."""

        model_config = ConfigDict(extra="allow")
        seed: Seed | None = None
        seconds: Annotated[float, Field(ge=0.0, le=LONGEST_TAKE, allow_inf_nan=False)] | None = None
        transcript: str | None = None
        score: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)] | None = None
        errors: count | None = None
        passed: bool | None = None
        kept: bool = False
        problems: list[str] = []

    class Entry(BaseModel):
        """One chunk. Fields this version does not know (a later cbx's) are left out of the page, not refused."""

        model_config = ConfigDict(extra="ignore")
        text: str
        seed: Seed
        start: seconds
        end: seconds
        chapter: count
        warnings: list[str] = []
        take: Annotated[str, Field(pattern="^[0-9a-f]{64}$")] | None = None
        transcript: str | None = None
        score: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)] | None = None
        errors: count | None = None
        words: count | None = None
        verified: bool | None = None
        passed: bool | None = None
        trimmed: Annotated[float, Field(ge=0.0, le=LONGEST_TAKE, allow_inf_nan=False)] | None = None
        attempts: list[Attempt] | None = None
        retake: count | None = None

    class Mark(BaseModel):
        model_config = ConfigDict(extra="ignore")
        title: str
        start: seconds = 0.0
        end: seconds = 0.0

    class Manifest(BaseModel):
        """A render's manifest. Header fields beyond these (model, checkpoint, versions ...) are kept as written."""

        model_config = ConfigDict(extra="allow")
        chunks: list[Entry]
        chapters: list[Mark] = []
        cache: str | None = None
        model: str | None = None

    return Manifest


def read_manifest(path: Path) -> dict[str, Any]:
    """A manifest cbx wrote (`--manifest`), read back and checked field by field: its values as a dict, with only
    the fields it has. Anything else is an `InputError` naming the file and the field."""
    from cbx_cli.config.jsonfile import read_record

    hint = "Pass the file --manifest wrote."
    record = read_record(path, _schema(), MAX_MANIFEST_BYTES, "Manifest", hint)
    return record.model_dump(exclude_unset=True)
