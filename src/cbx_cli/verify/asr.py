"""Speech recognition for verification: faster-whisper, loaded through its own loader.

Why faster-whisper: it is what the tools that verify TTS takes use; it gives word timestamps (cross-attention
alignment) that tail trimming needs; its CTranslate2 runtime transcribes several times faster than the reference
Whisper on the CPU (int8) and batches on a GPU (float16) through its own `BatchedInferencePipeline`; and it installs
from PyPI as one wheel (ctranslate2) plus small pure-Python parts, without a second copy of torch. Models are the
published CTranslate2 conversions (Systran/faster-whisper-*), found in the Hugging Face cache by
`faster_whisper.download_model` or read from a folder (--verify-model FOLDER).

`Transcriber` is the seam: `WhisperTranscriber` is the real one; tests of alignment, thresholds and retakes pass a
transcriber that returns chosen text instead.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from cbx_cli.errors import ModelError
from cbx_cli.plan.chunks import Chunk

log = logging.getLogger(__name__)

ASR_RATE = 16000
"""Whisper hears 16 kHz audio."""
GAP = 0.5
"""Seconds of silence between two takes transcribed in one batch."""
MAX_CLIP = 30.0
"""Whisper's window: a longer take is heard only up to here (a take that long is already flagged as too long)."""
INSTALL_HINT = "Install it with: pip install faster-whisper"


@dataclass(frozen=True)
class Word:
    text: str
    start: float
    end: float
    """Seconds from the start of the take."""


@dataclass(frozen=True)
class Heard:
    """What a take says: its transcript and the words with their times."""

    text: str
    words: tuple[Word, ...]

    def to_json(self) -> dict:
        return {"text": self.text, "words": [[w.text, round(w.start, 3), round(w.end, 3)] for w in self.words]}

    @classmethod
    def from_json(cls, data: dict) -> Heard | None:
        """The transcript a cache entry kept, or None if it is not one (it is then heard again)."""
        try:
            return cls(str(data["text"]), tuple(Word(str(t), float(s), float(e)) for t, s, e in data["words"]))
        except (KeyError, TypeError, ValueError):
            return None


class Transcriber(Protocol):
    name: str
    """Which model hears: part of the cache's record of a transcript (a different model hears again)."""

    def transcribe(self, audios: Sequence[np.ndarray], sample_rate: int, chunks: Sequence[Chunk]) -> list[Heard]:
        """What each take (``audios[i]``, rendered for ``chunks[i]``) says."""
        ...


def model_repo(name: str) -> str:
    """The hub repository of a faster-whisper model name ("base.en" → Systran/faster-whisper-base.en)."""
    from faster_whisper.utils import _MODELS

    return name if "/" in name else _MODELS.get(name, f"Systran/faster-whisper-{name}")


def find_model(name_or_folder: str) -> Path:
    """A model folder (used as it is) or a model name, found by faster-whisper's `download_model` in the Hugging
    Face cache (downloaded when the hub answers). Fails at once, with what to do, when it is in neither."""
    try:
        from faster_whisper import download_model
    except ImportError:
        raise ModelError(f"--verify needs faster-whisper, which is not installed. {INSTALL_HINT}") from None
    from huggingface_hub import constants

    from cbx_cli.engine.weights import hub_answers, quiet_hub

    folder = Path(name_or_folder).expanduser()
    if folder.is_dir():
        if not (folder / "model.bin").is_file():
            raise ModelError(f"--verify-model {folder}: no model.bin there. Pass a faster-whisper model folder "
                             "(a CTranslate2 conversion, such as Systran/faster-whisper-base.en).")
        return folder
    repo = model_repo(name_or_folder)
    with quiet_hub():
        reachable = not constants.HF_HUB_OFFLINE and hub_answers(repo, "model.bin", None)
        try:
            return Path(download_model(repo, local_files_only=not reachable))
        except Exception as exc:  # hub errors come in many classes: offline, missing, network, auth
            log.debug("speech model lookup failed: %r", exc)
    raise ModelError(
        f"Speech recognition model '{name_or_folder}' is not in the Hugging Face cache and the hub cannot be "
        f"reached. Connect once to download {repo}, pass --verify-model FOLDER with a faster-whisper model, or "
        "narrate without checking takes (--no-verify)."
    )


class WhisperTranscriber:
    """faster-whisper on ``device`` (cuda: float16, several takes per batch; cpu: int8)."""

    def __init__(self, model: str, device: str = "cpu", batch_size: int = 8):
        self.name = model
        self.folder = find_model(model)
        self.device = "cuda" if device == "cuda" else "cpu"  # CTranslate2 runs on CUDA or the CPU, not MPS
        self.batch_size = batch_size if self.device == "cuda" else 1
        self._pipeline = None

    def load(self):
        if self._pipeline is None:
            from faster_whisper import BatchedInferencePipeline, WhisperModel

            compute = "float16" if self.device == "cuda" else "int8"
            try:
                model = WhisperModel(str(self.folder), device=self.device, compute_type=compute)
            except (RuntimeError, ValueError, OSError) as exc:
                raise ModelError(f"Speech recognition model in {self.folder} cannot be loaded: {exc}") from None
            self._pipeline = BatchedInferencePipeline(model)
        return self._pipeline

    def transcribe(self, audios: Sequence[np.ndarray], sample_rate: int, chunks: Sequence[Chunk]) -> list[Heard]:
        out: list[Heard | None] = [None] * len(audios)
        by_language: dict[str | None, list[int]] = {}
        for i, chunk in enumerate(chunks):
            by_language.setdefault(chunk.language, []).append(i)
        for language, indices in by_language.items():
            heard = self._batch([audios[i] for i in indices], sample_rate, [chunks[i] for i in indices], language)
            for i, h in zip(indices, heard, strict=True):
                out[i] = h
        return [h for h in out if h is not None]

    def _batch(self, audios, sample_rate, chunks, language) -> list[Heard]:
        """The takes laid end to end with a gap between, transcribed as one clip each by faster-whisper's batched
        pipeline; each word goes back to the take its middle falls in."""
        import soxr

        pipeline = self.load()
        pieces, clips, at = [], [], 0.0
        gap = np.zeros(int(GAP * ASR_RATE), np.float32)
        for audio in audios:
            heard = soxr.resample(np.asarray(audio, np.float32), sample_rate, ASR_RATE)[: int(MAX_CLIP * ASR_RATE)]
            heard = heard if len(heard) else np.zeros(ASR_RATE // 10, np.float32)
            clips.append({"start": at, "end": at + len(heard) / ASR_RATE})
            pieces += [heard, gap]
            at += (len(heard) + len(gap)) / ASR_RATE
        longest = max(len(c.spoken) for c in chunks)
        segments, _ = pipeline.transcribe(
            np.concatenate(pieces), language=_whisper_language(language, pipeline.model.model.is_multilingual),
            clip_timestamps=clips, word_timestamps=True, batch_size=self.batch_size, beam_size=1,
            temperature=0.0, without_timestamps=True, max_new_tokens=min(400, longest + 16),
        )
        words: list[list[Word]] = [[] for _ in audios]
        for segment in segments:
            for w in segment.words or ():
                middle = (w.start + w.end) / 2
                k = next((k for k, c in enumerate(clips) if middle <= c["end"]), len(clips) - 1)
                start, length = clips[k]["start"], clips[k]["end"] - clips[k]["start"]
                # a word's times stay inside its take: the alignment may run on into the gap after it
                words[k].append(Word(w.word.strip(), min(max(0.0, w.start - start), length),
                                     min(max(0.0, w.end - start), length)))
        return [Heard(" ".join(w.text for w in ws), tuple(ws)) for ws in words]


def _whisper_language(language: str | None, multilingual: bool) -> str | None:
    """Whisper's code for a chunk's language ("pt-BR" → "pt"); None for an English-only model."""
    return (language or "en").split("-")[0].lower() if multilingual else None


CHECK_MODELS = {"en": "base.en", "any": "base"}
"""The model that hears every take: English-only where every chunk is English (more accurate at that size)."""
RECHECK_MODELS = {"en": "small.en", "any": "small"}
"""The larger model that hears the failures again."""


def default_models(languages: Sequence[str | None]) -> tuple[str, str]:
    """(check, recheck) model names for chunks in ``languages`` (None: English)."""
    english = all((lang or "en").split("-")[0] == "en" for lang in languages)
    kind = "en" if english else "any"
    return CHECK_MODELS[kind], RECHECK_MODELS[kind]


def make_transcriber(model: str, device: str, batch_size: int = 8) -> Transcriber:
    """The transcriber for ``model`` (a faster-whisper name or folder), found now, loaded on first use."""
    return WhisperTranscriber(model, device, batch_size)
