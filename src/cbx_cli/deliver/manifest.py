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
