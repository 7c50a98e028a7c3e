"""Every request the server makes on a client's behalf (reference recordings, webhooks) goes through `fetch`, and
every URL through `check_public_url` first.

A server that fetches any URL a client names can be pointed at its own loopback services or the private network
behind it; unless the operator allows it (``--allow-private-urls``), every address the host name resolves to must
be a public one. The check is made on the URL as given: a public host that redirects elsewhere is not checked
again (the request's own time and size caps still hold).

urllib from the standard library: one GET or POST with a time limit and a size cap needs nothing more.
"""

from __future__ import annotations

import ipaddress
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from cbx_cli.errors import InputError, cut

READ_BLOCK = 64 * 1024


def check_public_url(url: str, what: str, allow_private: bool = False, https_only: bool = False) -> str:
    """``url`` if it is http(s) (https with ``https_only``) and, unless ``allow_private``, its host resolves to
    public addresses only."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InputError(f"{what} '{cut(url, 80)}' is not an http:// or https:// URL.")
    if https_only and parts.scheme.lower() != "https":
        raise InputError(f"{what} '{cut(url, 80)}' must be an https:// URL (this server's operator can allow http).")
    if allow_private:
        return url
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, ValueError):
        raise InputError(f"{what} '{cut(url, 80)}': host not found.") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not address.is_global:
            raise InputError(f"{what} '{cut(url, 80)}' points to a private or local address ({address}); this "
                             "server only fetches public URLs (its operator can pass --allow-private-urls).")
    return url


@dataclass
class Answer:
    """What the far end answered."""

    status: int
    content_type: str | None
    body: bytes


def fetch(url: str, what: str, allow_private: bool, *, method: str = "GET", body: bytes | None = None,
          headers: dict[str, str] | None = None, timeout: float = 15.0, seconds: float = 60.0,
          max_bytes: int = 10_000_000, https_only: bool = False) -> Answer:
    """``method`` ``url`` (checked first) and read at most ``max_bytes`` of the answer within ``seconds`` in all;
    any status comes back as an `Answer`. `InputError` naming ``what`` when the URL is refused, the host cannot be
    reached, or the answer is too large or too slow."""
    from cbx_cli import __version__

    check_public_url(url, what, allow_private, https_only)
    request = urllib.request.Request(url, data=body, method=method,
                                     headers={"User-Agent": f"cbx-serve/{__version__}", **(headers or {})})
    started = time.monotonic()
    try:
        response = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 - checked above
    except urllib.error.HTTPError as exc:
        with exc:
            return Answer(exc.code, exc.headers.get("Content-Type"), b"")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise InputError(f"{what} '{cut(url, 80)}' could not be reached: {cut(str(reason), 120)}.") from None
    with response:
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise InputError(f"{what} '{cut(url, 80)}' is larger than {max_bytes:,} bytes.")
        blocks, size = [], 0
        try:
            while block := response.read1(READ_BLOCK):
                size += len(block)
                if size > max_bytes:
                    raise InputError(f"{what} '{cut(url, 80)}' is larger than {max_bytes:,} bytes.")
                if time.monotonic() - started > seconds:
                    raise InputError(f"{what} '{cut(url, 80)}' took longer than {seconds:g} s.")
                blocks.append(block)
        except (OSError, ValueError) as exc:
            raise InputError(f"{what} '{cut(url, 80)}' broke off: {cut(str(exc), 120)}.") from None
        return Answer(response.status, response.headers.get("Content-Type"), b"".join(blocks))
