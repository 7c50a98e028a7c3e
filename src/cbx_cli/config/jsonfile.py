"""JSON files cbx wrote and reads back (a manifest, a retake file, a voice's record): read within bounds
(`cbx_cli.files.read_limited`), parsed without what the standard library lets through that is not JSON, and
validated by a pydantic schema, so a damaged or hand-edited file is one line naming the file and the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from cbx_cli.config.params import describe_validation_error
from cbx_cli.errors import InputError
from cbx_cli.files import FileProblem, read_limited

M = TypeVar("M", bound=BaseModel)


def parse_json(data: bytes) -> Any:
    """JSON as the standard library reads it, with what it lets through refused: NaN and Infinity (not JSON), and
    nesting deep enough to exhaust the recursion limit. ValueError, with a short reason, for anything it refuses."""

    def no_constants(name: str) -> Any:
        raise ValueError(f"it holds {name}, which is not a JSON number")

    try:
        return json.loads(data, parse_constant=no_constants)
    except RecursionError:
        raise ValueError("it nests too deep") from None
    except UnicodeDecodeError:
        raise ValueError("it is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"it is not valid JSON (line {exc.lineno}, column {exc.colno})") from None
    except ValueError as exc:  # a number of thousands of digits, or no_constants
        reason = str(exc)
        raise ValueError(reason if reason.startswith("it holds") else "it holds a number too long to read") from None


def read_record(path: str | Path, schema: type[M], limit: int, what: str, hint: str) -> M:
    """A JSON file cbx wrote and reads back (a manifest, a retake file, a voice's record), read within ``limit``
    bytes and validated by ``schema``; anything else is an `InputError` of one line naming the file (``what`` and
    the path) and, for a bad value, the field, ending with ``hint`` (what to do)."""
    label = f"{what} '{path}'"
    try:
        data = parse_json(read_limited(path, limit))
    except FileProblem as problem:
        raise InputError(f"{label} {problem}. {hint}") from None
    except ValueError as exc:
        raise InputError(f"{label} cannot be read: {exc}. {hint}") from None
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise InputError(f"{describe_validation_error(exc, label)} {hint}") from None
