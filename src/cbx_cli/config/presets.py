"""Named presets: shipped YAML files inside the package, plus the user's own in their config folder."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cbx_cli.config import paths
from cbx_cli.config.params import (
    AssemblyOverrides,
    AssemblySettings,
    SynthesisOverrides,
    SynthesisParams,
    VerifyOverrides,
    VerifySettings,
    describe_validation_error,
    merge,
)
from cbx_cli.config.yamlfile import YamlProblem, load_yaml, read_yaml
from cbx_cli.errors import PresetError, cut

log = logging.getLogger(__name__)


class PresetFile(BaseModel):
    """The schema of a preset YAML file."""

    model_config = ConfigDict(extra="forbid")

    description: str = ""
    synthesis: SynthesisOverrides = Field(default_factory=SynthesisOverrides)
    assembly: AssemblyOverrides = Field(default_factory=AssemblyOverrides)
    verify: VerifyOverrides = Field(default_factory=VerifyOverrides)


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
    verify: VerifyOverrides = VerifyOverrides()


def _read_yaml(path: Path | str, schema: type[BaseModel], text: str | None = None) -> BaseModel:
    """A preset or config file (``text``, if given, is its content) checked against ``schema``."""
    try:
        if text is not None:
            data = load_yaml(text)
        elif not Path(path).is_file():  # a folder, or a FIFO that would block the read
            raise YamlProblem("not a regular file. Remove it or replace it with a YAML file.")
        else:
            data = read_yaml(Path(path))
    except YamlProblem as exc:
        raise PresetError(f"{path}: {exc}") from None
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
            pf = _read_yaml(f"built-in preset {entry.name}", PresetFile, entry.read_text("utf-8"))
            found[name] = Preset(name, pf.description, pf.synthesis, pf.assembly, "built-in", pf.verify)
    return found


def _user() -> tuple[dict[str, Preset], dict[str, PresetError]]:
    """The user's presets, and the error of each file that cannot be used: a broken file breaks only itself."""
    folder = paths.user_presets_dir()
    found: dict[str, Preset] = {}
    broken: dict[str, PresetError] = {}
    if folder.is_dir():
        for path in sorted(folder.glob("*.y*ml")):
            try:
                pf = _read_yaml(path, PresetFile)
            except PresetError as exc:
                broken[path.stem] = exc
                continue
            found[path.stem] = Preset(path.stem, pf.description, pf.synthesis, pf.assembly, str(path), pf.verify)
    return found, broken


def all_presets() -> dict[str, Preset]:
    """Built-in presets, with user presets of the same name taking their place; broken user files left out (see
    `broken_presets`)."""
    presets = _builtin()
    user, broken = _user()
    presets.update(user)
    for name in broken:
        presets.pop(name, None)  # a broken file that shadows a built-in one must not fall back to it silently
    return dict(sorted(presets.items()))


def broken_presets() -> dict[str, PresetError]:
    """User preset files that cannot be used, by preset name, with the error each gives."""
    return _user()[1]


def get_preset(name: str) -> Preset:
    return Presets().get(name)


def user_config() -> UserConfig:
    path = paths.user_config_file()
    if not os.path.lexists(path):
        return UserConfig()
    return _read_yaml(path, UserConfig)


def resolve(
    preset_name: str | None,
    synthesis_flags: SynthesisOverrides | None = None,
    assembly_flags: AssemblyOverrides | None = None,
) -> tuple[SynthesisParams, AssemblySettings]:
    """Defaults < preset < user config < command-line flags."""
    return Presets().resolve(preset_name, synthesis_flags, assembly_flags)


def resolve_verify(preset_name: str | None, flags: VerifyOverrides | None = None) -> VerifySettings:
    """Defaults < preset < command-line flags, for verification."""
    return Presets().verify(preset_name, flags)


class Presets:
    """The presets and the user's config as one run sees them: every file read once, on first need, however many
    paragraphs name a preset."""

    def __init__(self) -> None:
        self._known: dict[str, Preset] | None = None
        self._broken: dict[str, PresetError] = {}
        self._config: UserConfig | None = None

    def get(self, name: str) -> Preset:
        """The preset called ``name`` (a user's file of that name in place of the built-in one)."""
        if self._known is None:
            user, self._broken = _user()
            self._known = dict(sorted({**_builtin(), **user}.items()))
        if name in self._broken:
            raise self._broken[name]
        if name not in self._known:
            known = ", ".join(self._known)
            raise PresetError(f"Unknown preset '{cut(name, 60)}'. Known: {known}.")
        return self._known[name]

    def config(self) -> UserConfig:
        if self._config is None:
            self._config = user_config()
        return self._config

    def resolve(
        self,
        preset_name: str | None,
        synthesis_flags: SynthesisOverrides | None = None,
        assembly_flags: AssemblyOverrides | None = None,
    ) -> tuple[SynthesisParams, AssemblySettings]:
        """Defaults < preset < user config < command-line flags."""
        preset = self.get(preset_name) if preset_name else None
        config = self.config()
        synthesis = merge(
            SynthesisParams(), preset.synthesis if preset else None, config.synthesis, synthesis_flags
        )
        assembly = merge(
            AssemblySettings(), preset.assembly if preset else None, config.assembly, assembly_flags
        )
        return synthesis, assembly

    def verify(self, preset_name: str | None, flags: VerifyOverrides | None = None) -> VerifySettings:
        """Defaults < preset < command-line flags, for verification."""
        preset = self.get(preset_name) if preset_name else None
        return merge(VerifySettings(), preset.verify if preset else None, flags)
