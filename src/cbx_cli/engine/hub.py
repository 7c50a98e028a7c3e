"""Models in the Hugging Face cache: which are there, whether the hub can be reached, and fetching one with progress.

A model is one entry of `cbx_cli.config.catalog` (a repository and the files cbx uses of it). Looking one up reads
the cache only (`try_to_load_from_cache`), never the network. Fetching is one `snapshot_download` per model with the
entry's files as its allowed patterns, so the hub library's own cache layout, revisions and resumption apply: a file
cut off halfway is kept as ``blobs/<etag>.incomplete`` and continued from there by the next pull. Progress is read
from the cache folder as it fills (each expected blob and its ``.incomplete``), which does not depend on the hub
library's progress-bar internals.
"""

from __future__ import annotations

import fnmatch
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cbx_cli.config.catalog import ModelEntry
from cbx_cli.engine.weights import hub_answers, quiet_hub
from cbx_cli.errors import ModelError

log = logging.getLogger(__name__)

POLL = 0.2
"""Seconds between two looks at the cache folder while a pull runs."""


@dataclass(frozen=True)
class Cached:
    """A model's snapshot in the cache."""

    folder: Path
    revision: str
    """The commit the snapshot is of."""
    size: int
    """Bytes of the model's files there."""


@dataclass
class PullProgress:
    model: str
    done: int
    """Bytes in the cache so far (files already there included)."""
    total: int
    """Bytes of every file the pull fetches; 0 while unknown."""


def cache_root() -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def repo_folder(repo: str, root: Path | None = None) -> Path:
    """The repository's folder in the hub cache (``models--org--name``)."""
    return (root or cache_root()) / ("models--" + repo.replace("/", "--"))


def find(entry: ModelEntry, revision: str | None = None) -> Cached | None:
    """The entry's snapshot in the cache at ``revision`` (a branch, tag or commit; None: main) when every file it
    needs is there; None otherwise. Reads the cache only."""
    from huggingface_hub import try_to_load_from_cache

    folder = None
    for name in entry.required:
        found = try_to_load_from_cache(entry.repo, name, revision=revision)
        if not isinstance(found, str):
            return None
        folder = Path(found).parent
    if folder is None:
        return None
    files = [p for p in folder.iterdir() if any(fnmatch.fnmatch(p.name, pat) for pat in entry.files)]
    size = sum(p.stat().st_size for p in files if p.exists())
    return Cached(folder, folder.name, size)


def snapshots(entry: ModelEntry) -> list[Cached]:
    """Every snapshot of the entry's repository in the cache that holds all the files it needs, newest first."""
    folder = repo_folder(entry.repo) / "snapshots"
    found = []
    for snapshot in folder.iterdir() if folder.is_dir() else ():
        if all((snapshot / name).exists() for name in entry.required):
            files = [p for p in snapshot.iterdir() if _wanted(entry, p.name) and p.exists()]
            found.append((snapshot.stat().st_mtime, Cached(snapshot, snapshot.name,
                                                           sum(p.stat().st_size for p in files))))
    return [c for _, c in sorted(found, key=lambda pair: pair[0], reverse=True)]


def refs(entry: ModelEntry) -> dict[str, str]:
    """The cache's named revisions of the entry's repository (branch or tag → commit)."""
    folder = repo_folder(entry.repo) / "refs"
    names = {}
    for path in folder.rglob("*") if folder.is_dir() else ():
        if path.is_file():
            names[path.relative_to(folder).as_posix()] = path.read_text(encoding="utf-8").strip()
    return names


def reachable(entries: Sequence[ModelEntry]) -> bool:
    """Whether the hub answers (one short request, no retries), unless offline mode (HF_HUB_OFFLINE) is on."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE or not entries:
        return False
    with quiet_hub():
        return hub_answers(entries[0].repo, entries[0].required[0], None)


def pull(entry: ModelEntry, revision: str | None = None,
         on_progress: Callable[[PullProgress], None] | None = None) -> Cached:
    """Fetch the entry's files at ``revision`` into the hub cache (what is there already is kept; a file cut off
    is continued); returns the snapshot. Fails with one line when the hub cannot be reached or has no such revision.
    """
    from huggingface_hub import HfApi, snapshot_download
    from huggingface_hub.errors import RevisionNotFoundError

    with quiet_hub():
        try:
            listing = [f for f in HfApi().list_repo_tree(entry.repo, revision=revision, recursive=True)
                       if hasattr(f, "size") and _wanted(entry, f.path)]
        except RevisionNotFoundError:
            raise ModelError(f"{entry.repo} has no revision '{revision}'. Check --revision.") from None
        except Exception as exc:  # hub errors come in many classes: offline, missing, network, auth
            log.debug("listing %s failed: %r", entry.repo, exc)
            raise ModelError(f"Cannot reach the Hugging Face hub to fetch {entry.repo} ({_reason(exc)}). Connect to "
                             "the network, or bring the models from a machine that has them: cbx models pull "
                             f"{entry.name} --to DIR there, then cbx models pull --from DIR here.") from None
        blobs = repo_folder(entry.repo) / "blobs"
        expected = {(f.lfs.sha256 if getattr(f, "lfs", None) else f.blob_id): f.size for f in listing}
        total = sum(expected.values())
        stop = threading.Event()
        watcher = threading.Thread(target=_watch, args=(entry.name, blobs, expected, total, on_progress, stop),
                                   daemon=True)
        if on_progress:
            watcher.start()
        try:
            folder = Path(snapshot_download(entry.repo, revision=revision, allow_patterns=list(entry.files)))
        except Exception as exc:
            log.debug("download of %s failed: %r", entry.repo, exc)
            raise ModelError(f"Fetching {entry.repo} stopped ({_reason(exc)}). Run the same cbx models pull again "
                             "to continue where it stopped.") from None
        finally:
            stop.set()
            if watcher.is_alive():
                watcher.join()
    if on_progress:
        on_progress(PullProgress(entry.name, total, total))
    found = find(entry, folder.name)
    if found is None:
        missing = [name for name in entry.required if not (folder / name).exists()]
        raise ModelError(f"{entry.repo} at {folder.name[:12]} lacks {', '.join(missing)}: it is not a {entry.kind} "
                         "model cbx can load. Check --revision.")
    return found


def _wanted(entry: ModelEntry, path: str) -> bool:
    return any(fnmatch.fnmatch(path, pattern) for pattern in entry.files)


def _watch(name: str, blobs: Path, expected: dict[str, int], total: int,
           on_progress: Callable[[PullProgress], None], stop: threading.Event) -> None:
    """Report the bytes in the cache of every expected blob (whole, or its ``.incomplete``) until ``stop``."""
    while True:
        done = 0
        for blob, size in expected.items():
            if (blobs / blob).exists():
                done += size
                continue
            try:
                done += (blobs / f"{blob}.incomplete").stat().st_size
            except OSError:
                pass
        on_progress(PullProgress(name, min(done, total), total))
        if stop.wait(POLL):
            return


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]
