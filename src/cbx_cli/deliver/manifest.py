"""The JSON manifest: each chunk's text as written, its seed and where it sits in the output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cbx_cli.files import write_bytes_atomic
from cbx_cli.render.takes import Take


def build_manifest(takes: list[Take], spans: list[tuple[float, float]], info: dict[str, Any] | None = None) -> dict:
    """Each take's text as written, the seed that made it, and its span in the output (seconds); its take-cache key
    (``take``, where `cbx review` finds its audio) and, for a chunk picked by `cbx retake`, its retake number."""
    entries = []
    for take, (start, end) in zip(takes, spans, strict=True):
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
    return {**(info or {}), "chunks": entries}


def verification(take: Take) -> dict[str, Any]:
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


def write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    data = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    write_bytes_atomic(path, data.encode("utf-8"))
