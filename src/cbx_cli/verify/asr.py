"""Speech recognition for verification: faster-whisper, loaded through its own loader.

Why faster-whisper: it is what the tools that verify TTS takes use; it gives word timestamps (cross-attention
alignment) that tail trimming needs; its CTranslate2 runtime transcribes several times faster than the reference
Whisper on the CPU (int8) and batches on a GPU (float16) through its own `BatchedInferencePipeline`; and it installs
from PyPI as one wheel (ctranslate2) plus small pure-Python parts, without a second copy of torch. Models are the
published CTranslate2 conversions (Systran/faster-whisper-*), found in the Hugging Face cache by
`faster_whisper.download_model` or read from a folder (--verify-model FOLDER).

`Transcriber` is the seam: `WhisperTranscriber` is the real one; tests that need a chosen transcript (retakes,
candidates, the cache) pass a transcriber that returns chosen text instead. A take's words are kept as faster-whisper
wrote them (`Word`), so alignment can read them as written and time what it reads (`cbx_cli.verify.align`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from cbx_cli.config.catalog import missing_message
from cbx_cli.errors import MissingModel, ModelError
from cbx_cli.plan.chunks import Chunk

log = logging.getLogger(__name__)

ASR_RATE = 16000
"""Whisper hears 16 kHz audio."""
GAP = 0.5
"""Seconds of silence between two takes transcribed in one batch."""
MAX_CLIP = 30.0
"""Whisper's window: a longer take is heard only up to here (a take that long is already flagged as too long)."""
MAX_TOKENS = 400
"""At most this many tokens per take (Whisper's window holds 448 with the prompt)."""
BEAM = 5
"""Beam width (faster-whisper's default): a misheard word costs a retake, many times what a wider beam costs."""
INSTALL_HINT = "Install it with: pip install faster-whisper"


@dataclass(frozen=True)
class Word:
    text: str
    """The word as the recognizer wrote it, with the space before it where it had one (faster-whisper's
    `Word.word`: " The", " $3", ".50"), so the words join back into its text as written."""
    start: float
    end: float
    """Seconds from the start of the take."""


TRANSCRIPT_FORM = 2
"""The form of a transcript kept in the take cache; one of another form (words without their spaces) is heard
again."""


@dataclass(frozen=True)
class Heard:
    """What a take says: the recognizer's words with their times."""

    words: tuple[Word, ...]

    @property
    def text(self) -> str:
        """The transcript as the recognizer wrote it."""
        return "".join(w.text for w in self.words).strip()

    def to_json(self) -> dict:
        return {"form": TRANSCRIPT_FORM, "text": self.text,
                "words": [[w.text, round(w.start, 3), round(w.end, 3)] for w in self.words]}

    @classmethod
    def from_json(cls, data: dict) -> Heard | None:
        """The transcript a cache entry kept, or None if it is not one of this form (it is then heard again)."""
        try:
            if data["form"] != TRANSCRIPT_FORM:
                return None
            return cls(tuple(Word(str(t), float(s), float(e)) for t, s, e in data["words"]))
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
    raise MissingModel(missing_message([name_or_folder], verify=True), (name_or_folder,), verify=True)


class WhisperTranscriber:
    """faster-whisper on ``device`` (cuda: float16, several takes per batch; cpu: int8)."""

    def __init__(self, model: str, device: str = "cpu", batch_size: int = 8):
        self.name = model
        self.folder = find_model(model)
        self.device = "cuda" if device == "cuda" else "cpu"  # CTranslate2 runs on CUDA or the CPU, not MPS
        self.batch_size = batch_size if self.device == "cuda" else 1
        self.compute = "float16" if self.device == "cuda" else "int8"
        self._pipeline = None

    def load(self):
        if self._pipeline is None:
            from faster_whisper import WhisperModel

            try:
                model = WhisperModel(str(self.folder), device=self.device, compute_type=self.compute)
            except (RuntimeError, ValueError, OSError) as exc:
                raise ModelError(f"Speech recognition model in {self.folder} cannot be loaded: {exc}") from None
            self._pipeline = _take_pipeline(model)
        return self._pipeline

    def transcribe(self, audios: Sequence[np.ndarray], sample_rate: int, chunks: Sequence[Chunk]) -> list[Heard]:
        """What each take says. Takes are heard in groups of one language and one token budget, so what a take is
        heard to say depends on it alone, never on the takes heard with it."""
        out: list[Heard | None] = [None] * len(audios)
        groups: dict[tuple[str | None, int], list[int]] = {}
        for i, chunk in enumerate(chunks):
            groups.setdefault((chunk.language, token_budget(chunk.spoken)), []).append(i)
        for (language, budget), indices in groups.items():
            heard = self._batch([audios[i] for i in indices], sample_rate, language, budget)
            for i, h in zip(indices, heard, strict=True):
                out[i] = h
        return [h for h in out if h is not None]

    def _batch(self, audios, sample_rate, language, budget) -> list[Heard]:
        """The takes laid end to end with a gap between, each one clip of faster-whisper's batched pipeline. Each
        clip is decoded on its own, and every segment it yields carries the clip's start as its `seek` (in frames):
        a word goes to the take of its segment, whatever its times say (they can run past the clip's end)."""
        import soxr

        pipeline = self.load()
        pieces, bounds, at = [], [], 0
        gap = np.zeros(int(GAP * ASR_RATE), np.float32)
        for audio in audios:
            heard = soxr.resample(np.asarray(audio, np.float32), sample_rate, ASR_RATE)[: int(MAX_CLIP * ASR_RATE)]
            heard = heard if len(heard) else np.zeros(ASR_RATE // 10, np.float32)
            bounds.append((at, at + len(heard)))
            pieces += [heard, gap]
            at += len(heard) + len(gap)
        # clips in seconds that faster-whisper turns back into exactly these samples (it truncates), so a take's
        # clip never gains or loses a sample with its place in the batch
        clips = [{"start": (a + 0.5) / ASR_RATE, "end": (b + 0.5) / ASR_RATE} for a, b in bounds]
        segments, _ = pipeline.transcribe(
            np.concatenate(pieces), language=_whisper_language(language, pipeline.model.model.is_multilingual),
            clip_timestamps=clips, word_timestamps=True, batch_size=self.batch_size, beam_size=BEAM,
            temperature=0.0, without_timestamps=True, max_new_tokens=budget,
        )
        # each clip's `seek` as faster-whisper 1.2 computes it (BatchedInferencePipeline.transcribe and .forward); its
        # word times are seek / frames_per_second later (WhisperModel.add_word_timestamps)
        frames = pipeline.model.frames_per_second
        seeks = [int(a / ASR_RATE * frames) for a, _ in bounds]
        words: list[list[Word]] = [[] for _ in audios]
        for segment in segments:
            k = max([k for k, seek in enumerate(seeks) if seek <= segment.seek] or [0])
            start, length = seeks[k] / frames, (bounds[k][1] - bounds[k][0]) / ASR_RATE
            for w in segment.words or ():
                # a word's times stay inside its take: the alignment may run on into the gap after it
                words[k].append(Word(w.word, min(round(max(0.0, w.start - start), 3), length),
                                     min(round(max(0.0, w.end - start), 3), length)))
        return [Heard(tuple(ws)) for ws in words]


def _take_pipeline(model):
    """faster-whisper's `BatchedInferencePipeline` (1.2) over ``model``, whose word timing starts afresh at each
    batch's first clip, as for audio heard alone. Upstream carries the end of the last word heard in any earlier call
    into the next batch's first word (`last_speech_timestamp`), so a take's times would depend on the takes heard
    before it; within one batch (several takes at once, on CUDA) later takes still follow the ones before them."""
    from faster_whisper import BatchedInferencePipeline

    class TakePipeline(BatchedInferencePipeline):
        def forward(self, features, tokenizer, chunks_metadata, options):
            self.last_speech_timestamp = chunks_metadata[0]["offset"] if chunks_metadata else 0.0
            return super().forward(features, tokenizer, chunks_metadata, options)

    return TakePipeline(model)


def token_budget(spoken: str) -> int:
    """Tokens the recognizer may write for a take of ``spoken``: about one per character of its text (several times
    what it needs) and some for a tail, rounded up to a step of 32 so that takes of similar length share a batch.
    Random weights never stop early and decode all of it."""
    return min(MAX_TOKENS, -(-(len(spoken) + 16) // 32) * 32)


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


def cuda_available() -> bool:
    """Whether CTranslate2 sees a CUDA GPU (asked without importing torch)."""
    try:
        import ctranslate2
    except ImportError:
        return False
    try:
        return ctranslate2.get_cuda_device_count() > 0
    except RuntimeError:
        return False


def make_transcriber(model: str, device: str, batch_size: int = 8) -> Transcriber:
    """The transcriber for ``model`` (a faster-whisper name or folder), found now, loaded on first use."""
    return WhisperTranscriber(model, device, batch_size)
