"""What `cbx doctor` reports: torch and its devices, ffmpeg, and the Chatterbox weights in the cache."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass


@dataclass
class Finding:
    name: str
    value: str
    ok: bool = True


def _torch_findings() -> list[Finding]:
    try:
        import torch
    except ImportError:
        return [Finding("torch", "not installed (pip install chatterbox-tts)", ok=False)]
    found = [Finding("torch", torch.__version__)]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            free, total = torch.cuda.mem_get_info(i)
            found.append(Finding(f"cuda:{i}", f"{torch.cuda.get_device_name(i)}, {free / 2**30:.1f} of "
                                              f"{total / 2**30:.1f} GiB free"))
    else:
        found.append(Finding("cuda", "not available"))
    mps = getattr(torch.backends, "mps", None)
    found.append(Finding("mps", "available" if mps and mps.is_available() else "not available"))
    return found


def _ffmpeg() -> Finding:
    path = shutil.which("ffmpeg")
    if not path:
        return Finding("ffmpeg", "not found: needed for .m4b/.m4a/.opus (apt install ffmpeg)", ok=False)
    try:
        first = subprocess.run([path, "-version"], capture_output=True, text=True, timeout=10).stdout.splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        first = path
    return Finding("ffmpeg", first)


def _cached_models() -> list[Finding]:
    from cbx_cli.engine.weights import FILES, REPOS

    try:
        from huggingface_hub import scan_cache_dir

        repos = {r.repo_id: r for r in scan_cache_dir().repos}
    except Exception:  # no cache folder yet, or an unreadable one
        repos = {}
    found = []
    for model, repo_id in REPOS.items():
        repo = repos.get(repo_id)
        complete = []
        for rev in repo.revisions if repo else []:
            names = {f.file_name for f in rev.files}
            if all(f in names for f in FILES[model] if f != "conds.pt"):
                complete.append(rev.commit_hash[:12] + (f" ({', '.join(sorted(rev.refs))})" if rev.refs else ""))
        if complete:
            found.append(Finding(f"model {model}", f"{repo_id} at {'; '.join(complete)}"))
        else:
            found.append(Finding(f"model {model}", f"not in the Hugging Face cache ({repo_id})", ok=False))
    return found


def diagnose() -> list[Finding]:
    from cbx_cli.api import versions

    found = [Finding(name, v or "not installed", ok=v is not None) for name, v in versions().items()
             if name != "torch"]
    found += _torch_findings()
    found.append(_ffmpeg())
    found += _cached_models()
    return found
