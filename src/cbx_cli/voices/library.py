"""The user's voice library: named reference recordings with their precomputed conditioning.

Each voice is a folder ``<data dir>/voices/NAME/`` holding ``reference<ext>`` (a copy of the checked
recording), ``voice.json`` (name, source, seconds, time added) and, once a model has computed it,
``conds-<model>-<checkpoint id>.pt`` (Chatterbox ``Conditionals``), so a run with that voice skips the work.
Every function takes the library's folder as ``root`` (default: the user's, `voices_dir`): `cbx serve` keeps
libraries of its own in its data folder.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from cbx_cli.config import paths
from cbx_cli.config.names import VOICE_NAME_RE, is_url
from cbx_cli.engine.base import Engine, VoicePrompt
from cbx_cli.errors import VoiceError
from cbx_cli.voices.audio import check_voice
from cbx_cli.voices.fetch import fetch_voice

log = logging.getLogger(__name__)

META_FILE = "voice.json"
NAME_RULE = "use 1 to 40 letters, digits, '-' or '_'"
NO_VOICES = "No voices yet. Add one with: cbx voices add NAME FILE"


@dataclass(frozen=True)
class Voice:
    """One voice in the library."""

    name: str
    dir: Path
    """The voice's folder."""
    reference: Path
    """The stored copy of the reference recording."""
    source: str
    """Where it came from: the file's absolute path or the URL, as added."""
    seconds: float
    added: str
    """When it was added, ISO 8601 in UTC."""

    def conditioned_models(self) -> list[str]:
        """Models with stored conditioning for this voice (any checkpoint), sorted."""
        models = {p.name[len("conds-"):].rsplit("-", 1)[0] for p in self.dir.glob("conds-*-*.pt")}
        return sorted(models)


def voices_dir() -> Path:
    return paths.data_dir() / "voices"


def check_name(name: str) -> str:
    if not VOICE_NAME_RE.fullmatch(name):
        raise VoiceError(f"Voice name '{name}' is not allowed: {NAME_RULE}.")
    return name


def conds_path(voice_dir: Path, model: str, checkpoint_id: str) -> Path:
    """Where a voice's conditioning for one model and checkpoint is stored."""
    return Path(voice_dir) / f"conds-{model}-{checkpoint_id}.pt"


def stored_conditioning(voice_dir: Path | None, model: str, checkpoint_id: str) -> Path | None:
    """The stored conditioning file for this model and checkpoint, if there is one."""
    if voice_dir is None or not checkpoint_id:
        return None
    path = conds_path(voice_dir, model, checkpoint_id)
    return path if path.is_file() else None


class LibraryConditioning:
    """The engines' `ConditioningStore` for library voices: ``conds-<model>-<checkpoint>.pt`` in the voice's folder.

    A library voice's prompt is its stored reference recording, so its folder is the recording's; prompts from
    elsewhere (a file, a URL) are not stored. A folder being staged by `add_voice` counts as the voice's folder.
    ``root`` holds the libraries (default: the user's); a voice of any library beneath it is stored.
    """

    def __init__(self, root: Path | None = None):
        self._root = root

    def folder(self, prompt: VoicePrompt) -> Path | None:
        if prompt.name is None:
            return None
        folder = Path(prompt.path).parent
        root = (self._root or voices_dir()).resolve()
        return folder if root in folder.resolve().parents else None

    def find(self, prompt: VoicePrompt, model: str, checkpoint_id: str) -> Path | None:
        return stored_conditioning(self.folder(prompt), model, checkpoint_id)

    def target(self, prompt: VoicePrompt, model: str, checkpoint_id: str) -> Path | None:
        folder = self.folder(prompt)
        return conds_path(folder, model, checkpoint_id) if folder is not None and checkpoint_id else None


def _read(folder: Path, name: str | None = None) -> Voice | None:
    try:
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
        reference = folder / meta["reference"]
        return Voice(
            name=name or folder.name, dir=folder, reference=reference, source=str(meta["source"]),
            seconds=float(meta["seconds"]), added=str(meta["added"]),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("skipping voice folder %s: %s", folder, exc)
        return None


def get_voice(name: str, root: Path | None = None) -> Voice | None:
    """The library voice called ``name``, or None."""
    if not VOICE_NAME_RE.fullmatch(name):
        return None
    folder = (root or voices_dir()) / name
    if not (folder / META_FILE).is_file():
        return None
    return _read(folder)


def list_voices(root: Path | None = None) -> list[Voice]:
    """Every voice in the library, by name."""
    root = root or voices_dir()
    if not root.is_dir():
        return []
    found = (_read(d) for d in sorted(root.iterdir()) if VOICE_NAME_RE.fullmatch(d.name) and (d / META_FILE).is_file())
    return [v for v in found if v is not None]


def _unknown(name: str, root: Path | None = None) -> VoiceError:
    known = [v.name for v in list_voices(root)]
    if not known:
        return VoiceError(NO_VOICES)
    return VoiceError(f"Unknown voice '{name}'. Known: {', '.join(known)}.")


def check_new(name: str, replace: bool = False, root: Path | None = None) -> None:
    """Fail unless ``name`` is a valid name that is free (or ``replace`` is set)."""
    check_name(name)
    if not replace and get_voice(name, root) is not None:
        raise VoiceError(f"Voice '{name}' already exists. Pass --replace to overwrite it, or choose another name.")


def source_audio(source: str, model: str) -> tuple[Path, float]:
    """The checked recording behind ``source`` (a file, or an http(s) URL downloaded once) and its length."""
    path = fetch_voice(source, model=model) if is_url(source) else Path(source).expanduser()
    return path, check_voice(path, model)


def add_voice(name: str, source: str, model: str, replace: bool = False, engine: Engine | None = None,
              checkpoint_id: str | None = None, load: Callable[[], Engine] | None = None,
              root: Path | None = None) -> Voice:
    """Store ``source`` (a file or URL) as voice ``name`` in the library ``root`` (default: the user's); with a
    loaded ``engine`` (or ``load``, which gives one), store its conditioning too.

    With ``checkpoint_id`` (the checkpoint the conditioning is for), conditioning a voice of the library already has
    for the same recording is copied instead, and ``load`` is not called. The engine's conditioning store must be
    the library (`LibraryConditioning`): that is where it saves it. The voice folder appears complete or not at
    all; with ``replace`` the old voice is swapped out at the end.
    """
    check_new(name, replace, root)
    audio, seconds = source_audio(source, model)
    root = root or voices_dir()
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".new", dir=root))
    try:
        suffix = audio.suffix.lower() if audio.suffix else ".wav"
        shutil.copyfile(audio, staging / f"reference{suffix}")
        meta = {
            "name": name,
            "source": source if is_url(source) else str(audio.resolve()),
            "seconds": round(seconds, 3),
            "added": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "reference": f"reference{suffix}",
        }
        (staging / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        staged = _read(staging, name)
        assert staged is not None
        known = same_recording(staged.reference, model, checkpoint_id, root) if checkpoint_id else None
        if known is not None:
            shutil.copyfile(known, conds_path(staging, model, checkpoint_id))
        elif engine is not None or load is not None:
            compute_conditioning(staged, engine if engine is not None else load())
        target = root / name
        old = None
        if target.exists():
            if not replace:  # appeared meanwhile
                raise VoiceError(f"Voice '{name}' already exists. Pass --replace to overwrite it.")
            old = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".old", dir=root))
            os.replace(target, old / name)
        os.replace(staging, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    voice = get_voice(name, root)
    assert voice is not None
    return voice


def same_recording(reference: Path, model: str, checkpoint_id: str, root: Path | None = None) -> Path | None:
    """Stored conditioning, for this model and checkpoint, of a voice of the library ``root`` whose recording has the
    same bytes as ``reference`` (conditioning depends on the recording alone)."""
    digest = _file_digest(reference)
    for voice in list_voices(root):
        stored = stored_conditioning(voice.dir, model, checkpoint_id)
        if stored is not None and voice.reference.is_file() and _file_digest(voice.reference) == digest:
            return stored
    return None


def _file_digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def remove_voice(name: str, root: Path | None = None) -> None:
    """Delete voice ``name`` and its stored conditioning."""
    voice = get_voice(name, root)
    if voice is None:
        raise _unknown(name, root)
    root = root or voices_dir()
    trash = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".old", dir=root))
    os.replace(voice.dir, trash / name)
    shutil.rmtree(trash, ignore_errors=True)


def compute_conditioning(voice: Voice, engine: Engine) -> Path:
    """Compute ``voice``'s conditioning on a loaded engine whose store is the library; returns the stored file."""
    engine.voice(VoicePrompt(voice.reference, voice.name))
    path = conds_path(voice.dir, engine.info.model, engine.info.checkpoint_id)
    if not path.is_file():
        raise VoiceError(f"Voice '{voice.name}': its conditioning was not stored. Add it again with --replace.")
    return path
