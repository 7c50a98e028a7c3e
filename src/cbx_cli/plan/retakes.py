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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from cbx_cli.errors import InputError, ParamError
from cbx_cli.plan.chunks import Chunk, retake_seed

SUFFIX = ".retakes.json"
VERSION = 1


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
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            picks = {key: Pick(int(v["seed"]), int(v["retake"])) for key, v in data["chunks"].items()}
        except FileNotFoundError:
            return cls(path)
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InputError(f"Retake file '{path}' cannot be read ({type(exc).__name__}: {exc}); fix it, or delete "
                             "it to render every chunk with its planned seed.") from None
        return cls(path, picks)

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
    """The chunk numbers of ``--chunk N`` (repeatable) and ``--chunks 3,7-9``, checked against ``total``."""
    numbers = list(single or [])
    for part in (ranges or "").split(","):
        part = part.strip()
        if not part:
            continue
        low, dash, high = part.partition("-")
        try:
            numbers += list(range(int(low), int(high) + 1)) if dash else [int(low)]
        except ValueError:
            raise ParamError(f"--chunks '{ranges}' is not a list of chunk numbers; write e.g. 3,7-9.") from None
    if not numbers:
        raise ParamError("Name the chunks to retake with --chunk N or --chunks 3,7-9 (numbers as `cbx plan` shows).")
    wrong = [n for n in numbers if not 1 <= n <= total]
    if wrong:
        raise ParamError(f"Chunk {wrong[0]} is out of range: the script has {total} chunk(s), numbered from 1 as "
                         "`cbx plan` shows them.")
    return sorted(set(numbers))
