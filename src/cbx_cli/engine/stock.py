"""The stock engine: one Chatterbox model synthesizing one chunk at a time, exactly as chatterbox's `generate` does.

Every call here is chatterbox-tts 0.1.7's own (`T3.inference`, `S3Gen.inference`, the watermarker); what cbx adds
is a seed and a token budget per chunk, voice conditioning kept per voice, and timings. torch and chatterbox are
imported in `load()` and the methods, so the CLI starts fast and tests that need no model never import them.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from cbx_cli.engine.base import (
    ConditioningStore,
    Engine,
    EngineFacts,
    EngineInfo,
    EngineSpec,
    Piece,
    PieceSizes,
    SpokenChunk,
    Synthesis,
    TakeRequest,
    Voice,
    VoicePrompt,
    in_turn,
)
from cbx_cli.engine.s3gen_batch import watermarked
from cbx_cli.engine.weights import (
    FILES,
    checkpoint_identity,
    conditionals_class,
    find_checkpoint,
    import_torch,
    load_model,
    resolve_device,
)
from cbx_cli.errors import VoiceError

log = logging.getLogger(__name__)

SAMPLE_RATE = 24000
KEPT_VOICES = 32
"""Voices an engine keeps conditioning for in memory: a server meets a new recording with every request that uploads
one."""


class ChatterboxEngine(Engine):
    """One Chatterbox model synthesizing chunks one at a time as stock does; voices computed once and kept."""

    sample_rate = SAMPLE_RATE
    kind = "ChatterboxEngine"
    """The engine's name in `identity()` (and so in cache keys)."""

    def __init__(self, spec: EngineSpec, store: ConditioningStore | None = None):
        self.spec = spec
        self.store = store
        self.model = None
        self.info = EngineInfo(spec.model, "", None, "cpu", None)
        self.timings: dict[str, float] = {"t3": 0.0, "s3gen": 0.0}
        self._builtin = None
        self._voices: dict[tuple[VoicePrompt, tuple] | None, Voice] = {}
        self._torch = None

    @property
    def device(self) -> str:
        return self.info.device

    def load(self) -> None:
        # A GPU asked for by name is checked before the checkpoint (nothing downloads for a device that is not
        # there); otherwise the checkpoint is found first, so a missing one is told before torch takes seconds
        # to import.
        if self.spec.device in ("auto", "cpu"):
            checkpoint = find_checkpoint(self.spec.model, self.spec.model_dir, self.spec.revision)
            device, warning = resolve_device(self.spec.device)
        else:
            device, warning = resolve_device(self.spec.device)
            checkpoint = find_checkpoint(self.spec.model, self.spec.model_dir, self.spec.revision)
        self._torch = import_torch()
        loaded = load_model(checkpoint, device)
        self.model = loaded.model
        self._builtin = self.model.conds
        self.info = EngineInfo(self.spec.model, loaded.checkpoint_id, loaded.revision, device, warning)
        if self._builtin is None:
            log.info("checkpoint has no built-in voice (conds.pt)")

    def identity(self) -> str:
        return f"{self.kind}:{self.spec.model}:{self.info.checkpoint_id}"

    # -- voices --------------------------------------------------------------------------------

    def voice(self, prompt: VoicePrompt | None = None) -> Voice:
        """Conditioning for `prompt` (None: the checkpoint's built-in voice), computed once per prompt and kept (the
        `KEPT_VOICES` used last; a recording replaced on disk, a voice added again under its name, is a new prompt).

        With a store, conditioning stored for this model and checkpoint is loaded instead of computed, and
        conditioning computed here is saved where the store says.
        """
        key = None if prompt is None else (prompt, _stamp(prompt.path))
        voice = self._voices.pop(key, None)
        if voice is None and prompt is None:
            if self._builtin is None:
                raise VoiceError("This checkpoint has no built-in voice (conds.pt). Pass --voice FILE.")
            voice = Voice("builtin", self._builtin)
        elif voice is None:
            voice = self._stored(prompt) or self._computed(prompt)
        self._voices[key] = voice  # the most recently used last
        while len(self._voices) > KEPT_VOICES:
            del self._voices[next(iter(self._voices))]
        return voice

    def _stored(self, prompt: VoicePrompt) -> Voice | None:
        path = self.store.find(prompt, self.spec.model, self.info.checkpoint_id) if self.store else None
        if path is None:
            return None
        return Voice(stored_voice_id(prompt, path), self.load_conditionals(path))

    def _computed(self, prompt: VoicePrompt) -> Voice:
        """`prepare_conditionals` on the recording (its default exaggeration: each chunk sets its own)."""
        with contextlib.redirect_stdout(sys.stderr), self._torch.inference_mode():
            try:
                self.model.prepare_conditionals(str(prompt.path), exaggeration=0.5)
            except AssertionError as exc:
                if prompt.name:
                    raise VoiceError(
                        f"Voice '{prompt.name}' cannot be used with the {self.spec.model} model: {exc}"
                    ) from None
                raise VoiceError(f"Voice file '{prompt.path}' cannot be used: {exc}") from None
        conds = self.model.conds
        target = self.store.target(prompt, self.spec.model, self.info.checkpoint_id) if self.store else None
        if target is not None:
            save_conditionals(conds, target)
        return Voice(file_voice_id(prompt), conds)

    def load_conditionals(self, path: Path):
        """Conditioning stored by `save_conditionals`, on this engine's device."""
        path = Path(path)
        try:
            return conditionals_class(self.spec.model).load(path, map_location="cpu").to(self.device)
        except Exception as exc:  # torch raises many kinds for a truncated or foreign file
            log.debug("cannot load conditioning %s: %r", path, exc)
            raise VoiceError(
                f"Stored voice conditioning '{path}' cannot be read. Delete it, or add the voice again with "
                "cbx voices add NAME FILE --replace."
            ) from None

    # -- synthesis -----------------------------------------------------------------------------

    def synthesize(self, requests: Sequence[TakeRequest]) -> list[Synthesis]:
        """One take per request, in order, each as stock `generate` makes it with the chunk's seed and budget."""
        return [take for _, take in self.stream(requests)]

    def stream(self, requests: Sequence[TakeRequest]) -> Iterator[tuple[int, Synthesis]]:
        """(index, take) per request, in order, each handed out as soon as it is made."""
        torch = self._torch
        self.timings = {"t3": 0.0, "s3gen": 0.0}
        for i, request in enumerate(requests):
            tokens, generated = self._draw(request)
            t0 = time.perf_counter()
            with contextlib.redirect_stdout(sys.stderr), torch.inference_mode():
                audio = self.decode(tokens, request.voice.conditionals)
            self.timings["s3gen"] += time.perf_counter() - t0
            yield i, Synthesis(audio, generated)

    def _draw(self, request: TakeRequest):
        """T3 for one request as stock `generate` draws it (torch seeded with the chunk's seed): (speech tokens,
        number generated), its time added to ``timings["t3"]``."""
        torch = self._torch
        torch.manual_seed(request.chunk.seed)
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(sys.stderr), torch.inference_mode():
            drawn = self.speech_tokens(request.chunk, request.voice.conditionals)
        self.timings["t3"] += time.perf_counter() - t0
        return drawn

    def stream_pieces(self, requests: Sequence[TakeRequest], sizes: PieceSizes,
                      follows: Sequence[int | None] | None = None) -> Iterator[tuple[int, Piece]]:
        """(index, piece) per request, in order: each chunk's speech tokens as stock `generate` draws them, then
        its S3Gen a piece at a time (`s3gen_stream.TakeStream`), each piece handed out as soon as it is made."""
        yield from in_turn(self._pieces(requests, sizes), follows)

    def _pieces(self, requests: Sequence[TakeRequest], sizes: PieceSizes) -> Iterator[tuple[int, Piece]]:
        from cbx_cli.engine.s3gen_stream import TakeStream

        self.timings = {"t3": 0.0, "s3gen": 0.0}
        for i, request in enumerate(requests):
            tokens, generated = self._draw(request)
            stream = TakeStream(self.model, request.voice.conditionals.gen, request.chunk.seed, sizes,
                                self.sample_rate)
            yield from ((i, piece) for piece in timed(stream_take(stream, tokens, generated), self.timings, "s3gen"))

    def stream_identity(self, sizes: PieceSizes) -> str:
        from cbx_cli.engine.s3gen_stream import stream_key

        return f"{self.identity()}:{stream_key(sizes, self.info.device)}"

    def voice_sample(self, voice: Voice) -> np.ndarray:
        """The voice's S3Gen reference mel (`Conditionals.gen["prompt_feat"]`, up to 10 s of its recording) through
        the vocoder: what this model's takes in that voice sound like, level for level."""
        from cbx_cli.engine.s3gen_batch import hift_wave, ref_on

        torch = self._torch
        s3 = self.model.s3gen
        with contextlib.redirect_stdout(sys.stderr), torch.inference_mode():
            mel = ref_on(voice.conditionals.gen, s3.device, s3.dtype)["prompt_feat"]
            mel = (mel if mel.dim() == 3 else mel[None]).transpose(1, 2)
            wave = hift_wave(s3, mel, seed=0)
        return wave[0].float().cpu().numpy()

    def speech_tokens(self, chunk: SpokenChunk, conds):
        """T3: text → (speech tokens for S3Gen, number generated without the stop token), within the budget.

        Mirrors `ChatterboxTTS.generate` (and the turbo and multilingual models' `generate`), chatterbox-tts 0.1.7,
        with `max_new_tokens` set to the chunk's budget.
        """
        from chatterbox.models.s3tokenizer import SPEECH_VOCAB_SIZE

        if self.spec.model == "turbo":
            return self._turbo_tokens(chunk, conds)
        torch = self._torch
        import torch.nn.functional as F

        m, p = self.model, chunk.params
        if self.spec.model == "multilingual":
            from chatterbox.mtl_tts import punc_norm

            text_tokens = m.tokenizer.text_to_tokens(punc_norm(chunk.spoken), language_id=chunk.language)
        else:
            from chatterbox.tts import punc_norm

            text_tokens = m.tokenizer.text_to_tokens(punc_norm(chunk.spoken))
        text_tokens = text_tokens.to(self.device)
        if p.cfg_weight > 0.0 or self.spec.model == "multilingual":
            text_tokens = torch.cat([text_tokens, text_tokens], dim=0)
        text_tokens = F.pad(text_tokens, (1, 0), value=m.t3.hp.start_text_token)
        text_tokens = F.pad(text_tokens, (0, 1), value=m.t3.hp.stop_text_token)
        tokens = m.t3.inference(
            t3_cond=with_exaggeration(conds.t3, p.exaggeration, self.device),
            text_tokens=text_tokens,
            max_new_tokens=chunk.max_tokens,
            temperature=p.temperature,
            cfg_weight=p.cfg_weight,
            repetition_penalty=p.repetition_penalty,
            min_p=p.min_p,
            top_p=p.top_p,
        )
        from chatterbox.models.s3tokenizer import drop_invalid_tokens

        generated = tokens_generated(tokens[0], m.t3.hp.stop_speech_token)
        tokens = drop_invalid_tokens(tokens[0])
        return tokens[tokens < SPEECH_VOCAB_SIZE], generated

    def _turbo_tokens(self, chunk: SpokenChunk, conds):
        """`ChatterboxTurboTTS.generate`'s T3 call (chatterbox-tts 0.1.7), `max_gen_len` from the budget."""
        from chatterbox.models.s3tokenizer import SPEECH_VOCAB_SIZE
        from chatterbox.tts_turbo import punc_norm

        m, p = self.model, chunk.params
        ids = m.tokenizer(punc_norm(chunk.spoken), return_tensors="pt", padding=True, truncation=True)
        tokens = m.t3.inference_turbo(
            t3_cond=conds.t3,
            text_tokens=ids.input_ids.to(self.device),
            temperature=p.temperature,
            top_k=p.top_k,
            top_p=p.top_p,
            repetition_penalty=p.repetition_penalty,
            max_gen_len=max(chunk.max_tokens - 1, 0),
        )
        return tokens[tokens < SPEECH_VOCAB_SIZE], int(tokens.numel())  # inference_turbo drops the stop token

    def decode(self, tokens, conds) -> np.ndarray:
        """S3Gen: speech tokens → waveform, then Chatterbox's watermark (`generate`'s calls, chatterbox-tts 0.1.7)."""
        torch = self._torch
        m = self.model
        tokens = tokens.to(self.device)
        if self.spec.model == "turbo":
            from chatterbox.models.s3gen.const import S3GEN_SIL

            silence = torch.tensor([S3GEN_SIL] * 3, dtype=torch.long, device=self.device)
            tokens = torch.cat([tokens, silence])
            wav, _ = m.s3gen.inference(speech_tokens=tokens, ref_dict=conds.gen, n_cfm_timesteps=2)
        elif tokens.numel() == 0:
            return np.zeros(0, dtype=np.float32)
        else:
            wav, _ = m.s3gen.inference(speech_tokens=tokens, ref_dict=conds.gen)
        return watermarked(m, wav, self.sample_rate)


def identify(spec: EngineSpec, store: ConditioningStore | None, kind: str) -> EngineFacts:
    """The facts of the engine ``kind`` (`ChatterboxEngine.kind`, `BatchedEngine.kind`) would load for ``spec``: the
    checkpoint found as `load` finds it (no torch, no chatterbox), its identity, and each voice's id as `voice` names
    it (stored conditioning, else the recording's digest). A device asked for by name is checked first, as `load`
    checks it."""
    if spec.device not in ("auto", "cpu"):
        resolve_device(spec.device)
    checkpoint = find_checkpoint(spec.model, spec.model_dir, spec.revision)
    folder = checkpoint.folder
    checkpoint_id = checkpoint_identity(folder, FILES[spec.model])
    snapshot = checkpoint.source != "folder" and folder.parent.name == "snapshots"
    info = EngineInfo(spec.model, checkpoint_id, folder.name if snapshot else None, "", None)

    def voice_id(prompt: VoicePrompt | None) -> str:
        if prompt is None:
            return "builtin"
        stored = store.find(prompt, spec.model, checkpoint_id) if store else None
        return stored_voice_id(prompt, stored) if stored is not None else file_voice_id(prompt)

    return EngineFacts(f"{kind}:{spec.model}:{checkpoint_id}", SAMPLE_RATE, info, voice_id)


def stored_voice_id(prompt: VoicePrompt, stored: Path) -> str:
    """A voice conditioned from a stored file: a library voice by its name and the file's digest."""
    digest = _digest(stored)
    return f"voice:{prompt.name}:{digest}" if prompt.name else f"conds:{digest}"


def file_voice_id(prompt: VoicePrompt) -> str:
    """A voice conditioned from its recording: the recording's digest."""
    return "file:" + _digest(prompt.path)


def stream_take(stream, tokens, generated: int | None, final: bool = True) -> Iterator[Piece]:
    """The pieces ``tokens`` complete in ``stream`` (a `s3gen_stream.TakeStream`); with ``final``, the take's last
    piece after them, carrying the whole take (``generated``: its speech tokens, stop token excluded)."""
    for audio in stream.pieces(tokens, final):
        yield Piece(audio, Synthesis(stream.audio, generated) if stream.finished else None)


def timed(steps: Iterator, timings: dict[str, float], stage: str) -> Iterator:
    """`steps`, each step's time (chatterbox's prints sent to stderr) added to ``timings[stage]``."""
    while True:
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(sys.stderr):
            item = next(steps, None)
        timings[stage] += time.perf_counter() - t0
        if item is None:
            return
        yield item


def with_exaggeration(t3_cond, value: float, device):
    """`t3_cond` with its emotion set to `value`, as `ChatterboxTTS.generate` (chatterbox-tts 0.1.7) updates it.

    The voice's own conditioning is left as it is: each chunk asks for its own exaggeration.
    """
    import torch
    from chatterbox.models.t3.modules.cond_enc import T3Cond

    if float(t3_cond.emotion_adv.flatten()[0]) == float(value):
        return t3_cond
    return T3Cond(
        speaker_emb=t3_cond.speaker_emb,
        cond_prompt_speech_tokens=t3_cond.cond_prompt_speech_tokens,
        emotion_adv=value * torch.ones(1, 1, 1),
    ).to(device=device)


def tokens_generated(row, stop_token: int) -> int:
    """Speech tokens T3 drew for one row, not counting a final stop token."""
    n = int(row.numel())
    return n - int(n > 0 and int(row[-1]) == stop_token)


def save_conditionals(conds, path: Path) -> None:
    """Write chatterbox `Conditionals` to `path`, atomically.

    Written through an open file: torch names the archive inside after a file name it is given, and a temporary
    name would make the same conditioning a different file each time (and its voice id with it).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        with open(tmp, "wb") as f:
            conds.save(f)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def _stamp(path: Path) -> tuple:
    """The file at ``path`` as it is now (device, inode, size, modified): a replaced recording stamps differently."""
    try:
        found = Path(path).stat()
    except OSError:
        return ()
    return found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns
