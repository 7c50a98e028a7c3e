"""Size chatterbox's T3 backbone to the checkpoint being loaded.

`T3()` builds its transformer from the module-level dict
`chatterbox.models.t3.llama_configs.LLAMA_CONFIGS` (Llama_520M: 30 layers; GPT2_medium: 24) and
loads its weights strictly, so a checkpoint with fewer layers than the published one fails to load.
`t3_sized_to` lets checkpoints with fewer layers than the published one load through chatterbox's
own `from_local` / `from_pretrained`, by setting the layer count from the checkpoint for the
duration of the load. torch, safetensors and chatterbox are imported only when it is used.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# key pattern -> (LLAMA_CONFIGS entry, name of its layer-count field)
_LAYER_KEYS = {
    re.compile(r"^tfmr\.layers\.(\d+)\."): ("Llama_520M", "num_hidden_layers"),
    re.compile(r"^tfmr\.h\.(\d+)\."): ("GPT2_medium", "n_layer"),
}


def count_t3_layers(checkpoint_file: Path) -> tuple[str, str, int] | None:
    """(config name, layer field, layer count) of a T3 safetensors file, or None if it has no layers.

    Reads only the tensor names, not the tensors.
    """
    from safetensors import safe_open

    with safe_open(str(checkpoint_file), framework="pt") as f:
        keys = list(f.keys())
    for pattern, (config, field) in _LAYER_KEYS.items():
        indices = {int(m.group(1)) for k in keys if (m := pattern.match(k))}
        if indices:
            return config, field, max(indices) + 1
    return None


@contextmanager
def t3_sized_to(checkpoint_file: Path) -> Iterator[None]:
    """Within the block, chatterbox builds T3 with as many layers as `checkpoint_file` holds.

    This lets checkpoints with fewer layers than the published one (e.g. tiny test checkpoints)
    load through chatterbox's own `from_local`. The config to change (Llama_520M or GPT2_medium)
    is picked from the key style (`tfmr.layers.N.` or `tfmr.h.N.`); the original value is
    restored on exit. A missing file, or a count that already matches, changes nothing.
    """
    checkpoint_file = Path(checkpoint_file)
    found = count_t3_layers(checkpoint_file) if checkpoint_file.is_file() else None
    if found is None:
        yield
        return
    config, field, layers = found
    with llama_layers(config, field, layers):
        yield


@contextmanager
def llama_layers(config: str, field: str, layers: int | None) -> Iterator[None]:
    """Within the block, chatterbox builds `config`'s transformer with `layers` layers (None: as published).

    Sets `LLAMA_CONFIGS[config][field]`; the original value is restored on exit.
    """
    from chatterbox.models.t3.llama_configs import LLAMA_CONFIGS

    cfg = LLAMA_CONFIGS[config]
    original = cfg[field]
    if layers is None or original == layers:
        yield
        return
    cfg[field] = layers
    try:
        yield
    finally:
        cfg[field] = original
