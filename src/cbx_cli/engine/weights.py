"""Where a model's weights come from, loaded through chatterbox-tts's own loaders.

A --model-dir folder loads with `from_local`. Otherwise the weights come from the Hugging Face cache: with the hub
reachable, `from_pretrained` downloads what is missing (or every file at a pinned --revision); with the hub out of
reach (HF_HUB_OFFLINE, or one short request that fails) the cached snapshot loads with `from_local`, or the load
fails at once with one line saying what to do, instead of waiting through the hub library's retries. The hub
library's log lines and the loaders' prints and warnings go to the debug log, not to stderr or stdout.

The checkpoint is found (`find_checkpoint`) before chatterbox is imported (which takes seconds), so a wrong
folder or missing weights are reported at once. torch, chatterbox and huggingface_hub are imported inside the
functions.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from cbx_cli.config.catalog import CHATTERBOX_FILES, CHATTERBOX_REPOS, missing_message
from cbx_cli.engine.layers import t3_sized_to
from cbx_cli.errors import MissingModel, ModelError

log = logging.getLogger(__name__)

REPOS = CHATTERBOX_REPOS
FILES = CHATTERBOX_FILES
T3_FILE = {m: files[1] for m, files in FILES.items()}

INSTALL_HINT = "Install the model extras with: pip install chatterbox-tts"
PROBE_TIMEOUT = 3.0
"""Seconds the one request that tells whether the hub is reachable may take."""


@dataclass(frozen=True)
class Checkpoint:
    """Where a model's weights are: found before chatterbox is imported, so a wrong path fails fast."""

    model: str
    folder: Path
    source: str
    """"folder" (--model-dir), "hub" (the cache, with the hub reachable) or "cache" (the cache alone)."""
    revision: str | None = None
    """A pinned --revision, downloaded file by file when the hub is reachable."""


@dataclass
class Loaded:
    """A loaded chatterbox model and where its weights came from."""

    model: object
    checkpoint_id: str
    revision: str | None
    """The Hugging Face revision (commit) of a snapshot from the cache."""


def import_torch():
    os.environ.setdefault("TQDM_DISABLE", "1")  # chatterbox draws a tqdm bar per chunk; the CLI has its own
    try:
        import torch
    except ImportError:
        raise ModelError(f"PyTorch is not installed. {INSTALL_HINT}") from None
    return torch


def resolve_device(requested: str) -> tuple[str, str | None]:
    """The device to run on, and a one-line warning when that is a slow fallback."""
    torch = import_torch()
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


def no_weights_message(model: str, revision: str | None = None) -> str:
    return missing_message([model], revision)


def no_weights(model: str, revision: str | None = None) -> MissingModel:
    return MissingModel(no_weights_message(model, revision), (model,), revision)


def find_checkpoint(model: str, model_dir: Path | None, revision: str | None) -> Checkpoint:
    """The checkpoint folder to load: `model_dir`, or the model's snapshot in the Hugging Face cache."""
    if model_dir is not None:
        return Checkpoint(model, local_dir(model_dir, model), "folder")
    with quiet_hub():
        folder, reachable = cached_dir(model, revision)
    if not reachable and _missing(folder, model):  # nothing can be fetched
        raise no_weights(model, revision)
    return Checkpoint(model, folder, "hub" if reachable else "cache", revision)


def load_model(checkpoint: Checkpoint, device: str) -> Loaded:
    """The model loaded through chatterbox's own loader: `from_pretrained` when it may download, else `from_local`."""
    torch = import_torch()
    try:
        import chatterbox  # noqa: F401
    except ImportError as exc:
        raise ModelError(f"chatterbox-tts cannot be imported ({exc}). {INSTALL_HINT}") from None
    model, folder = checkpoint.model, checkpoint.folder
    cls = model_class(model)
    no_bars()
    said = io.StringIO()  # the loaders print progress notes; stdout may be carrying audio (-o -)
    with contextlib.redirect_stdout(said), quiet_hub(), _warnings_to_debug(), torch.inference_mode():
        with t3_sized_to(folder / T3_FILE[model]), lazy_chinese():
            if checkpoint.source != "hub":
                loaded = cls.from_local(folder, device)
            elif checkpoint.revision:
                loaded = cls.from_local(_download(folder, model, checkpoint.revision), device)
            else:
                loaded = cls.from_pretrained(device)
    if said.getvalue().strip():
        log.debug("loader said: %s", said.getvalue().strip())
    snapshot = checkpoint.source != "folder" and folder.parent.name == "snapshots"
    return Loaded(loaded, checkpoint_identity(folder, FILES[model]), folder.name if snapshot else None)


def no_bars() -> None:
    """chatterbox-tts 0.1.7 draws a tqdm bar for every chunk it samples (`T3.inference`, `inference_turbo`, the
    turbo decoder's steps), over cbx's own display. TQDM_DISABLE only counts when it is set before tqdm is first
    imported, which another library may have done already (huggingface_hub does), so the `tqdm` these modules call
    is replaced by one that draws nothing."""
    import functools

    from chatterbox.models.s3gen import flow_matching
    from chatterbox.models.t3 import t3

    for module in (t3, flow_matching):
        bar = getattr(module, "tqdm", None)
        if bar is not None and not isinstance(bar, functools.partial):
            module.tqdm = functools.partial(bar, disable=True)


def model_class(model: str):
    if model == "turbo":
        from chatterbox.tts_turbo import ChatterboxTurboTTS

        return ChatterboxTurboTTS
    if model == "multilingual":
        from chatterbox.mtl_tts import ChatterboxMultilingualTTS

        return ChatterboxMultilingualTTS
    from chatterbox.tts import ChatterboxTTS

    return ChatterboxTTS


def conditionals_class(model: str):
    """The `Conditionals` class the model's module defines (each chatterbox model has its own)."""
    if model == "turbo":
        from chatterbox.tts_turbo import Conditionals
    elif model == "multilingual":
        from chatterbox.mtl_tts import Conditionals
    else:
        from chatterbox.tts import Conditionals
    return Conditionals


def local_dir(folder: Path, model: str) -> Path:
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise ModelError(f"--model-dir '{folder}' is not a folder. Pass the folder that holds the checkpoint.")
    missing = _missing(folder, model)
    if missing:
        raise ModelError(
            f"--model-dir '{folder}' is not a Chatterbox {model} checkpoint: "
            f"missing {', '.join(missing)}. Check --model matches the folder."
        )
    return folder


def _missing(folder: Path, model: str) -> list[str]:
    return [f for f in FILES[model] if f != "conds.pt" and not (folder / f).exists()]


def cached_dir(model: str, revision: str | None) -> tuple[Path, bool]:
    """The checkpoint's snapshot folder in the Hugging Face cache, and whether the hub is reachable.

    Reachable: resolved (and downloaded when missing) as the hub library does it. Out of reach: only what the
    cache holds, without another network request, so a missing model fails at once.
    """
    from huggingface_hub import constants, hf_hub_download

    repo = REPOS[model]
    reachable = not constants.HF_HUB_OFFLINE and hub_answers(repo, T3_FILE[model], revision)
    try:
        path = hf_hub_download(repo_id=repo, filename=T3_FILE[model], revision=revision,
                               local_files_only=not reachable)
    except Exception as exc:  # hub errors come in many classes: offline, missing, network, auth
        log.debug("weights lookup failed: %r", exc)
        if revision and "revision" in str(exc).lower():
            raise ModelError(f"Revision '{revision}' of {repo} is not available. Check --revision.") from None
        raise no_weights(model, revision) from None
    return Path(path).parent, reachable


def hub_answers(repo: str, filename: str, revision: str | None) -> bool:
    """One request, no retries, a short timeout: does the hub answer (even with "not found")?

    The hub library retries a failed request five times with back-off (about 23 s) before it gives up; this
    question is asked first so that an unreachable hub costs one short request.
    """
    from huggingface_hub import get_hf_file_metadata, hf_hub_url
    from huggingface_hub.errors import HfHubHTTPError

    try:
        get_hf_file_metadata(hf_hub_url(repo, filename, revision=revision), timeout=PROBE_TIMEOUT)
    except HfHubHTTPError as exc:  # an answer: a missing revision or file, or a server error
        status = exc.response.status_code if exc.response is not None else 500
        return status < 500
    except Exception as exc:  # no answer: refused, unresolvable, timed out, proxy trouble
        log.debug("the hub cannot be reached: %r", exc)
        return False
    return True


def _download(snapshot: Path, model: str, revision: str) -> Path:
    """Every file of the model at the pinned --revision, in one snapshot folder of the cache."""
    from huggingface_hub import hf_hub_download

    for name in FILES[model]:
        try:
            hf_hub_download(repo_id=REPOS[model], filename=name, revision=revision)
        except Exception as exc:  # conds.pt is optional; everything else must be there
            if name != "conds.pt":
                log.debug("download of %s failed: %r", name, exc)
                raise no_weights(model, revision) from None
    return snapshot


@contextlib.contextmanager
def lazy_chinese() -> Iterator[None]:
    """Within the block, a multilingual tokenizer made by chatterbox defers its Chinese converter to first use.

    chatterbox-tts 0.1.7's `MTLTokenizer.__init__` builds a `ChineseCangjieConverter`, which downloads its Cangjie
    table from the hub and loads the pkuseg segmenter, whatever the language: offline, every language's load would
    wait on it. `_LazyCangjie` builds the real converter the first time Chinese text is tokenized.
    """
    try:
        from chatterbox.models.tokenizers import tokenizer as module
    except ImportError:  # a chatterbox without the multilingual tokenizer: nothing to defer
        yield
        return
    real = module.ChineseCangjieConverter
    module.ChineseCangjieConverter = _lazy_cangjie(real)
    try:
        yield
    finally:
        module.ChineseCangjieConverter = real


def _lazy_cangjie(real):
    class _LazyCangjie:
        """Stands in for `ChineseCangjieConverter(model_dir)` until it is first called."""

        def __init__(self, model_dir=None):
            self._model_dir = model_dir
            self._converter = None

        def __call__(self, text: str) -> str:
            if self._converter is None:
                with quiet_hub():
                    self._converter = real(self._model_dir)
            return self._converter(text)

    return _LazyCangjie


@contextlib.contextmanager
def quiet_hub() -> Iterator[None]:
    """Within the block, the hub library's log lines (retries, warnings) become debug lines of this log.

    huggingface_hub puts its own stderr handler on its logger when first imported, and the records also reach
    the application's handlers: each retry would show twice.
    """
    import huggingface_hub  # noqa: F401  (installs its handler now, so the block below replaces it)

    hub = logging.getLogger("huggingface_hub")
    saved = hub.handlers, hub.propagate
    hub.handlers, hub.propagate = [_Relay()], False
    try:
        yield
    finally:
        hub.handlers, hub.propagate = saved


class _Relay(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        log.debug("%s: %s", record.name, record.getMessage())


@contextlib.contextmanager
def _warnings_to_debug() -> Iterator[None]:
    """Deprecation and FutureWarnings the loaders raise (diffusers, torch) go to the debug log."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        log.debug("%s: %s", w.category.__name__, w.message)


def checkpoint_identity(folder: Path, files: Sequence[str]) -> str:
    """A short fingerprint of a checkpoint: names, sizes and modification times of its files."""
    h = hashlib.sha256()
    for name in files:
        path = folder / name
        if path.exists():
            st = path.stat()
            h.update(f"{name}:{st.st_size}:{int(st.st_mtime)};".encode())
    return h.hexdigest()[:16]
