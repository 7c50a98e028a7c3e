"""Every request the server makes on a client's behalf (reference recordings, webhooks, anything later) goes through
`fetch`; `check_public_url` is the same check made early, when a request names a URL for later.

A server that fetches any URL a client names can be pointed at its own loopback services or the private network
behind it. Unless the operator allows it (``--allow-private-urls``), every address a host name resolves to must be a
public one, and then:

- the name is resolved once, and the connection goes to one of the addresses just checked (a numeric host, so no
  second lookup: a name that answers a public address to the check and 127.0.0.1 to the connection, DNS rebinding,
  reaches nothing); https still sends the name as SNI and checks the certificate against it, and the Host header
  names it;
- a redirect is a new URL checked the same way, hop by hop (GET only, at most `MAX_REDIRECTS`); a POST follows none;
- no proxy is used (a proxy would do a lookup of its own).

http.client from the standard library: it connects where it is told, which urllib (a lookup of its own for each
connection, redirects followed inside) does not allow.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import urllib.parse
from dataclasses import dataclass

from cbx_cli.errors import InputError, cut
from cbx_cli.net import Deadline

READ_BLOCK = 64 * 1024
MAX_REDIRECTS = 5
REDIRECTS = (301, 302, 303, 307, 308)
NAT64 = ipaddress.ip_network("64:ff9b::/96")
"""The well-known NAT64 prefix: its last 32 bits are an IPv4 address, reached through a translator."""
LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")
"""NAT64 prefixes for a network's own use: what they reach is that network's choice, never public as such."""


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether ``address`` is a public unicast address; an IPv6 address that carries an IPv4 one (mapped, 6to4,
    NAT64) counts as the IPv4 address it carries."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if address in LOCAL_NAT64:
            return False
        if embedded is None and address in NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public(embedded)
    return address.is_global and not (address.is_multicast or address.is_reserved or address.is_unspecified)


@dataclass(frozen=True)
class Target:
    """A URL taken apart and resolved: where to connect (each address checked) and what to ask for there."""

    url: str
    scheme: str
    host: str
    """The host name (IDNA), or an IP address without brackets."""
    port: int
    target: str
    """The path and query, as sent on the request line."""
    addresses: tuple[str, ...]
    """What ``host`` resolved to, in the resolver's order: numeric hosts to connect to."""


def check_public_url(url: str, what: str, allow_private: bool = False, https_only: bool = False) -> Target:
    """``url`` resolved once (an `InputError` naming ``what`` unless it is http(s), https with ``https_only``, and,
    unless ``allow_private``, every address it resolves to is public)."""
    return _check(url, f"{what} '{cut(url, 80)}'", allow_private, https_only)


def _check(url: str, label: str, allow_private: bool, https_only: bool) -> Target:
    try:
        parts = urllib.parse.urlsplit(url)
        scheme = parts.scheme.lower()
        port = parts.port
        host = (parts.hostname or "").encode("idna").decode("ascii")
    except (ValueError, UnicodeError):
        raise InputError(f"{label} is not a valid http:// or https:// URL.") from None
    if scheme not in ("http", "https") or not host:
        raise InputError(f"{label} is not an http:// or https:// URL.")
    if https_only and scheme != "https":
        raise InputError(f"{label} must be an https:// URL (this server's operator can allow http).")
    port = port or (443 if scheme == "https" else 80)
    addresses = _addresses(host, port)
    if not addresses:
        raise InputError(f"{label} names a host that cannot be found.")
    if not allow_private:
        for address in addresses:
            if not is_public(ipaddress.ip_address(address.split("%")[0])):
                raise InputError(f"{label} points to a private or local address ({address}); this server only "
                                 "fetches public URLs (its operator can pass --allow-private-urls).")
    target = urllib.parse.quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
    if parts.query:
        target += "?" + urllib.parse.quote(parts.query, safe="/%:@!$&'()*+,;=-._~?")
    return Target(url, scheme, host, port, target, addresses)


def _addresses(host: str, port: int) -> tuple[str, ...]:
    """What ``host`` resolves to (itself when it is an IP address), in the resolver's order; () when nothing."""
    try:
        return (str(ipaddress.ip_address(host)),)
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError):
        return ()
    return tuple(dict.fromkeys(str(info[4][0]) for info in infos if info[0] in (socket.AF_INET, socket.AF_INET6)))


@dataclass
class Answer:
    """What the far end answered."""

    status: int
    content_type: str | None
    body: bytes


class _Pinned(http.client.HTTPConnection):
    """An HTTP connection to ``address`` (numeric, already checked) for ``host``: the Host header names the host. Its
    socket is watched by ``deadline``."""

    def __init__(self, host: str, port: int, address: str, deadline: Deadline):
        super().__init__(host, port, timeout=deadline.timeout())
        self.address = address
        self.deadline = deadline

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)
        self.deadline.watch(self.sock)


class _PinnedTLS(_Pinned):
    """HTTPS to a checked address: SNI and the certificate check use the host name."""

    default_port = 443

    def __init__(self, host: str, port: int, address: str, deadline: Deadline):
        super().__init__(host, port, address, deadline)
        self.context = ssl.create_default_context()

    def connect(self) -> None:
        super().connect()
        self.sock = self.context.wrap_socket(self.sock, server_hostname=self.host, do_handshake_on_connect=False)
        self.deadline.watch(self.sock)  # the handshake too ends when the time is up
        self.sock.do_handshake()


def fetch(url: str, what: str, allow_private: bool, *, method: str = "GET", body: bytes | None = None,
          headers: dict[str, str] | None = None, timeout: float = 15.0, seconds: float = 60.0,
          max_bytes: int = 10_000_000, https_only: bool = False) -> Answer:
    """``method`` ``url`` (checked and resolved once, see the module) and read at most ``max_bytes`` of the answer,
    all within ``seconds`` (each step within ``timeout``); any status comes back as an `Answer` (a redirect a POST
    does not follow too). `InputError` naming ``what`` when a URL is refused, the host cannot be reached, or the
    answer is too large or too slow."""
    from cbx_cli import __version__

    sent = {"User-Agent": f"cbx-serve/{__version__}", "Connection": "close", **(headers or {})}
    where = check_public_url(url, what, allow_private, https_only)
    deadline = Deadline(seconds, timeout)
    try:
        for _ in range(MAX_REDIRECTS + 1):
            conn, response = _ask(where, method, body, sent, deadline, what, url)
            try:
                location = response.getheader("Location")
                if method != "GET" or response.status not in REDIRECTS or not location:
                    data = _read(conn, response, deadline, what, url, max_bytes) if response.status == 200 else b""
                    return Answer(response.status, response.getheader("Content-Type"), data)
            finally:
                conn.close()
            hop = urllib.parse.urljoin(where.url, location)
            where = _check(hop, f"{what} '{cut(url, 80)}' redirects to '{cut(hop, 80)}', which", allow_private,
                           https_only)
        raise InputError(f"{what} '{cut(url, 80)}' redirects more than {MAX_REDIRECTS} times.")
    finally:
        deadline.cancel()


def _ask(where: Target, method: str, body: bytes | None, headers: dict[str, str], deadline: Deadline, what: str,
         url: str) -> tuple[_Pinned, http.client.HTTPResponse]:
    """The request sent to the first of ``where``'s addresses that takes it, and its answer's head."""
    kind = _PinnedTLS if where.scheme == "https" else _Pinned
    problem: BaseException | None = None
    for address in where.addresses:
        conn = None
        try:
            conn = kind(where.host, where.port, address, deadline)
            conn.request(method, where.target, body=body, headers=headers)
            conn.sock.settimeout(deadline.timeout())
            return conn, conn.getresponse()
        except (OSError, http.client.HTTPException, ValueError) as exc:
            if conn is not None:
                conn.close()
            problem = exc
            if deadline.passed:
                break
    raise _unreachable(what, url, problem, deadline)


def _read(conn: _Pinned, response: http.client.HTTPResponse, deadline: Deadline, what: str, url: str,
          max_bytes: int) -> bytes:
    declared = response.getheader("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise InputError(f"{what} '{cut(url, 80)}' is larger than {max_bytes:,} bytes.")
    blocks, size = [], 0
    try:
        while True:
            if conn.sock is not None:
                conn.sock.settimeout(deadline.timeout())
            block = response.read1(READ_BLOCK)
            if not block:
                break
            size += len(block)
            if size > max_bytes:
                raise InputError(f"{what} '{cut(url, 80)}' is larger than {max_bytes:,} bytes.")
            blocks.append(block)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        if deadline.passed or isinstance(exc, TimeoutError):
            raise _unreachable(what, url, exc, deadline) from None
        raise InputError(f"{what} '{cut(url, 80)}' broke off: {cut(str(exc) or type(exc).__name__, 120)}.") from None
    if deadline.passed:  # the end of an answer read to its close may be the deadline's shutdown: not all of it
        raise _unreachable(what, url, None, deadline)
    return b"".join(blocks)


def _unreachable(what: str, url: str, exc: BaseException | None, deadline: Deadline) -> InputError:
    if deadline.passed:
        return InputError(f"{what} '{cut(url, 80)}' took longer than {deadline.seconds:g} s.")
    if isinstance(exc, TimeoutError):
        return InputError(f"{what} '{cut(url, 80)}' could not be reached: no answer within {deadline.per_read:g} s.")
    if isinstance(exc, ssl.SSLError):
        reason = getattr(exc, "reason", None) or str(exc)
    else:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return InputError(f"{what} '{cut(url, 80)}' could not be reached: {cut(str(reason), 120)}.")
