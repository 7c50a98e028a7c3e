"""The serve config file (``cbx serve --config FILE``): what the operator sets once for every request, read like a
preset (bounded YAML → a pydantic model that refuses unknown fields → one error line naming the file and field).

    preset: narration          # requests that name none (--preset wins)
    voice: narrator            # a shared voice (cbx voices add --server-data), for requests that name no voice
    max_tokens: 400            # speech tokens at most per chunk, for requests that set none
    retries: 1                 # re-renders of a bad take, for requests that set none
    voices_dir: voices         # recordings Resonance's voice_key may name (relative: to this file's folder)
    public_url: https://tts.example.com   # the server's address in the URLs it hands out
    http_webhooks: false       # let https-only webhooks (Pixazo's) be http
    fields:                    # per API, the request fields requests may set; the rest are ignored
      segmind: [text, seed]
      fish: [text, format, reference_id]
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from cbx_cli.config.params import MaxTokens, Retries, describe_validation_error
from cbx_cli.config.yamlfile import YamlProblem, read_yaml
from cbx_cli.errors import InputError, cut
from cbx_cli.serve.service import Defaults


class ServeFile(BaseModel):
    """The schema of a serve config file."""

    model_config = ConfigDict(extra="forbid")

    preset: str | None = None
    voice: str | None = None
    max_tokens: MaxTokens | None = None
    retries: Retries | None = None
    voices_dir: Path | None = None
    public_url: str | None = None
    http_webhooks: bool = False
    fields: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("public_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urllib.parse.urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise ValueError("use an http(s) address such as https://tts.example.com")
        return value.rstrip("/")


def load_settings(path: Path, shared: Path) -> tuple[Defaults, str | None]:
    """The defaults in the serve config ``path`` and its preset; `InputError` naming the file and field. Its voice
    must be one of ``shared``, the server's shared voices."""
    from cbx_cli.api import get_voice
    from cbx_cli.config.presets import get_preset
    from cbx_cli.serve.app import APIS

    where = f"Serve config '{path}'"
    if not path.is_file():
        raise InputError(f"{where} is not a file. Give the path of a YAML file.")
    try:
        data = read_yaml(path)
    except YamlProblem as exc:
        raise InputError(f"{where}: {exc}") from None
    if not isinstance(data or {}, dict):
        raise InputError(f"{where}: expected a mapping of fields (preset, voice, max_tokens, retries, fields...).")
    try:
        settings = ServeFile.model_validate(data or {})
    except ValidationError as exc:
        raise InputError(describe_validation_error(exc, where)) from None
    fields: dict[str, frozenset[str]] = {}
    for name, allowed in settings.fields.items():
        api = APIS.get(name)
        if api is None:
            raise InputError(f"{where}: fields: unknown API '{cut(name, 40)}'. Known: {', '.join(sorted(APIS))}.")
        unknown = sorted(set(allowed) - api.fields)
        if unknown:
            raise InputError(f"{where}: fields.{name}: unknown field '{cut(unknown[0], 40)}'. Known: "
                             f"{', '.join(sorted(api.fields))}.")
        fields[name] = frozenset(allowed) | api.always
    if settings.preset is not None:
        get_preset(settings.preset)
    if settings.voice is not None and get_voice(settings.voice, shared) is None:
        raise InputError(f"{where}: voice '{cut(settings.voice, 40)}' is not one of the server's shared voices. Add "
                         f"it with: cbx voices add {cut(settings.voice, 40)} FILE --server-data "
                         f"{shared.parent.parent}")
    voices_dir = settings.voices_dir
    if voices_dir is not None:
        voices_dir = (path.parent / voices_dir.expanduser()).resolve()
        if not voices_dir.is_dir():
            raise InputError(f"{where}: voices_dir '{settings.voices_dir}' is not a folder.")
    return Defaults(voice=settings.voice, max_tokens=settings.max_tokens, retries=settings.retries,
                    voices_dir=voices_dir, public_url=settings.public_url, http_webhooks=settings.http_webhooks,
                    fields=fields), settings.preset
