"""Which URLs a request may make the server fetch or call: reference recordings and webhooks.

A server that fetches any URL a client names can be pointed at its own loopback services or the private network
behind it; unless the operator allows it (``--allow-private-urls``), every address the host name resolves to must
be a public one. The check is made on the URL as given: a public host that redirects elsewhere is not checked
again (the download's own time and size caps still hold).
"""

from __future__ import annotations

import ipaddress
import socket
import urllib.parse

from cbx_cli.errors import InputError, cut


def check_public_url(url: str, what: str, allow_private: bool = False) -> str:
    """``url`` if it is http(s) and (unless ``allow_private``) its host resolves to public addresses only."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InputError(f"{what} '{cut(url, 80)}' is not an http:// or https:// URL.")
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
