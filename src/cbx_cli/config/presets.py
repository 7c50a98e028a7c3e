"""Named presets: shipped YAML files inside the package, plus the user's own in their config folder."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cbx_cli.config import paths
from cbx_cli.config.params import (
    AssemblyOverrides,
    AssemblySettings,
    SynthesisOverrides,
    SynthesisParams,
    describe_validation_error,
    merge,
)
from cbx_cli.errors import PresetError

log = logging.getLogger(__name__)


class PresetFile(BaseModel):
    """The schema of a preset YAML file."""

    model_config = ConfigDict(extra="forbid")

    description: str = ""
    synthesis: SynthesisOverrides = Field(default_factory=SynthesisOverrides)
    assembly: AssemblyOverrides = Field(default_factory=AssemblyOverrides)


class UserConfig(BaseModel):
    """The schema of the user's config.yaml: values applied on top of every preset."""

    model_config = ConfigDict(extra="forbid")

    synthesis: SynthesisOverrides = Field(default_factory=SynthesisOverrides)
    assembly: AssemblyOverrides = Field(default_factory=AssemblyOverrides)


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    synthesis: SynthesisOverrides
    assembly: AssemblyOverrides
    source: str
    """Where it came from: 'built-in' or the user's file path."""


def _read_yaml(path: Path | str, text: str, schema: type[BaseModel]) -> BaseModel:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise PresetError(f"{path}:{where} is not valid YAML. Fix the syntax and run again.") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PresetError(f"{path}: expected a mapping of fields (description, synthesis, assembly).")
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise PresetError(describe_validation_error(exc, str(path))) from None


def _builtin() -> dict[str, Preset]:
    found = {}
    for entry in resources.files("cbx_cli.presets").iterdir():
        if entry.name.endswith(".yaml"):
            name = entry.name[: -len(".yaml")]
            pf = _read_yaml(f"built-in preset {entry.name}", entry.read_text("utf-8"), PresetFile)
            found[name] = Preset(name, pf.description, pf.synthesis, pf.assembly, "built-in")
    return found


def _user() -> dict[str, Preset]:
    folder = paths.user_presets_dir()
    found = {}
    if folder.is_dir():
        for path in sorted(folder.glob("*.y*ml")):
            try:
                text = path.read_text("utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise PresetError(f"{path}: cannot be read ({exc}). Fix or remove the file.") from None
            pf = _read_yaml(path, text, PresetFile)
            found[path.stem] = Preset(path.stem, pf.description, pf.synthesis, pf.assembly, str(path))
    return found


def all_presets() -> dict[str, Preset]:
    """Built-in presets, with user presets of the same name taking their place."""
    presets = _builtin()
    presets.update(_user())
    return dict(sorted(presets.items()))


def get_preset(name: str) -> Preset:
    presets = all_presets()
    if name not in presets:
        known = ", ".join(presets)
        raise PresetError(f"Unknown preset '{name}'. Known: {known}.")
    return presets[name]


def user_config() -> UserConfig:
    path = paths.user_config_file()
    if not path.is_file():
        return UserConfig()
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PresetError(f"{path}: cannot be read ({exc}). Fix or remove the file.") from None
    return _read_yaml(path, text, UserConfig)


def resolve(
    preset_name: str | None,
    synthesis_flags: SynthesisOverrides | None = None,
    assembly_flags: AssemblyOverrides | None = None,
) -> tuple[SynthesisParams, AssemblySettings]:
    """Defaults < preset < user config < command-line flags."""
    preset = get_preset(preset_name) if preset_name else None
    config = user_config()
    synthesis = merge(
        SynthesisParams(), preset.synthesis if preset else None, config.synthesis, synthesis_flags
    )
    assembly = merge(
        AssemblySettings(), preset.assembly if preset else None, config.assembly, assembly_flags
    )
    return synthesis, assembly
