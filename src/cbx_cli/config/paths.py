"""Where cbx keeps the user's files (platformdirs; XDG variables are honoured on Linux)."""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP = "cbx"


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP))


def cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir(APP))


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP))


def user_presets_dir() -> Path:
    return config_dir() / "presets"


def user_config_file() -> Path:
    return config_dir() / "config.yaml"


def takes_dir(override: Path | None = None) -> Path:
    """The take cache: ``override`` (--cache-dir) if given, else the user's cache folder."""
    return Path(override).expanduser() if override else cache_dir() / "takes"
