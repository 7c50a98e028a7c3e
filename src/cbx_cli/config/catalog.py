"""Every model a command can need, by the name `cbx models` and the error messages give it: the Chatterbox models
(`--model`) and the speech recognition models that hear takes (`--verify`). Plain data: where each lives on the
Hugging Face hub, which of its files cbx fetches and needs, and about how big they are.
"""

from __future__ import annotations

from dataclasses import dataclass

CHATTERBOX = "Chatterbox"
SPEECH = "speech recognition"


@dataclass(frozen=True)
class ModelEntry:
    name: str
    """What `cbx models pull` takes: a `--model` value or a `--verify-model` name."""
    kind: str
    """`CHATTERBOX` or `SPEECH`."""
    repo: str
    """The Hugging Face repository."""
    files: tuple[str, ...]
    """The files (or patterns) fetched: one snapshot download with these as its allowed patterns."""
    required: tuple[str, ...]
    """The files that must be there for the model to load."""
    size: int
    """About how many bytes the files take (for a model not yet fetched)."""
    what: str


CHATTERBOX_FILES = {
    "original": ("ve.safetensors", "t3_cfg.safetensors", "s3gen.safetensors", "tokenizer.json", "conds.pt"),
    "turbo": ("ve.safetensors", "t3_turbo_v1.safetensors", "s3gen_meanflow.safetensors", "conds.pt"),
    "multilingual": (
        "ve.pt", "t3_mtl23ls_v2.safetensors", "s3gen.pt", "grapheme_mtl_merged_expanded_v1.json", "conds.pt",
    ),
}
"""Each Chatterbox model's files; conds.pt (the built-in voice) is the only one it loads without."""
TURBO_TOKENIZER = ("*.json", "*.txt", "*.model")
"""Turbo's text tokenizer is a Hugging Face one that `AutoTokenizer.from_pretrained` reads from the checkpoint
folder, its files named as its kind names them: fetched by the patterns `ChatterboxTurboTTS.from_pretrained` uses
(chatterbox-tts 0.1.7), not by name."""
CHATTERBOX_REPOS = {
    "original": "ResembleAI/chatterbox",
    "turbo": "ResembleAI/chatterbox-turbo",
    "multilingual": "ResembleAI/chatterbox",
}
WHISPER_FILES = ("config.json", "preprocessor_config.json", "model.bin", "tokenizer.json", "vocabulary.*")
"""What faster-whisper's `download_model` fetches of a model (its allowed patterns)."""

GB, MB = 10**9, 10**6
CATALOG: dict[str, ModelEntry] = {
    "original": ModelEntry("original", CHATTERBOX, CHATTERBOX_REPOS["original"], CHATTERBOX_FILES["original"],
                           CHATTERBOX_FILES["original"][:-1], int(3.2 * GB), "Chatterbox, English (--model original)"),
    "turbo": ModelEntry("turbo", CHATTERBOX, CHATTERBOX_REPOS["turbo"],
                        CHATTERBOX_FILES["turbo"] + TURBO_TOKENIZER, CHATTERBOX_FILES["turbo"][:-1], int(3.0 * GB),
                        "Chatterbox-Turbo, English (--model turbo)"),
    "multilingual": ModelEntry("multilingual", CHATTERBOX, CHATTERBOX_REPOS["multilingual"],
                               CHATTERBOX_FILES["multilingual"], CHATTERBOX_FILES["multilingual"][:-1],
                               int(3.2 * GB), "Chatterbox, 23 languages (--model multilingual)"),
    "base.en": ModelEntry("base.en", SPEECH, "Systran/faster-whisper-base.en", WHISPER_FILES, ("model.bin",),
                          145 * MB, "hears every take of English text (--verify)"),
    "small.en": ModelEntry("small.en", SPEECH, "Systran/faster-whisper-small.en", WHISPER_FILES, ("model.bin",),
                           484 * MB, "hears again the English takes base.en fails (--verify)"),
    "base": ModelEntry("base", SPEECH, "Systran/faster-whisper-base", WHISPER_FILES, ("model.bin",), 145 * MB,
                       "hears every take of other languages (--verify)"),
    "small": ModelEntry("small", SPEECH, "Systran/faster-whisper-small", WHISPER_FILES, ("model.bin",), 484 * MB,
                        "hears again the takes base fails (--verify)"),
}


def speech_entry(name: str) -> ModelEntry:
    """The catalog's entry for a faster-whisper model name, or one made for another name or repository
    (``tiny.en`` → Systran/faster-whisper-tiny.en), as faster-whisper names them."""
    if name in CATALOG and CATALOG[name].kind == SPEECH:
        return CATALOG[name]
    repo = name if "/" in name else f"Systran/faster-whisper-{name}"
    return ModelEntry(name, SPEECH, repo, WHISPER_FILES, ("model.bin",), 0, "speech recognition (--verify-model)")


def entry(name: str) -> ModelEntry | None:
    """The model a name (or a repository id) gives, or None."""
    if name in CATALOG:
        return CATALOG[name]
    found = [e for e in CATALOG.values() if e.repo.lower() == name.lower()]
    if len(found) == 1:
        return found[0]
    return speech_entry(name) if name.startswith("Systran/faster-whisper-") else None


def size_text(size: int) -> str:
    """Bytes as a person reads them: 3.2 GB, 145 MB, 12 kB."""
    for unit, scale in (("GB", GB), ("MB", MB), ("kB", 10**3)):
        if size >= scale:
            value = size / scale
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    return f"{size} B"


def missing_message(names: list[str] | tuple[str, ...], revision: str | None = None, verify: bool = False) -> str:
    """One line naming every model in ``names`` that is neither cached nor fetchable now, with the one `cbx models
    pull` command that fetches them all (``revision``: the pinned Chatterbox revision, written NAME@REVISION);
    ``verify``: some of them only check takes, so --no-verify runs without them."""
    entries = [entry(name) or speech_entry(name) for name in dict.fromkeys(names)]
    kinds = dict.fromkeys(e.kind for e in entries)
    listed = "; ".join(kind + " " + ", ".join(
        f"{e.name} ({e.repo}" + (f", about {size_text(e.size)})" if e.size else ")") for e in entries if e.kind == kind)
        for kind in kinds)
    pulled = " ".join(e.name + (f"@{revision}" if revision and e.kind == CHATTERBOX else "") for e in entries)
    them = "it" if len(entries) == 1 else "them"
    text = (f"Not in the Hugging Face cache, and the hub cannot be reached: {listed}. Fetch {them} with: cbx models "
            f"pull {pulled} (for a machine without the network: add --to DIR on "
            "one that has it, then cbx models pull --from DIR here)")
    if any(e.kind == CHATTERBOX for e in entries):
        text += "; or pass --model-dir DIR with a checkpoint folder"
    if verify:
        text += "; or run without checking takes: --no-verify (or hear them with --verify-model FOLDER)"
    return text + "."
