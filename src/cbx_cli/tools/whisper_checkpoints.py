"""A Whisper model with random weights in faster-whisper's own folder layout: for tests and measurements.

The folder holds what the published CTranslate2 conversions (Systran/faster-whisper-*) hold: ``model.bin``,
``config.json``, ``vocabulary.json``, ``tokenizer.json`` and ``preprocessor_config.json``, so it loads through
`faster_whisper.WhisperModel` exactly as downloaded weights do. The weights come from a small random
`transformers.WhisperForConditionalGeneration` converted by CTranslate2's own Whisper converter
(`ctranslate2.converters.transformers.WhisperLoader`, ctranslate2 4.x). The vocabulary is English-only: the 256
byte tokens of a byte-level BPE without merges, Whisper's special tokens, then its 1501 timestamp tokens, in the
order faster-whisper's `Tokenizer` expects (text tokens below ``<|endoftext|>``, timestamps right after
``<|notimestamps|>``).

Random weights transcribe noise as any text at all: tests judge the code path (it loads, transcribes, returns
timed words), never the words. Heavy imports are inside the functions.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

SEED = 1234
SPECIALS = ["<|endoftext|>", "<|startoftranscript|>", "<|translate|>", "<|transcribe|>", "<|startoflm|>",
            "<|startofprev|>", "<|nocaptions|>", "<|notimestamps|>"]
TIMESTAMPS = 1501
"""<|0.00|> to <|30.00|>, one per 20 ms."""


def _byte_tokens() -> list[str]:
    """GPT-2's byte-to-character table, as byte-level BPE tokenizers write their 256 base tokens."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), 256))
    chars = {b: chr(b) for b in keep}
    extra = 0
    for b in range(256):
        if b not in chars:
            chars[b] = chr(256 + extra)
            extra += 1
    return [chars[b] for b in range(256)]


def vocabulary() -> list[str]:
    """Every token, in id order."""
    return _byte_tokens() + SPECIALS + [f"<|{i * 0.02:.2f}|>" for i in range(TIMESTAMPS)]


def _tokenizer_json(tokens: list[str]) -> dict:
    """A `tokenizers` byte-level BPE (no merges: every byte is its own token) with Whisper's special tokens."""
    vocab = {t: i for i, t in enumerate(tokens)}
    added = [{"id": vocab[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for t in tokens[256:]]
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "vocab": vocab, "merges": []},
    }


def build_whisper(dir: Path, d_model: int = 64, layers: int = 2, heads: int = 2) -> Path:
    """Write a random Whisper (80 mel bins, ``layers`` encoder and decoder layers) into ``dir``; returns ``dir``."""
    import ctranslate2.converters.transformers as ct
    import torch
    from transformers import WhisperConfig, WhisperForConditionalGeneration

    tokens = vocabulary()
    eot, sot, notimestamps = (tokens.index(t) for t in ("<|endoftext|>", "<|startoftranscript|>", "<|notimestamps|>"))
    config = WhisperConfig(
        vocab_size=len(tokens), num_mel_bins=80, d_model=d_model, encoder_layers=layers, decoder_layers=layers,
        encoder_attention_heads=heads, decoder_attention_heads=heads, encoder_ffn_dim=4 * d_model,
        decoder_ffn_dim=4 * d_model, max_source_positions=1500, max_target_positions=448, pad_token_id=eot,
        bos_token_id=eot, eos_token_id=eot, decoder_start_token_id=sot,
    )
    torch.manual_seed(SEED)
    model = WhisperForConditionalGeneration(config).eval()
    model.generation_config.suppress_tokens = []
    model.generation_config.begin_suppress_tokens = [eot]
    model.generation_config.no_timestamps_token_id = notimestamps
    vocab = {t: i for i, t in enumerate(tokens)}
    spec = ct.WhisperLoader()(model, SimpleNamespace(get_vocab=lambda: vocab, additional_special_tokens=[]))
    spec.validate()
    spec.optimize(quantization=None)
    dir = Path(dir)
    dir.mkdir(parents=True, exist_ok=True)
    spec.save(str(dir))
    (dir / "tokenizer.json").write_text(json.dumps(_tokenizer_json(tokens), ensure_ascii=False), encoding="utf-8")
    (dir / "preprocessor_config.json").write_text(json.dumps({
        "feature_size": 80, "sampling_rate": 16000, "hop_length": 160, "chunk_length": 30, "n_fft": 400,
    }), encoding="utf-8")
    return dir
