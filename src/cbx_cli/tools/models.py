"""`cbx models`: what each model a command can need is, whether it is in the Hugging Face cache, fetching it, and
carrying it to a machine without the network.

A carried set is a plain folder (``pull --to DIR``): one folder per model, named as `cbx models` names it, holding
its files as they are (so ``--model-dir DIR/original`` or ``--verify-model DIR/base.en`` read them directly), and
``cbx-models.json`` listing each model's repository, revision and every file's size and SHA-256. ``pull --from DIR``
checks every file against that list and lays the models into the Hugging Face cache the way the hub library lays
them (blobs, a snapshot per revision, the ref), so later runs find them with no flag. Nothing in it needs symbolic
links, so the folder survives a FAT-formatted stick, a zip or an object store.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cbx_cli.config.catalog import CATALOG, ModelEntry, entry
from cbx_cli.engine import hub
from cbx_cli.engine.hub import Cached, PullProgress
from cbx_cli.errors import InputError, MissingModel, OutputError, ParamError
from cbx_cli.files import write_text

CARRIED = "cbx-models.json"
VERSION = 1
BLOCK = 1 << 20


@dataclass(frozen=True)
class Listed:
    """One model as `cbx models list` shows it."""

    entry: ModelEntry
    snapshots: list[Cached]
    """Its complete snapshots in the cache, newest first (none: not there)."""
    refs: dict[str, str]
    """Named revisions (branch or tag → commit) of its repository in the cache."""


def list_models() -> list[Listed]:
    """Every model of the catalog, with what the cache holds of it."""
    return [Listed(e, hub.snapshots(e), hub.refs(e)) for e in CATALOG.values()]


def wanted(names: Sequence[str], revision: str | None = None) -> list[tuple[ModelEntry, str | None]]:
    """The entries ``names`` give (``NAME`` or ``NAME@REVISION``; ``revision`` for those without one)."""
    if not names:
        raise ParamError(f"Name the models to fetch: {', '.join(CATALOG)} (or another faster-whisper model's name), "
                         "as cbx models list shows them.")
    found = []
    for name in names:
        base, at, pinned = name.partition("@")
        model = entry(base)
        if model is None:
            raise ParamError(f"Unknown model '{base}'. Known: {', '.join(CATALOG)}; or a faster-whisper model as "
                             "Systran/faster-whisper-NAME.")
        found.append((model, pinned if at else revision))
    return found


def pull(names: Sequence[str], revision: str | None = None, to: Path | None = None,
         on_progress: Callable[[PullProgress], None] | None = None,
         on_model: Callable[[ModelEntry, str], None] | None = None) -> list[tuple[ModelEntry, Cached]]:
    """Fetch the models into the Hugging Face cache (when the hub answers; else those already there are used as
    they are) and, with ``to``, copy them into that folder to be carried. ``on_model`` is told what is done with
    each model as it starts ("fetching", "in the cache", "copying")."""
    models = wanted(names, revision)
    if to is not None:
        _check_carry_folder(to)
    online = hub.reachable([e for e, _ in models])
    done: list[tuple[ModelEntry, Cached]] = []
    missing = []
    for model, rev in models:
        if online:
            if on_model:
                on_model(model, "fetching")
            done.append((model, hub.pull(model, rev, on_progress)))
            continue
        found = hub.find(model, rev)
        if found is None:
            missing.append(model.name + (f"@{rev}" if rev else ""))
            continue
        if on_model:
            on_model(model, "in the cache")
        done.append((model, found))
    if missing:
        raise MissingModel(f"The Hugging Face hub cannot be reached, and the cache does not hold {', '.join(missing)}. "
                           f"On a machine with the network run cbx models pull {' '.join(missing)} --to DIR, bring "
                           "DIR here, and run cbx models pull --from DIR.", tuple(missing))
    if to is not None:
        for model, found in done:
            if on_model:
                on_model(model, f"copying to {to}")
            carry_to(model, found, to, dict(models)[model], on_progress)
    return done


def _check_carry_folder(to: Path) -> None:
    if to.exists() and not to.is_dir():
        raise OutputError(f"--to '{to}' is a file. Give a folder (it is made if missing).")
    if not to.exists() and not to.parent.is_dir():
        raise OutputError(f"Folder '{to.parent}' does not exist. Create it first (mkdir -p {to.parent}).")


def carry_to(model: ModelEntry, found: Cached, to: Path, ref: str | None,
             on_progress: Callable[[PullProgress], None] | None = None) -> Path:
    """Copy a cached model into ``to/NAME/`` and list it, with each file's size and SHA-256, in ``to``'s
    cbx-models.json; returns the model's folder."""
    to.mkdir(exist_ok=True)
    folder = to / model.name
    folder.mkdir(exist_ok=True)
    files = sorted(p for p in found.folder.iterdir() if p.exists() and any(
        fnmatch.fnmatch(p.name, pattern) for pattern in model.files))
    total, done = sum(p.stat().st_size for p in files), 0
    listed = {}
    for path in files:
        target = folder / path.name
        digest, size = _copy_hashed(path, target, lambda n, before=done: on_progress and on_progress(
            PullProgress(model.name, before + n, total)))
        done += size
        listed[path.name] = {"size": size, "sha256": digest}
    carried = _read_carried(to) if (to / CARRIED).exists() else {"version": VERSION, "models": {}}
    carried["models"][model.name] = {"repo": model.repo, "revision": found.revision, "ref": ref or "main",
                                     "files": listed}
    write_text(to / CARRIED, json.dumps(carried, indent=2) + "\n")
    return folder


def carry_from(source: Path, names: Sequence[str] = (),
               on_progress: Callable[[PullProgress], None] | None = None,
               on_model: Callable[[ModelEntry, str], None] | None = None) -> list[tuple[ModelEntry, Cached]]:
    """Lay the models a carried folder holds (all, or ``names``) into the Hugging Face cache, each file checked
    against its size and SHA-256 first."""
    carried = _read_carried(source)
    listed = carried["models"]
    chosen = [n.partition("@")[0] for n in names] or list(listed)
    absent = [n for n in chosen if n not in listed]
    if absent:
        raise InputError(f"'{source}' does not hold {', '.join(absent)}; it holds {', '.join(listed) or 'nothing'}.")
    done = []
    for name in chosen:
        model = entry(name)
        if model is None:
            raise InputError(f"'{source / CARRIED}' lists '{name}', which is not a model cbx knows.")
        if on_model:
            on_model(model, f"checking and copying from {source}")
        done.append((model, _lay_into_cache(model, source / name, listed[name], on_progress)))
    return done


def _read_carried(source: Path) -> dict:
    path = source / CARRIED
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != VERSION or not isinstance(data.get("models"), dict):
            raise ValueError("not a list of carried models")
        for info in data["models"].values():
            for key in ("repo", "revision", "ref", "files"):
                info[key]  # noqa: B018 - every model must say these
    except FileNotFoundError:
        raise InputError(f"'{source}' has no {CARRIED}: give the folder cbx models pull --to made.") from None
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"'{path}' cannot be read ({type(exc).__name__}: {exc}); make it again with cbx models "
                         "pull --to.") from None
    return data


def _lay_into_cache(model: ModelEntry, folder: Path, info: dict, on_progress) -> Cached:
    """Each file into ``blobs/<sha256>`` (checked as it is copied), linked from ``snapshots/<revision>/``, and the
    ref pointed at the revision: the hub library's own layout."""
    revision = str(info["revision"])
    if not revision or "/" in revision or revision.startswith("."):
        raise InputError(f"'{folder}': revision '{revision}' is not a commit; make the folder again.")
    repo = hub.repo_folder(model.repo)
    blobs, snapshot = repo / "blobs", repo / "snapshots" / revision
    blobs.mkdir(parents=True, exist_ok=True)
    snapshot.mkdir(parents=True, exist_ok=True)
    files = info["files"]
    total, done = sum(int(f["size"]) for f in files.values()), 0
    for name, expected in sorted(files.items()):
        source = folder / name
        if Path(name).name != name or not source.is_file():
            raise InputError(f"'{source}' is missing: copy the whole folder cbx models pull --to made.")
        blob = blobs / str(expected["sha256"])
        if not blob.exists():
            part = blobs / f"{blob.name}.carried.{os.getpid()}"
            try:
                digest, size = _copy_hashed(source, part, lambda n, before=done: on_progress and on_progress(
                    PullProgress(model.name, before + n, total)))
                if (digest, size) != (expected["sha256"], int(expected["size"])):
                    raise InputError(f"'{source}' is not the file that was carried (its size or SHA-256 differs): "
                                     "copy it again from the machine that made the folder.")
                os.replace(part, blob)
            finally:
                part.unlink(missing_ok=True)
        done += int(expected["size"])
        _link(snapshot / name, blob)
    ref = str(info["ref"])
    if ref != revision and ".." not in Path(ref).parts and not Path(ref).is_absolute():
        (repo / "refs" / ref).parent.mkdir(parents=True, exist_ok=True)
        write_text(repo / "refs" / ref, revision)
    if on_progress:
        on_progress(PullProgress(model.name, total, total))
    return Cached(snapshot, revision, total)


def _link(path: Path, blob: Path) -> None:
    """``path`` pointing at ``blob`` as the hub cache does (a relative symbolic link; a copy where there are none)."""
    if path.is_symlink() or path.exists():
        path.unlink()
    try:
        path.symlink_to(os.path.relpath(blob, path.parent))
    except OSError:
        shutil.copyfile(blob, path)


def _copy_hashed(source: Path, target: Path, progress: Callable[[int], object]) -> tuple[str, int]:
    """Copy ``source`` to ``target`` (written whole under a temporary name, then renamed), hashing what is copied;
    returns (SHA-256, size)."""
    digest, size = hashlib.sha256(), 0
    part = target.with_name(f".{target.name}.{os.getpid()}.part")
    try:
        with open(source, "rb") as src, open(part, "wb") as dst:
            while block := src.read(BLOCK):
                digest.update(block)
                dst.write(block)
                size += len(block)
                progress(size)
        os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)
    return digest.hexdigest(), size
