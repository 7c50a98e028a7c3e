"""`--voice` resolution: a URL, a file or a library voice name → a checked VoicePrompt."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cbx_cli.config.names import VOICE_NAME_RE, is_url
from cbx_cli.engine.base import VoicePrompt
from cbx_cli.errors import VoiceError, cut
from cbx_cli.voices.audio import check_voice
from cbx_cli.voices.fetch import fetch_voice
from cbx_cli.voices.library import get_voice, list_voices


def resolve_voice(arg: str | None, model: str) -> VoicePrompt | None:
    """What ``--voice`` names: an http(s) URL, an existing file, or a voice in the library; None for none."""
    if arg is None:
        return None
    if is_url(arg):
        return VoicePrompt(fetch_voice(arg, model=model))
    path = Path(arg).expanduser()
    if path.exists():
        check_voice(path, model)
        return VoicePrompt(path)
    if VOICE_NAME_RE.fullmatch(arg):
        voice = get_voice(arg)
        if voice is None:
            raise VoiceError(
                f"Unknown voice '{arg}': not a file and not in your voice library. "
                f"Add it with: cbx voices add {arg} FILE"
            )
        check_voice(voice.reference, model)
        return VoicePrompt(voice.reference, voice.name)
    check_voice(path, model)  # raises: it does not exist
    return VoicePrompt(path)


def library_voice(arg: str | None, model: str, roots: Sequence[Path] | None = None) -> VoicePrompt | None:
    """A voice library name, and nothing else (no file is read, no URL fetched); None for none. ``roots``: the
    libraries looked in, in order (default: the user's)."""
    if arg is None:
        return None
    roots = list(roots) if roots is not None else [None]
    found = (get_voice(arg, root) for root in roots) if VOICE_NAME_RE.fullmatch(arg) else iter(())
    voice = next((v for v in found if v is not None), None)
    if voice is None:
        known = ", ".join(sorted({v.name for root in roots for v in list_voices(root)})) or "none yet"
        raise VoiceError(f"Unknown voice '{cut(arg, 60)}': only voice library names are accepted here. Known: "
                         f"{cut(known, 300)}.")
    check_voice(voice.reference, model)
    return VoicePrompt(voice.reference, voice.name)

