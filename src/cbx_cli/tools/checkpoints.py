"""Chatterbox checkpoints with random weights, in Chatterbox's exact file layout: for tests and `cbx bench`.

These builders write what the published repos hold, file for file, so the checkpoints load through chatterbox's
own `from_local` / `from_pretrained` and cbx's engines exactly as real weights do. The tests (which cannot reach
the Hugging Face hub) cut T3's transformer down to `layers` layers (hidden size stays 1024; loading then needs
`cbx_cli.engine.layers.t3_sized_to`, which the engines use); `cbx bench` builds the full size (`layers=None`),
since the architecture, not the weights, sets the speed. VoiceEncoder and S3Gen are always full size.

Everything is seeded, so a build is reproducible. Random weights never emit the stop token:
generation from these checkpoints must always run on a token budget.

torch and chatterbox are imported inside the functions, so importing this module is cheap.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from cbx_cli.engine.layers import llama_layers

SEED = 1234
VOICE_SR = 24000

# EnTokenizer (chatterbox/models/tokenizers/tokenizer.py): the special tokens, and the ids T3Config
# pads with (stop_text_token=0, start_text_token=255). T3's English text vocab is 704.
EN_SPECIAL_IDS = {"[STOP]": 0, "[UNK]": 1, "[SPACE]": 2, "[START]": 255}
EN_OTHER_SPECIALS = ["[PAD]", "[SEP]", "[CLS]", "[MASK]"]
EN_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?;:'\"-()[]{}/&%$#@*+=<>_~`|\\^"
EN_TEXT_VOCAB = 704
TURBO_TEXT_VOCAB = 50276
TURBO_EOS = "<|endoftext|>"


# -- synthetic voice ------------------------------------------------------------------------------


def synthetic_voice(seconds: float = 6.0, sr: int = VOICE_SR, seed: int = SEED) -> np.ndarray:
    """A deterministic voice-like mono signal (float32 in [-1, 1]).

    A harmonic tone (f0 ~ 130 Hz, 5.5 Hz vibrato, slow pitch drift, 1/k harmonic roll-off) shaped
    by a ~4 Hz syllable envelope, plus a little noise.
    """
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sr))
    t = np.arange(n, dtype=np.float64) / sr
    f0 = 130.0 * (1.0 + 0.08 * np.sin(2 * np.pi * 0.3 * t)) * (1.0 + 0.02 * np.sin(2 * np.pi * 5.5 * t))
    phase = 2 * np.pi * np.cumsum(f0) / sr
    top = int(min(30, (sr / 2) // 160))
    voiced = sum(np.sin(k * phase + k * 0.7) / k for k in range(1, top + 1))
    syllables = 0.55 + 0.45 * np.sin(2 * np.pi * 3.9 * t + 0.6 * np.sin(2 * np.pi * 0.7 * t))
    fade = np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.05) if n > 1 else np.ones(n)
    wav = voiced * syllables * fade
    wav = 0.5 * wav / (np.abs(wav).max() or 1.0)
    wav = wav + 0.005 * rng.standard_normal(n)
    return np.clip(wav, -1.0, 1.0).astype(np.float32)


def write_voice_wav(path: Path, seconds: float = 6.0, sr: int = VOICE_SR) -> Path:
    """Write `synthetic_voice(seconds, sr)` as a 16-bit PCM wav; returns `path`."""
    import soundfile as sf

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), synthetic_voice(seconds, sr), sr, subtype="PCM_16")
    return path


# -- helpers --------------------------------------------------------------------------------------


def _seed(offset: int) -> None:
    import torch

    torch.manual_seed(SEED + offset)


def _save(module_or_state, path: Path) -> None:
    """safetensors.torch.save_file of a module's (or a) state dict, tensors made contiguous."""
    from safetensors.torch import save_file

    state = module_or_state if isinstance(module_or_state, dict) else module_or_state.state_dict()
    save_file({k: v.detach().contiguous() for k, v in state.items()}, str(path))


_CACHE: dict[str, object] = {}


def random_s3gen():
    """A seeded, full-size random `S3Gen(meanflow=True)` (float32, eval), built once per process.

    `S3Gen()` and `S3Gen(meanflow=True)` differ by one tensor
    (`flow.decoder.estimator.time_embed_mixer.weight`), so both checkpoints come from this one
    build, and so do the built-in voices (the reference embedding does not use the flow decoder).
    """
    if "s3gen" not in _CACHE:
        from chatterbox.models.s3gen import S3Gen

        _seed(3)
        _CACHE["s3gen"] = S3Gen(meanflow=True).eval()
    return _CACHE["s3gen"]


def s3gen_state(meanflow: bool = False) -> dict:
    """The state dict that `S3Gen(meanflow=meanflow).load_state_dict(..., strict=True)` accepts."""
    state = {k: v.detach().contiguous() for k, v in random_s3gen().state_dict().items()}
    if not meanflow:
        state = {k: v for k, v in state.items() if "time_embed_mixer" not in k}
    return state


def _voice_encoder(dir: Path, name: str = "ve.safetensors"):
    """The seeded VoiceEncoder, written as `name` (.safetensors, or a torch .pt state dict)."""
    import torch
    from chatterbox.models.voice_encoder import VoiceEncoder

    _seed(1)
    ve = VoiceEncoder().eval()
    if name.endswith(".pt"):
        torch.save(ve.state_dict(), dir / name)
    else:
        _save(ve, dir / name)
    return ve


def builtin_conds(seconds: float = 6.0, ref_seconds: float = 1.0, exaggeration: float = 0.5):
    """The built-in voice (conds.pt) for the seeded VoiceEncoder and S3Gen, computed once per process.

    `ChatterboxTTS.prepare_conditionals` (chatterbox-tts 0.1.7), on `synthetic_voice(seconds)` instead of a wav file: T3
    prompt tokens (25/s, at most 150 as the original model asks; 6 s gives 150) and the
    VoiceEncoder speaker embedding come from its 16 kHz resampling. (Turbo's prepare_conditionals
    would allow 375 prompt tokens, but from a 6 s voice it makes 150 as well.)

    The S3Gen reference (`embed_ref`) uses only the first `ref_seconds` (stock: up to 10 s). S3Gen's
    flow decoder runs over reference + new mel frames at every CFM step, so on a CPU the reference
    length dominates the cost of a chunk: 1 s is ~4x cheaper than 6 s.
    """
    import copy

    key = f"conds-{seconds}-{ref_seconds}-{exaggeration}"
    if key not in _CACHE:
        import librosa
        import torch
        from chatterbox.models.s3gen import S3GEN_SR
        from chatterbox.models.s3tokenizer import S3_SR
        from chatterbox.models.t3.modules.cond_enc import T3Cond
        from chatterbox.models.voice_encoder import VoiceEncoder
        from chatterbox.tts import Conditionals

        _seed(1)
        ve = VoiceEncoder().eval()
        s3gen = random_s3gen()
        wav24 = synthetic_voice(seconds, S3GEN_SR)
        wav16 = librosa.resample(wav24, orig_sr=S3GEN_SR, target_sr=S3_SR)
        _seed(4)
        with torch.no_grad():
            gen = s3gen.embed_ref(wav24[: int(min(ref_seconds, 10.0) * S3GEN_SR)], S3GEN_SR, device="cpu")
            tokens, _ = s3gen.tokenizer.forward([wav16[: 6 * S3_SR]], max_len=150)
            embeds = ve.embeds_from_wavs([wav16], sample_rate=S3_SR)
        t3_cond = T3Cond(
            speaker_emb=torch.from_numpy(embeds).mean(axis=0, keepdim=True),
            cond_prompt_speech_tokens=torch.atleast_2d(tokens),
            emotion_adv=exaggeration * torch.ones(1, 1, 1),
        )
        _CACHE[key] = Conditionals(t3_cond, gen)
    return copy.deepcopy(_CACHE[key])


# -- tokenizers -----------------------------------------------------------------------------------


def en_tokenizer_json(path: Path, chars: str = EN_CHARS, specials: tuple[str, ...] = ()) -> Path:
    """A character-level tokenizer.json that chatterbox's EnTokenizer loads (all ids < 704); `chars` and
    `specials` add characters and special tokens (the multilingual tokenizer's)."""
    from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers

    vocab = dict(EN_SPECIAL_IDS)
    free = (i for i in range(EN_TEXT_VOCAB) if i not in vocab.values())
    for tok in EN_OTHER_SPECIALS + list(specials) + list(dict.fromkeys(chars)):
        vocab.setdefault(tok, next(free))
    while (i := next(free)) < EN_SPECIAL_IDS["[START]"]:  # no holes below [START]: tokenizers warns
        vocab[f"<unused{i}>"] = i
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    added = [*EN_SPECIAL_IDS, *EN_OTHER_SPECIALS, *specials]
    tokenizer.add_special_tokens([AddedToken(t, special=True) for t in added])
    assert max(tokenizer.get_vocab().values()) < EN_TEXT_VOCAB
    tokenizer.save(str(path))
    return path


def turbo_tokenizer(dir: Path) -> None:
    """A byte-level BPE (GPT-2 style, 257 ids) that `AutoTokenizer.from_pretrained(dir)` loads offline."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {c: i for i, c in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    vocab[TURBO_EOS] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(TURBO_EOS, special=True)])
    assert max(tok.get_vocab().values()) < TURBO_TEXT_VOCAB
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=TURBO_EOS,
        eos_token=TURBO_EOS,
        unk_token=TURBO_EOS,
        model_max_length=1024,
    )
    fast.save_pretrained(str(dir))


# -- builders -------------------------------------------------------------------------------------


def build_original(dir: Path, layers: int | None = 2) -> Path:
    """Chatterbox (original, English) as `ChatterboxTTS.from_local` reads it; returns `dir`.

    ve.safetensors, t3_cfg.safetensors (Llama_520M cut to `layers` layers; None: all 30), s3gen.safetensors
    (full S3Gen, float32), tokenizer.json, conds.pt (`builtin_conds()`: synthetic voice,
    exaggeration 0.5, 150 T3 prompt tokens, 1 s S3Gen reference).
    Load it inside `t3_sized_to(dir / "t3_cfg.safetensors")`.
    """
    dir = Path(dir)
    return _build(dir, "t3_cfg.safetensors", ("Llama_520M", "num_hidden_layers", layers), None,
                  "s3gen.safetensors", lambda: en_tokenizer_json(dir / "tokenizer.json"))


def build_multilingual(dir: Path, layers: int | None = 14) -> Path:
    """Chatterbox multilingual as `ChatterboxMultilingualTTS.from_local` reads it; returns `dir`.

    ve.pt, t3_mtl23ls_v2.safetensors (Llama_520M with the 2454-token text vocabulary, cut to `layers` layers: stock
    multilingual inference watches attention heads of layers 9, 12 and 13, so at least 14), s3gen.pt (full S3Gen),
    grapheme_mtl_merged_expanded_v1.json (characters, NFKD's combining accents and a `[xx]` token per supported
    language), conds.pt (`builtin_conds()`). Load it inside `t3_sized_to(dir / "t3_mtl23ls_v2.safetensors")`.
    """
    import torch
    from chatterbox.models.t3 import T3
    from chatterbox.models.t3.modules.t3_config import T3Config
    from chatterbox.mtl_tts import SUPPORTED_LANGUAGES

    dir = Path(dir)
    dir.mkdir(parents=True, exist_ok=True)
    _voice_encoder(dir, "ve.pt")
    with llama_layers("Llama_520M", "num_hidden_layers", layers):
        _seed(2)
        t3 = T3(T3Config.multilingual())
    _save(t3, dir / "t3_mtl23ls_v2.safetensors")
    del t3
    torch.save(s3gen_state(meanflow=False), dir / "s3gen.pt")
    accents = "".join(chr(c) for c in range(0x300, 0x370))
    en_tokenizer_json(dir / "grapheme_mtl_merged_expanded_v1.json", EN_CHARS.lower() + accents,
                      tuple(f"[{code}]" for code in SUPPORTED_LANGUAGES))
    builtin_conds().save(dir / "conds.pt")
    return dir


def turbo_hp():
    """The T3Config that `ChatterboxTurboTTS.from_local` builds (copied from chatterbox-tts 0.1.7's tts_turbo.py)."""
    from chatterbox.models.t3.modules.t3_config import T3Config

    hp = T3Config(text_tokens_dict_size=TURBO_TEXT_VOCAB)
    hp.llama_config_name = "GPT2_medium"
    hp.speech_tokens_dict_size = 6563
    hp.input_pos_emb = None
    hp.speech_cond_prompt_len = 375
    hp.use_perceiver_resampler = False
    hp.emotion_adv = False
    return hp


def build_turbo(dir: Path, layers: int | None = 2) -> Path:
    """Chatterbox-Turbo as `ChatterboxTurboTTS.from_local` reads it; returns `dir`.

    ve.safetensors, t3_turbo_v1.safetensors (GPT2_medium cut to `layers` layers; None: all 24),
    s3gen_meanflow.safetensors (full S3Gen(meanflow=True), loaded strictly), tokenizer.json +
    tokenizer_config.json (257-id byte-level BPE; from_local prints a warning that its length is
    not 50276), conds.pt (`builtin_conds()`, the same voice as the original model's).
    Load it inside `t3_sized_to(dir / "t3_turbo_v1.safetensors")`.
    """
    dir = Path(dir)
    return _build(dir, "t3_turbo_v1.safetensors", ("GPT2_medium", "n_layer", layers), turbo_hp(),
                  "s3gen_meanflow.safetensors", lambda: turbo_tokenizer(dir))


def _build(dir: Path, t3_file: str, size: tuple[str, str, int | None], hp, s3gen_file: str, tokenizer) -> Path:
    """The files every checkpoint has: voice encoder, T3 (`hp`, sized by `size`), S3Gen, tokenizer, built-in voice."""
    from chatterbox.models.t3 import T3
    from safetensors.torch import save_file

    dir.mkdir(parents=True, exist_ok=True)
    _voice_encoder(dir)
    with llama_layers(*size):
        _seed(2)
        t3 = T3(hp)
    _save(t3, dir / t3_file)
    del t3
    save_file(s3gen_state(meanflow=s3gen_file == "s3gen_meanflow.safetensors"), str(dir / s3gen_file))
    tokenizer()
    builtin_conds().save(dir / "conds.pt")
    return dir


# -- Hugging Face cache ---------------------------------------------------------------------------


def fill_hf_cache(cache_dir: Path, repo_id: str, files_dir: Path, revision: str = "0" * 40) -> Path:
    """Lay out `files_dir`'s files as huggingface_hub's cache holds `repo_id`; returns the snapshot dir.

    Layout: `cache_dir/models--{org}--{name}/snapshots/{revision}/{file}` (symlinks to the files,
    copies where symlinks are not possible) and `refs/main` containing `revision`. With offline mode
    on, `hf_hub_download(repo_id, filename)` and `snapshot_download(repo_id)` then resolve to the
    snapshot without any network access.

    huggingface_hub reads HF_HOME / HF_HUB_CACHE / HF_HUB_OFFLINE once, when it is first imported,
    into `huggingface_hub.constants`; hf_hub_download, snapshot_download and transformers read those
    attributes at call time. So in a test, either set the env vars before huggingface_hub is
    imported, or (always works) patch the constants:

        monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache_dir))
        monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)

    `cache_dir` is the hub cache itself (HF_HUB_CACHE, i.e. `$HF_HOME/hub`), not HF_HOME.
    """
    cache_dir, files_dir = Path(cache_dir), Path(files_dir)
    repo_dir = cache_dir / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo_dir / "snapshots" / revision
    snapshot.mkdir(parents=True, exist_ok=True)
    (repo_dir / "refs").mkdir(exist_ok=True)
    (repo_dir / "refs" / "main").write_text(revision)
    for src in sorted(files_dir.iterdir()):
        if not src.is_file():
            continue
        dst = snapshot / src.name
        if dst.exists() or dst.is_symlink():
            dst.unlink()
        try:
            os.symlink(src.resolve(), dst)
        except OSError:
            shutil.copy2(src, dst)
    return snapshot


def manifest(dir: Path) -> dict[str, int]:
    """File name -> size in bytes, for a quick look at a built checkpoint."""
    return {p.name: p.stat().st_size for p in sorted(Path(dir).iterdir()) if p.is_file()}


if __name__ == "__main__":  # python -m cbx_cli.tools.checkpoints OUT_DIR [LAYERS|full]: build both, print timings
    import sys
    import time

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "tiny-checkpoints")
    size = sys.argv[2] if len(sys.argv) > 2 else "2"
    for name, build in (("original", build_original), ("turbo", build_turbo)):
        t0 = time.perf_counter()
        build(out / name, layers=None if size == "full" else int(size))
        print(name, f"{time.perf_counter() - t0:.1f}s", json.dumps(manifest(out / name)))
