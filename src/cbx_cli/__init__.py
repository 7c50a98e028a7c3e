"""cbx: narrate text and Markdown scripts with Chatterbox TTS, in batch.

The library in a few names (imported on first use, so `import cbx_cli` stays instant)::

    import cbx_cli as cbx

    narrator = cbx.Narrator(model="original", device="auto")      # the model loads once, on first use
    narration = narrator.narrate("Your order has shipped.", cbx.Options(preset="agent"))
    cbx.export(narration, "notice.wav")                           # atomically; the format from the extension

    script, name = cbx.load_script("chapter.md")
    job = narrator.prepare(script, cbx.Options(preset="audiobook", voice="narrator.wav"), source_name=name)
    for take in narrator.iter_takes(job):                         # takes in order, as they are ready
        ...
    for piece in narrator.stream(job):                            # audio as it is made, a piece at a time
        ...
"""

from __future__ import annotations

__version__ = "0.1.0"

_PUBLIC = {
    "Narrator": "cbx_cli.api",
    "Narration": "cbx_cli.api",
    "AudioPiece": "cbx_cli.api",
    "Job": "cbx_cli.api",
    "Options": "cbx_cli.api",
    "prepare": "cbx_cli.api",
    "retake": "cbx_cli.api",
    "Retakes": "cbx_cli.api",
    "plan_script": "cbx_cli.api",
    "assemble": "cbx_cli.api",
    "load_script": "cbx_cli.api",
    "ReadingOptions": "cbx_cli.api",
    "script_from_text": "cbx_cli.api",
    "export": "cbx_cli.api",
    "manifest": "cbx_cli.api",
    "write_manifest": "cbx_cli.api",
    "write_subtitles": "cbx_cli.api",
    "Delivery": "cbx_cli.api",
    "Take": "cbx_cli.api",
    "Progress": "cbx_cli.api",
    "RenderInterrupted": "cbx_cli.api",
    "CbxError": "cbx_cli.errors",
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str):
    if name in _PUBLIC:
        import importlib

        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'cbx_cli' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
