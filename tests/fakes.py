"""The one fake engine, for tests about everything around synthesis: the CLI, the take cache, assembly, delivery.

It follows the engine protocol of `cbx_cli.engine.base` and makes speech-like audio (a tone with a syllable-rate
envelope and a little noise) whose length follows the chunk's spoken text and whose content follows its seed, so
reruns give the same bytes and a new seed gives new ones. Like the real engines it streams: a call hands out each take
as soon as it is made. Tests of the engine itself run the real chatterbox code on tiny checkpoints instead. The
`fake_engine` fixture (tests/conftest.py) hands `FakeEngines` to the library as its engine factory.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator, Sequence

import numpy as np

from cbx_cli.engine.base import (
    Engine,
    EngineFacts,
    EngineInfo,
    EngineSpec,
    Piece,
    PieceSizes,
    Synthesis,
    TakeRequest,
    Voice,
    VoicePrompt,
)
from cbx_cli.errors import VoiceError

SR = 24000
CHARS_PER_SECOND = 14
TOKENS_PER_SECOND = 25


def speech_like(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    env = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)
    tone = 0.2 * env * np.sin(2 * np.pi * (150 + seed % 100) * t)
    return (tone + 0.01 * rng.normal(size=t.size)).astype(np.float32)


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def voice_id(prompt: VoicePrompt | None) -> str:
    """The id a FakeEngine gives a voice: its name and its recording's digest."""
    if prompt is None:
        return "builtin"
    digest = _digest(prompt.path)
    return f"voice:{prompt.name}:{digest}" if prompt.name else f"file:{digest}"


class FakeEngine(Engine):
    """A deterministic stand-in engine. Knobs, set before or between calls:

    - `silent_seeds`: chunks with these seeds come back silent (a take the guards reject);
    - `to_budget`: every take reports as many tokens as its budget allows (random weights do the same);
    - `fail_after`: Ctrl-C (KeyboardInterrupt) once this many takes have been handed out;
    - `refusal`: `voice()` refuses every recording with this message;
    - `delay`: seconds every call takes before its first take (a busy engine, for tests of requests that overlap);
    - `piece_delay`: seconds `stream_pieces` takes before each piece (a take made piece by piece).
    """

    sample_rate = SR

    def __init__(self, spec: EngineSpec | None = None, store=None):
        self.spec = spec or EngineSpec(device="cpu")
        self.store = store
        self.info = EngineInfo(self.spec.model, "fake0001", None, "cpu", None)
        self.timings: dict[str, float] = {"t3": 0.0, "s3gen": 0.0}
        self.loaded = False
        self.calls: list[list[int]] = []
        """Chunk indices of every call (`stream` or `synthesize`), in order."""
        self.made = 0
        """Takes handed out so far."""
        self.voices: list[str] = []
        """Voice ids of every request synthesized, in order."""
        self.spoken: list[str] = []
        """What each chunk synthesized said (its spoken text), in order."""
        self.prompts: list[VoicePrompt | None] = []
        self.silent_seeds: set[int] = set()
        self.to_budget = False
        self.fail_after: int | None = None
        self.refusal: str | None = None
        self.delay = 0.0
        self.piece_delay = 0.0

    def load(self) -> None:
        self.loaded = True

    def identity(self) -> str:
        return f"fake:{self.spec.model}:{self.info.checkpoint_id}"

    def voice(self, prompt: VoicePrompt | None) -> Voice:
        self.prompts.append(prompt)
        if prompt is None:
            return Voice("builtin", None)
        if self.refusal:
            raise VoiceError(self.refusal)
        if self.store is not None and self.store.find(prompt, self.spec.model, self.info.checkpoint_id) is None:
            target = self.store.target(prompt, self.spec.model, self.info.checkpoint_id)
            if target is not None:
                target.write_bytes(b"conds of " + prompt.path.name.encode())
        return Voice(voice_id(prompt), None)

    def synthesize(self, requests: Sequence[TakeRequest]) -> list[Synthesis]:
        return [take for _, take in self.stream(requests)]

    def stream(self, requests: Sequence[TakeRequest]) -> Iterator[tuple[int, Synthesis]]:
        self.calls.append([r.chunk.index for r in requests])
        self.voices += [r.voice.id for r in requests]
        if self.delay:
            time.sleep(self.delay)
        for i, request in enumerate(requests):
            if self.fail_after is not None and self.made >= self.fail_after:
                raise KeyboardInterrupt
            self.made += 1
            self.spoken.append(request.chunk.spoken)
            yield i, self._take(request.chunk)

    def stream_pieces(self, requests: Sequence[TakeRequest], sizes: PieceSizes, follows=None):
        """Each take of `stream`, cut where a real engine's pieces end (a speech token is 1/25 s), in order; `delay`
        is spent before each take's first piece, `piece_delay` before every piece; `fail_after` stops after the
        first piece of the take past it (mid-take)."""
        self.calls.append([r.chunk.index for r in requests])
        self.voices += [r.voice.id for r in requests]
        per_token = self.sample_rate // TOKENS_PER_SECOND
        for i, request in enumerate(requests):
            if self.delay:
                time.sleep(self.delay)
            self.spoken.append(request.chunk.spoken)
            take = self._take(request.chunk)
            k, at = 0, 0
            while (end := sizes.boundary(k) * per_token) < len(take.audio):
                time.sleep(self.piece_delay)
                if k and self.fail_after is not None and self.made >= self.fail_after:
                    raise KeyboardInterrupt
                yield i, Piece(take.audio[at:end])
                k, at = k + 1, end
            time.sleep(self.piece_delay)
            self.made += 1
            yield i, Piece(take.audio[at:], take)

    def _take(self, chunk) -> Synthesis:
        if chunk.seed in self.silent_seeds:
            return Synthesis(np.zeros(SR, np.float32), TOKENS_PER_SECOND)
        seconds = max(0.3, len(chunk.spoken) / CHARS_PER_SECOND)
        tokens = chunk.max_tokens if self.to_budget else min(chunk.max_tokens - 1, int(seconds * TOKENS_PER_SECOND))
        return Synthesis(speech_like(tokens / TOKENS_PER_SECOND, chunk.seed), tokens)


class FakeEngines:
    """An engine factory (`cbx_cli.engine.base.EngineFactory`) that makes FakeEngines and keeps them in `made`: the
    `fake_engine` fixture's value. Like the library's own it tells an engine's facts without making one
    (`identify`), so a run whose takes are all cached makes none."""

    def __init__(self):
        self.made: list[FakeEngine] = []
        self.knobs: dict = {}
        """Applied to every engine made from now on (see FakeEngine's knobs)."""

    def __call__(self, spec: EngineSpec, store=None) -> FakeEngine:
        engine = FakeEngine(spec, store)
        for name, value in self.knobs.items():
            setattr(engine, name, value)
        self.made.append(engine)
        return engine

    def identify(self, spec: EngineSpec, store=None) -> EngineFacts:
        info = EngineInfo(spec.model, "fake0001", None, "", None)
        return EngineFacts(f"fake:{spec.model}:fake0001", SR, info, voice_id)

    @property
    def last(self) -> FakeEngine:
        return self.made[-1]


class ScriptedTranscriber:
    """A test double for speech recognition: it hears nothing and returns the text a test chose for each take.

    Tests of thresholds, candidates, retakes and the cache use it to choose exactly what a take is heard to say; real
    speech through a real recognizer is tested in tests/test_verify_speech.py. ``say(chunk, seconds)`` gives the
    transcript of a take of ``chunk`` lasting ``seconds``: a string (its words spread evenly over the take) or a list
    of (word as the recognizer writes it, with its leading space, start, end). By default each take says exactly its
    text.
    """

    def __init__(self, name: str = "scripted", say=None):
        self.name = name
        self.say = say or (lambda chunk, seconds: chunk.spoken)
        self.heard: list[tuple[int, int]] = []
        """(chunk index, seed) of every take transcribed, in order."""

    def transcribe(self, audios, sample_rate, chunks):
        from cbx_cli.verify.asr import Heard, Word

        out = []
        for audio, chunk in zip(audios, chunks, strict=True):
            self.heard.append((chunk.index, chunk.seed))
            seconds = len(audio) / sample_rate
            said = self.say(chunk, seconds)
            if isinstance(said, str):
                words = said.split()
                step = seconds / max(1, len(words))
                said = [(" " + w, i * step, (i + 1) * step) for i, w in enumerate(words)]
            out.append(Heard(tuple(Word(w, s, e) for w, s, e in said)))
        return out


class ScriptedSpeech:
    """What `make_transcriber` becomes under the `scripted_asr` fixture: one ScriptedTranscriber per model name,
    all saying what ``say`` (settable) says."""

    def __init__(self):
        self.made: dict[str, ScriptedTranscriber] = {}
        self.say = None

    def __call__(self, model: str, device: str, batch_size: int = 8) -> ScriptedTranscriber:
        self.made[model] = ScriptedTranscriber(model, lambda chunk, seconds: (self.say or _exact)(chunk, seconds))
        return self.made[model]

    @property
    def heard(self) -> dict[str, list[tuple[int, int]]]:
        return {name: t.heard for name, t in self.made.items()}


def _exact(chunk, seconds):
    return chunk.spoken
