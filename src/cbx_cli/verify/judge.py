"""Judging takes by what they say: a small model hears every take, a larger one hears again only the failures.

A take passes when its text's first and last words were heard (the ends are where takes truncate, and a lost
end word would pass any tolerance in a long chunk) and its word errors (`cbx_cli.verify.align`) are at most
``tolerance`` times its text's word count. The second stage exists because small models mishear: a take the small
model fails is heard again by the larger one, whose verdict stands, before a retake is spent on it (most takes pass
the first stage, so the larger model's cost is paid on a few percent of them). Transcripts already known (from the
take cache) are not heard again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cbx_cli.plan.chunks import Chunk
from cbx_cli.verify.align import Alignment, align, transcript_of, words_of
from cbx_cli.verify.asr import Heard, Transcriber
from cbx_cli.verify.trim import cut_point

DEFAULT_TOLERANCE = 0.1
"""Word errors allowed per word of text: about one in ten, as audiobook tools allow."""


@dataclass(frozen=True)
class Verdict:
    heard: Heard
    alignment: Alignment
    model: str
    """The model whose hearing decided."""
    passed: bool

    def cut(self, audio: np.ndarray, sample_rate: int) -> float | None:
        """Where a take is cut (after its last expected word), or None to keep it whole. A passing take is cut, and a
        failing one where all its text was heard (it fails on words misheard or heard in between): in any other
        failing take the last aligned word may not be the text's."""
        a = self.alignment
        if a.last_source is None or not (self.passed or a.all_heard):
            return None
        words = self.heard.words
        after = words[a.last_source + 1] if a.last_source + 1 < len(words) else None
        return cut_point(audio, sample_rate, words[a.last_source].end, (after.start, after.end) if after else None)

    def describe(self) -> str:
        a = self.alignment
        ends = "".join(f", its {end} word missing" for end, heard in (("first", a.first_present),
                                                                      ("last", a.last_present)) if not heard)
        return f"says \"{self.heard.text[:80]}\" ({a.errors} word errors in {a.words} words{ends}, {self.model})"


@dataclass
class Hearing:
    """One take to judge: its audio, its chunk, and the transcripts already known for it (by model name)."""

    audio: np.ndarray
    chunk: Chunk
    known: dict[str, Heard]


class Verifier:
    def __init__(self, check: Transcriber, recheck: Transcriber | None = None,
                 tolerance: float = DEFAULT_TOLERANCE):
        self.check = check
        self.recheck = recheck
        self.tolerance = tolerance
        self.transcribed = 0
        """Takes heard by a model in this run (not known from the cache)."""

    def verdict(self, chunk: Chunk, heard: Heard, model: str) -> Verdict:
        expected = words_of(chunk.spoken, chunk.language)
        alignment = align(expected, transcript_of([w.text for w in heard.words], chunk.language))
        passed = alignment.ends_present and alignment.errors <= self.tolerance * alignment.words
        # a text with no words to say (a lone tag) is not judged by what is heard
        return Verdict(heard, alignment, model, passed or alignment.words == 0)

    def judge(self, takes: Sequence[Hearing], sample_rate: int) -> list[Verdict]:
        """Each take's verdict; new transcripts are added to each Hearing's ``known``."""
        verdicts = self._stage(self.check, list(takes), sample_rate)
        if self.recheck is not None:
            failed = [i for i, v in enumerate(verdicts) if not v.passed]
            again = self._stage(self.recheck, [takes[i] for i in failed], sample_rate)
            for i, v in zip(failed, again, strict=True):
                verdicts[i] = v
        return verdicts

    def _stage(self, model: Transcriber, takes: list[Hearing], sample_rate: int) -> list[Verdict]:
        unknown = [t for t in takes if model.name not in t.known]
        if unknown:
            heard = model.transcribe([t.audio for t in unknown], sample_rate, [t.chunk for t in unknown])
            for take, h in zip(unknown, heard, strict=True):
                take.known[model.name] = h
            self.transcribed += len(unknown)
        return [self.verdict(t.chunk, t.known[model.name], model.name) for t in takes]
