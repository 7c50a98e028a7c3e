"""The request shapes `cbx serve` speaks: cbx's own, and drop-ins for hosted Chatterbox services (OpenAI's speech API,
Segmind, Pixazo, Resonance's Modal service, Fish Audio), each described by an `Api`: the headers its key may come
in, the shape of its error answers, and the request fields it knows (which a serve config can narrow).

Each hosted API's routes live in a module of their own (`serve/segmind.py`, ...): a thin adapter that maps the
vendor's request onto cbx's own (`schemas.TTSRequest`, narrated by `service.Service` like any other) and the
result onto the vendor's answer. One key store serves them all, and a key counts only in its API's own headers.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from cbx_cli.errors import cut

log = logging.getLogger(__name__)

BEARER = "authorization"
"""`Authorization: Bearer KEY`; every other key header holds the key itself."""


def detail_body(status: int, message: str) -> dict[str, Any]:
    return {"detail": message}


@dataclass(frozen=True)
class Api:
    """One API's conventions (its routes are elsewhere)."""

    name: str
    """Its name in a serve config (``fields: {segmind: [...]}``) and in logs."""
    key_headers: tuple[str, ...]
    """The (lower-case) headers a key is read from, in order; `BEARER` for ``Authorization: Bearer KEY``."""
    error_body: Callable[[int, str], dict[str, Any]] = detail_body
    """The JSON body of an error answer with this status and message."""
    missing_status: int = 401
    invalid_status: int = 403
    fields: frozenset[str] = frozenset()
    """The request fields it takes; a serve config may let requests set only some of them."""
    always: frozenset[str] = frozenset()
    """Fields no config can take away (the text)."""
    validation_body: Callable[[list[dict[str, Any]]], dict[str, Any]] | None = None
    """The body of a 422 for a request that failed validation, from pydantic's errors (None: `error_body` with one
    line)."""
    invalid_message: str = "Invalid API key"
    missing_text: str | None = None
    """What a request with no key is told (None: which headers to send it in)."""

    def key(self, headers: Mapping[str, str]) -> str | None:
        """The key sent in this API's own headers (a key in any other header is not looked at)."""
        for name in self.key_headers:
            value = headers.get(name)
            if value is None:
                continue
            if name == BEARER:
                scheme, _, token = value.partition(" ")
                value = token if scheme.lower() == "bearer" else ""
            if value.strip():
                return value.strip()
        return None

    def missing_message(self) -> str:
        if self.missing_text is not None:
            return self.missing_text
        shown = ["Authorization: Bearer KEY" if h == BEARER else h for h in self.key_headers]
        return f"Missing API key. Send it in the {' or '.join(shown)} header."

    def error(self, status: int, message: str) -> dict[str, Any]:
        return self.error_body(status, cut(message, 600))


def union(name: str, *apis: Api) -> Api:
    """An API for a route two APIs share: either's key headers, and error bodies both clients read."""

    def body(status: int, message: str) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for api in apis:
            merged.update(api.error_body(status, message))
        return merged

    headers = tuple(dict.fromkeys(h for api in apis for h in api.key_headers))
    return Api(name, headers, body, apis[0].missing_status, apis[0].invalid_status,
               frozenset().union(*(a.fields for a in apis)), frozenset().union(*(a.always for a in apis)))


def model_fields(*models: type[BaseModel]) -> frozenset[str]:
    return frozenset(name for model in models for name in model.model_fields)


# -- fields a request set that the server does not use ---------------------------------------------------------

_noted: set[tuple[str, str]] = set()
_noted_lock = threading.Lock()


def note_once(api: str, name: str, why: str) -> None:
    """Log, once per server and field, that ``api``'s requests set ``name`` and it is not used."""
    with _noted_lock:
        if (api, name) in _noted or len(_noted) > 1000:
            return
        _noted.add((api, name))
    log.warning("%s requests: '%s' %s", api, cut(name, 60), why)


def restrict(api: Api, req: BaseModel, allowed: frozenset[str] | None) -> BaseModel:
    """``req`` with the fields the serve config does not let ``api``'s requests set put back to their defaults (None
    for a required one: the server's default applies); each named once in the log."""
    if allowed is None:
        return req
    dropped = sorted(name for name in req.model_fields_set - allowed - api.always if name in type(req).model_fields)
    if not dropped:
        return req
    for name in dropped:
        note_once(api.name, name, "is not among the fields the serve config lets requests set; the server's default "
                  "is used")
    fields = type(req).model_fields
    return req.model_copy(update={n: None if fields[n].is_required() else
                                  fields[n].get_default(call_default_factory=True) for n in dropped})


def note_extra(api: Api, req: BaseModel) -> None:
    """Name once in the log each field a request sent that ``api`` does not know (accepted and ignored)."""
    for name in req.model_extra or {}:
        note_once(api.name, name, "is not a field this server knows; ignored")
