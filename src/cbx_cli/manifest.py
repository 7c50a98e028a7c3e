"""The JSON manifest: each chunk's text as written, its seed and where it sits in the output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cbx_cli.audio.export import write_bytes_atomic
from cbx_cli.plan import Chunk


def build_manifest(
    chunks: list[Chunk], spans: list[tuple[float, float]], info: dict[str, Any] | None = None
) -> dict[str, Any]:
    entries = []
    for chunk, (start, end) in zip(chunks, spans, strict=True):
        entries.append(
            {
                "text": chunk.text,
                "seed": chunk.seed,
                "start": round(start, 3),
                "end": round(end, 3),
                "chapter": chunk.chapter,
            }
        )
    return {**(info or {}), "chunks": entries}


def write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    data = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    write_bytes_atomic(path, data.encode("utf-8"))
