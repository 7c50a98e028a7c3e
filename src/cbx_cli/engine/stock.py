"""The real engine: Chatterbox models loaded through chatterbox-tts's own loaders.

torch and chatterbox are imported in `load()`, so the CLI starts fast and tests that need no
model never import them.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cbx_cli.engine.base import EngineSpec
from cbx_cli.engine.layers import t3_sized_to
from cbx_cli.errors import ModelError, VoiceError
from cbx_cli.plan.chunks import Chunk

if TYPE_CHECKING:
    from cbx_cli.voices.reference import VoiceRef

log = logging.getLogger(__name__)

SAMPLE_RATE = 24000

REPOS = {
    "original": "ResembleAI/chatterbox",
    "turbo": "ResembleAI/chatterbox-turbo",
    "multilingual": "ResembleAI/chatterbox",
}
FILES = {
    "original": ("ve.safetensors", "t3_cfg.safetensors", "s3gen.safetensors", "tokenizer.json", "conds.pt"),
    "turbo": ("ve.safetensors", "t3_turbo_v1.safetensors", "s3gen_meanflow.safetensors", "conds.pt"),
    "multilingual": (
        "ve.pt", "t3_mtl23ls_v2.safetensors", "s3gen.pt", "grapheme_mtl_merged_expanded_v1.json", "conds.pt",
    ),
}
T3_FILE = {m: files[1] for m, files in FILES.items()}

INSTALL_HINT = "Install the model extras with: pip install chatterbox-tts"


def _import_torch():
    os.environ.setdefault("TQDM_DISABLE", "1")  # chatterbox draws a tqdm bar per chunk; the CLI has its own
    try:
        import torch
    except ImportError:
        raise ModelError(f"PyTorch is not installed. {INSTALL_HINT}") from None
    return torch


def resolve_device(requested: str) -> tuple[str, str | None]:
    """The device to run on, and a one-line warning when that is a slow fallback."""
    torch = _import_torch()
    has_cuda = torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None)
    has_mps = bool(mps and mps.is_available())
    if requested == "cuda" and not has_cuda:
        raise ModelError("--device cuda: torch sees no CUDA GPU. Use --device auto or --device cpu.")
    if requested == "mps" and not has_mps:
        raise ModelError("--device mps: Apple MPS is not available here. Use --device auto or --device cpu.")
    if requested != "auto":
        return requested, None
    if has_cuda:
        return "cuda", None
    if has_mps:
        return "mps", None
    return "cpu", "No GPU found: running on the CPU, which is much slower."


def no_weights_message(model: str) -> str:
    return (
        f"Chatterbox {model} weights are not in the Hugging Face cache and the hub cannot be reached. "
        f"Connect once to download {REPOS[model]}, or pass --model-dir DIR (or set CBX_MODEL_DIR) "
        "with a checkpoint folder."
    )


class ChatterboxEngine:
    """One Chatterbox model, conditioned on one voice, synthesizing chunks one at a time as stock does."""

    sample_rate = SAMPLE_RATE

    def __init__(self, spec: EngineSpec):
        self.spec = spec
        self.model = None
        self.device = "cpu"
        self.device_warning: str | None = None
        self.checkpoint_id = ""
        self.voice_id = "builtin"
        self.last_token_counts: list[int] = []
        self._voices: dict[str, tuple[object, str]] = {}
        self.revision: str | None = None
        """The Hugging Face revision (commit) the weights came from, when loaded from the hub cache."""
        self._torch = None

    # -- loading -------------------------------------------------------------------------------

    def load(self) -> None:
        torch = self._torch = _import_torch()
        self.device, self.device_warning = resolve_device(self.spec.device)
        try:
            import chatterbox  # noqa: F401
        except ImportError as exc:
            raise ModelError(f"chatterbox-tts cannot be imported ({exc}). {INSTALL_HINT}") from None
        cls = self._model_class()
        chatter = io.StringIO()  # the loaders print progress notes; stdout may be carrying audio (-o -)
        with contextlib.redirect_stdout(chatter), torch.inference_mode():
            if self.spec.model_dir is not None:
                ckpt = self._local_dir(self.spec.model_dir)
                with t3_sized_to(ckpt / T3_FILE[self.spec.model]):
                    self.model = cls.from_local(ckpt, self.device)
            else:
                ckpt = self._cached_dir()
                with t3_sized_to(ckpt / T3_FILE[self.spec.model]):
                    if self.spec.revision:
                        self.model = cls.from_local(self._download(ckpt), self.device)
                    else:
                        self.model = cls.from_pretrained(self.device)
                self.revision = ckpt.name if ckpt.parent.name == "snapshots" else None
        self.checkpoint_id = checkpoint_identity(ckpt, FILES[self.spec.model])
        if chatter.getvalue().strip():
            log.debug("loader said: %s", chatter.getvalue().strip())
        if self.model.conds is None:
            log.info("checkpoint has no built-in voice (conds.pt)")

    def _model_class(self):
        if self.spec.model == "turbo":
            from chatterbox.tts_turbo import ChatterboxTurboTTS

            return ChatterboxTurboTTS
        if self.spec.model == "multilingual":
            from chatterbox.mtl_tts import ChatterboxMultilingualTTS

            return ChatterboxMultilingualTTS
        from chatterbox.tts import ChatterboxTTS

        return ChatterboxTTS

    def _local_dir(self, folder: Path) -> Path:
        folder = Path(folder).expanduser()
        if not folder.is_dir():
            raise ModelError(f"--model-dir '{folder}' is not a folder. Pass the folder that holds the checkpoint.")
        needed = [f for f in FILES[self.spec.model] if f != "conds.pt"]
        missing = [f for f in needed if not (folder / f).exists()]
        if missing:
            raise ModelError(
                f"--model-dir '{folder}' is not a Chatterbox {self.spec.model} checkpoint: "
                f"missing {', '.join(missing)}. Check --model matches the folder."
            )
        return folder

    def _cached_dir(self) -> Path:
        """Resolve the checkpoint folder in the Hugging Face cache (downloading it when online)."""
        from huggingface_hub import hf_hub_download

        repo = REPOS[self.spec.model]
        try:
            path = hf_hub_download(repo_id=repo, filename=T3_FILE[self.spec.model], revision=self.spec.revision)
        except Exception as exc:  # hub errors come in many classes: offline, missing, network, auth
            log.debug("weights lookup failed: %r", exc)
            if self.spec.revision and "revision" in str(exc).lower():
                raise ModelError(
                    f"Revision '{self.spec.revision}' of {repo} is not available. Check --revision."
                ) from None
            raise ModelError(no_weights_message(self.spec.model)) from None
        return Path(path).parent

    def _download(self, snapshot: Path) -> Path:
        """Every file of the model at the pinned --revision, in one snapshot folder of the cache."""
        from huggingface_hub import hf_hub_download

        repo = REPOS[self.spec.model]
        for name in FILES[self.spec.model]:
            try:
                hf_hub_download(repo_id=repo, filename=name, revision=self.spec.revision)
            except Exception as exc:  # conds.pt is optional; everything else must be there
                if name != "conds.pt":
                    log.debug("download of %s failed: %r", name, exc)
                    raise ModelError(no_weights_message(self.spec.model)) from None
        return snapshot

    # -- voice ---------------------------------------------------------------------------------

    def set_voice(self, voice: VoiceRef | Path | None, exaggeration: float = 0.5) -> None:
        """Condition on ``voice`` (None: the checkpoint's built-in voice).

        Conditioning is computed once per voice and kept, so switching between voices costs nothing; a
        library voice with stored conditioning for this checkpoint skips the computation altogether.
        """
        from cbx_cli.voices.reference import VoiceRef

        ref = voice if isinstance(voice, VoiceRef) or voice is None else VoiceRef(Path(voice))
        key = "builtin" if ref is None else str(ref.path)
        if key in self._voices:
            self.model.conds, self.voice_id = self._voices[key]
            return
        if ref is None:
            if self.model.conds is None:
                raise VoiceError("This checkpoint has no built-in voice (conds.pt). Pass --voice FILE.")
            self.voice_id = "builtin"
        else:
            self._condition(ref, exaggeration)
        self._voices[key] = (self.model.conds, self.voice_id)

    def _condition(self, ref: VoiceRef, exaggeration: float) -> None:
        from cbx_cli.voices.library import conds_path, stored_conditioning

        stored = stored_conditioning(ref.conds_dir, self.spec.model, self.checkpoint_id) if ref.conds_dir else None
        if stored is not None:
            self.load_conditioning(stored, voice_id=f"voice:{ref.name}:" + _digest(stored))
            return
        with contextlib.redirect_stdout(sys.stderr), self._torch.inference_mode():
            try:
                self.model.prepare_conditionals(str(ref.path), exaggeration=exaggeration)
            except AssertionError as exc:
                raise VoiceError(f"Voice file '{ref.path}' cannot be used: {exc}") from None
        self.voice_id = "file:" + _digest(ref.path)
        if ref.conds_dir is not None:
            self.save_conditioning(conds_path(ref.conds_dir, self.spec.model, self.checkpoint_id))

    def identity(self) -> str:
        return f"{type(self).__name__}:{self.spec.model}:{self.checkpoint_id}:{self.voice_id}"

    # -- synthesis -----------------------------------------------------------------------------

    def synthesize(self, chunks: Sequence[Chunk]) -> list[np.ndarray]:
        """One waveform per chunk; ``last_token_counts`` then holds each chunk's speech-token count."""
        waves, counts = [], []
        with contextlib.redirect_stdout(sys.stderr):
            for chunk in chunks:
                wav, n = self._one(chunk)
                waves.append(wav)
                counts.append(n)
        self.last_token_counts = counts
        return waves

    def _one(self, chunk: Chunk) -> tuple[np.ndarray, int]:
        """Exactly the work of stock `generate` for one chunk, with the chunk's seed and token budget."""
        torch = self._torch
        torch.manual_seed(chunk.seed)
        with torch.inference_mode():
            tokens, generated = self.speech_tokens(chunk)
            wav = self.decode(tokens)
        return wav, generated

    def speech_tokens(self, chunk: Chunk):
        """T3: text → (speech tokens for S3Gen, number generated), as stock generate does it, within budget."""
        torch = self._torch
        import torch.nn.functional as F

        m, p = self.model, chunk.params
        if self.spec.model == "turbo":
            from chatterbox.tts_turbo import punc_norm

            ids = m.tokenizer(punc_norm(chunk.spoken), return_tensors="pt", padding=True, truncation=True)
            tokens = m.t3.inference_turbo(
                t3_cond=m.conds.t3,
                text_tokens=ids.input_ids.to(self.device),
                temperature=p.temperature,
                top_k=p.top_k,
                top_p=p.top_p,
                repetition_penalty=p.repetition_penalty,
                max_gen_len=max(chunk.max_tokens - 1, 0),
            )
            return tokens[tokens < 6561], int(tokens.numel())
        self._set_exaggeration(p.exaggeration)
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
            t3_cond=m.conds.t3,
            text_tokens=text_tokens,
            max_new_tokens=chunk.max_tokens,
            temperature=p.temperature,
            cfg_weight=p.cfg_weight,
            repetition_penalty=p.repetition_penalty,
            min_p=p.min_p,
            top_p=p.top_p,
        )
        from chatterbox.models.s3tokenizer import drop_invalid_tokens

        generated = int(tokens.shape[-1])
        tokens = drop_invalid_tokens(tokens[0])
        return tokens[tokens < 6561], generated

    def decode(self, tokens) -> np.ndarray:
        """S3Gen: speech tokens → waveform, then Chatterbox's watermark."""
        torch = self._torch
        m = self.model
        tokens = tokens.to(self.device)
        if self.spec.model == "turbo":
            from chatterbox.models.s3gen.const import S3GEN_SIL

            silence = torch.tensor([S3GEN_SIL] * 3, dtype=torch.long, device=self.device)
            tokens = torch.cat([tokens, silence])
            wav, _ = m.s3gen.inference(speech_tokens=tokens, ref_dict=m.conds.gen, n_cfm_timesteps=2)
        elif tokens.numel() == 0:
            return np.zeros(0, dtype=np.float32)
        else:
            wav, _ = m.s3gen.inference(speech_tokens=tokens, ref_dict=m.conds.gen)
        wav = wav.squeeze(0).detach().float().cpu().numpy()
        marked = m.watermarker.apply_watermark(wav, sample_rate=self.sample_rate)
        return np.ascontiguousarray(marked, dtype=np.float32)

    def _set_exaggeration(self, value: float) -> None:
        from chatterbox.models.t3.modules.cond_enc import T3Cond

        cond = self.model.conds.t3
        if float(cond.emotion_adv.flatten()[0]) != float(value):
            self.model.conds.t3 = T3Cond(
                speaker_emb=cond.speaker_emb,
                cond_prompt_speech_tokens=cond.cond_prompt_speech_tokens,
                emotion_adv=value * self._torch.ones(1, 1, 1),
            ).to(device=self.device)

    # -- stored conditioning -------------------------------------------------------------------

    def save_conditioning(self, path: Path) -> None:
        """Write the current voice conditioning (``model.conds``) to ``path``, atomically."""
        if self.model is None or self.model.conds is None:
            raise VoiceError("There is no voice conditioning to store: load the model and set a voice first.")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
        try:
            self.model.conds.save(tmp)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    def load_conditioning(self, path: Path, voice_id: str | None = None) -> None:
        """Use conditioning stored by `save_conditioning` instead of computing it from a recording.

        ``voice_id`` names the voice in `identity()` (cache keys); by default, a hash of the stored file.
        """
        if self.spec.model == "turbo":
            from chatterbox.tts_turbo import Conditionals
        elif self.spec.model == "multilingual":
            from chatterbox.mtl_tts import Conditionals
        else:
            from chatterbox.tts import Conditionals
        path = Path(path)
        try:
            conds = Conditionals.load(path, map_location="cpu").to(self.device)
        except Exception as exc:  # torch raises many kinds for a truncated or foreign file
            log.debug("cannot load conditioning %s: %r", path, exc)
            raise VoiceError(
                f"Stored voice conditioning '{path}' cannot be read. Delete it, or add the voice again with "
                "cbx voices add NAME FILE --replace."
            ) from None
        self.model.conds = conds
        self.voice_id = voice_id or "conds:" + hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def checkpoint_identity(folder: Path, files: Sequence[str]) -> str:
    """A short fingerprint of a checkpoint: names, sizes and modification times of its files."""
    h = hashlib.sha256()
    for name in files:
        path = folder / name
        if path.exists():
            st = path.stat()
            h.update(f"{name}:{st.st_size}:{int(st.st_mtime)};".encode())
    return h.hexdigest()[:16]
