"""The names every layer shares: Chatterbox models, devices, the multilingual model's languages.

Plain data, no heavy imports: the CLI's options, the script parser's directives and the engines all read
their choices from here.
"""

from __future__ import annotations

from enum import Enum


class Model(str, Enum):
    """The Chatterbox models."""

    original = "original"
    turbo = "turbo"
    multilingual = "multilingual"


class Device(str, Enum):
    """Where to run; auto picks CUDA, then MPS, then the CPU."""

    auto = "auto"
    cuda = "cuda"
    mps = "mps"
    cpu = "cpu"


MODELS = tuple(m.value for m in Model)
DEVICES = tuple(d.value for d in Device)

LANGUAGES = {
    "ar": "Arabic", "da": "Danish", "de": "German", "el": "Greek", "en": "English", "es": "Spanish",
    "fi": "Finnish", "fr": "French", "he": "Hebrew", "hi": "Hindi", "it": "Italian", "ja": "Japanese",
    "ko": "Korean", "ms": "Malay", "nl": "Dutch", "no": "Norwegian", "pl": "Polish", "pt": "Portuguese",
    "ru": "Russian", "sv": "Swedish", "sw": "Swahili", "tr": "Turkish", "zh": "Chinese",
}
"""The 23 languages of Chatterbox's multilingual model."""

MODEL_DIR_ENV = "CBX_MODEL_DIR"
"""Environment variable naming a checkpoint folder, as --model-dir does."""


def check_language(model: str, language: str | None) -> str | None:
    """The language code to use with ``model`` (lower-cased), or a ParamError saying what to pass."""
    from cbx_cli.errors import ParamError

    if model == Model.multilingual.value:
        if not language:
            raise ParamError("--model multilingual needs --language CODE, one of: " + ", ".join(LANGUAGES) + ".")
        if language.lower() not in LANGUAGES:
            raise ParamError(f"Unknown --language '{language}'. Use one of: {', '.join(LANGUAGES)}.")
        return language.lower()
    if language:
        raise ParamError("--language applies only to --model multilingual.")
    return None
