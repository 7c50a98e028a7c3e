"""Retakes: the seeds `cbx retake` picked for single chunks, kept so every later render of the script uses them.

The picks live in a small JSON file beside the script (``chapter.md`` → ``chapter.md.retakes.json``), not beside
the output nor in the take cache: a pick is a decision about the script's text, so it must hold for every output
made from that script (a FLAC master and an .m4b from the same command with another -o), survive `cbx cache
clear`, and travel with the script into version control. Each pick is keyed by what identifies the chunk, not by
its number: its spoken text, model, voice, language and the base seed, with a count for repeated texts. Editing
another paragraph, which renumbers the chunks, keeps the pick; editing the chunk's own text drops it (the new text
is a new take anyway).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from cbx_cli.errors import ParamError, cut, shown
from cbx_cli.plan.chunks import Chunk, retake_seed

SUFFIX = ".retakes.json"
VERSION = 1
MAX_RETAKE_BYTES = 10_000_000
"""The largest retake file read: about 100,000 picks."""


def _schema():
    """The retake file's pydantic model (built on first use). The file is cbx's own and versioned: a field this
    version does not know is refused, as is a later version's file."""
    from typing import Annotated, Literal

    from pydantic import BaseModel, ConfigDict, Field

    from cbx_cli.config.params import Seed

    class PickRecord(BaseModel):
        model_config = ConfigDict(extra="forbid")
        seed: Seed
        retake: Annotated[int, Field(ge=1, le=1_000_000)]

    class RetakeFile(BaseModel):
        model_config = ConfigDict(extra="forbid")
        version: Literal[1]
        chunks: dict[Annotated[str, Field(pattern="^[0-9a-f]{20}-[0-9]{1,9}$")], PickRecord]

    return RetakeFile


@dataclass(frozen=True)
class Pick:
    seed: int
    retake: int
    """How many times the chunk was retaken; the n-th derived retake seed is `retake_seed(chunk, n)`."""


@dataclass
class Retakes:
    """The picks of one script, read from and written to ``path`` (None: a script without a file; never saved)."""

    path: Path | None
    picks: dict[str, Pick] = field(default_factory=dict)

    @classmethod
    def beside(cls, script_path: Path) -> Retakes:
        """The picks kept beside ``script_path`` (none yet when the file is absent)."""
        return cls.load(Path(f"{script_path}{SUFFIX}"))

    @classmethod
    def load(cls, path: Path) -> Retakes:
        """The picks in the retake file ``path`` (none when there is no file), each field checked: a bad file is
        an InputError naming the file and the field, before any model loads."""
        from cbx_cli.config.jsonfile import read_record

        if not os.path.lexists(path):
            return cls(path)
        hint = "Fix it, or delete it to render every chunk with its planned seed."
        record = read_record(path, _schema(), MAX_RETAKE_BYTES, "Retake file", hint)
        return cls(path, {key: Pick(p.seed, p.retake) for key, p in record.chunks.items()})

    def apply(self, chunks: Sequence[Chunk]) -> list[Chunk]:
        """The chunks, each picked one with its picked seed and retake number."""
        out = []
        for chunk, key in zip(chunks, chunk_keys(chunks), strict=True):
            pick = self.picks.get(key)
            out.append(replace(chunk, seed=pick.seed, retake=pick.retake) if pick else chunk)
        return out

    def pick(self, chunks: Sequence[Chunk], numbers: Iterable[int], seed: int | None = None) -> list[Chunk]:
        """Pick a new seed for the chunks ``numbers`` (from 1): ``seed``, or each chunk's next derived retake seed.
        Returns the chunks with the picks applied; `save` keeps them."""
        if seed is not None:
            from cbx_cli.config.params import NarrationOptions, check_options

            check_options(NarrationOptions, seed=seed)
        chunks = list(chunks)
        keys = chunk_keys(chunks)
        for number in numbers:
            chunk = chunks[number - 1]
            n = chunk.retake + 1
            self.picks[keys[number - 1]] = Pick(seed if seed is not None else retake_seed(chunk, n), n)
        return self.apply(chunks)

    def save(self) -> None:
        from cbx_cli.files import write_bytes_atomic

        if self.path is None:
            raise ValueError("these retakes belong to a script without a file; there is nowhere to keep them")

        data = {"version": VERSION, "chunks": {k: {"seed": p.seed, "retake": p.retake}
                                               for k, p in sorted(self.picks.items())}}
        write_bytes_atomic(self.path, (json.dumps(data, indent=2) + "\n").encode("utf-8"))


def chunk_keys(chunks: Sequence[Chunk]) -> list[str]:
    """Each chunk's pick key: a digest of what identifies it, then its occurrence among chunks with that digest."""
    seen: dict[str, int] = {}
    keys = []
    for chunk in chunks:
        blob = json.dumps([chunk.spoken, chunk.model, chunk.voice, chunk.language, chunk.params.seed],
                          ensure_ascii=False)
        digest = hashlib.sha256(blob.encode("utf-8")).hexdigest()[:20]
        seen[digest] = seen.get(digest, 0) + 1
        keys.append(f"{digest}-{seen[digest]}")
    return keys


def chunk_numbers(single: Sequence[int] | None, ranges: str | None, total: int) -> list[int]:
    """The chunk numbers of ``--chunk N`` (repeatable) and ``--chunks 3,7-9``, checked against ``total`` before any
    range is counted out (``1-99999999999`` is refused, not expanded)."""
    spans = [(n, n) for n in single or []]
    for part in (ranges or "").split(","):
        part = part.strip()
        if not part:
            continue
        low, dash, high = part.partition("-")
        try:
            spans.append((int(low), int(high)) if dash else (int(low), int(low)))
        except ValueError:
            raise ParamError(f"--chunks '{cut(ranges or '', 60)}' is not a list of chunk numbers; write e.g. 3,7-9.") \
                from None
    if not spans:
        raise ParamError("Name the chunks to retake with --chunk N or --chunks 3,7-9 (numbers as `cbx plan` shows).")
    for low, high in spans:
        if low > high:
            raise ParamError(f"--chunks {low}-{high} runs backwards; write the lower number first, e.g. {high}-{low}.")
        wrong = low if not 1 <= low <= total else high if high > total else None
        if wrong is not None:
            raise ParamError(f"Chunk {shown(wrong, 30)} is out of range: the script has {total} chunk(s), numbered "
                             "from 1 as `cbx plan` shows them.")
    return sorted({n for low, high in spans for n in range(low, high + 1)})
