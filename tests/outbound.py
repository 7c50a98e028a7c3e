"""What the server's outbound requests meet in tests, all on loopback: a DNS stand-in inside the test process, small
HTTP(S) servers on 127.0.0.1 that stand in for public hosts and for the server's own private services, and a test
certificate authority.

`Resolver` replaces `socket.getaddrinfo` for the test: a name answers the addresses the test gives it, one answer
per lookup (the last one repeats), so a name can resolve public first and 127.0.0.1 next (DNS rebinding); a
public-looking address the test routes is connected to a loopback server standing in for that host; every other
name is unknown, so no traffic can leave the machine.
"""

from __future__ import annotations

import datetime
import itertools
import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PUBLIC = "93.184.216.34"
"""A public-looking address; `Resolver.route` points it at a loopback server."""
CDN = "93.184.216.35"
SECURE = "93.184.216.36"

LOOPBACK = ("127.0.0.1", "::1", "localhost")


class Resolver:
    """`socket.getaddrinfo` for a test (install with ``monkeypatch.setattr(socket, "getaddrinfo", resolver)``)."""

    def __init__(self):
        self.real = socket.getaddrinfo
        self.answers: dict[str, list[list[str]]] = {}
        self.routes: dict[str, int] = {}
        self.lookups: Counter[str] = Counter()
        self.connects: Counter[str] = Counter()

    def name(self, host: str, *answers: list[str]) -> None:
        """``host`` answers each of ``answers`` (a list of addresses) in turn; the last one repeats."""
        self.answers[host] = [list(a) for a in answers]

    def route(self, address: str, port: int) -> None:
        """Connections to ``address`` (any port) reach the loopback server on ``port``."""
        self.routes[address] = port

    def __call__(self, host, port, family=0, type=0, proto=0, flags=0):
        host = host.decode() if isinstance(host, bytes) else host
        if host in self.answers:
            self.lookups[host] += 1
            turns = self.answers[host]
            addresses = turns[min(self.lookups[host], len(turns)) - 1]
            return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                     (a, port, 0, 0) if ":" in a else (a, port)) for a in addresses]
        if host in self.routes:
            self.connects[host] += 1
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", self.routes[host]))]
        if host in LOOPBACK or host is None:
            return self.real(host, port, family, type, proto, flags)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


class Site:
    """An HTTP server on 127.0.0.1 in a thread: ``pages`` maps (method, path) to (status, headers, body); every
    request is recorded as (method, path, headers). With ``tls`` (an `ssl.SSLContext`) it speaks https and records
    the SNI name each handshake sent."""

    def __init__(self, pages: dict[tuple[str, str], tuple[int, dict[str, str], bytes]] | None = None,
                 tls: ssl.SSLContext | None = None, hold: bool = False):
        self.pages = pages or {}
        self.calls: list[tuple[str, str, dict[str, str]]] = []
        self.sni: list[str | None] = []
        self.hold = hold
        self._release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                outer.calls.append((self.command, self.path, dict(self.headers)))
                if outer.hold:  # an unanswered webhook: the connection stays open until the site closes
                    outer._release.wait(60)
                    return
                status, headers, body = outer.pages.get((self.command, self.path.split("?")[0]), (404, {}, b""))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        if tls is not None:
            tls.sni_callback = lambda sock, name, ctx: self.sni.append(name)
            self.http.socket = tls.wrap_socket(self.http.socket, server_side=True)
        self.port = self.http.server_port
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def url(self, path: str, host: str = "127.0.0.1", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"

    def close(self) -> None:
        self._release.set()
        self.http.shutdown()
        self.http.server_close()


def redirect(to: str, status: int = 302) -> tuple[int, dict[str, str], bytes]:
    return status, {"Location": to}, b""


def audio(data: bytes) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": "audio/wav"}, data


def certificate_authority(folder: Path, *hosts: str) -> tuple[Path, Callable[[], ssl.SSLContext]]:
    """A test CA's certificate (PEM, for SSL_CERT_FILE) and a maker of server contexts holding a certificate it
    signed for ``hosts``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cbx test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in hosts]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    ca_file = folder / "ca.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    chain = folder / "server.pem"
    chain.write_bytes(leaf.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))

    def server_context() -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(chain)
        return context

    return ca_file, server_context


class Trickle:
    """A server on 127.0.0.1 that reads each request, sends ``head`` (default: nothing) and then a byte at a time,
    every ``every`` seconds, never finishing: a read timeout never fires on it, only a deadline on the whole answer.
    With no ``head`` it never finishes its status line."""

    def __init__(self, every: float = 0.1, head: bytes = b""):
        self.every = every
        self.head = head
        self.calls: list[float] = []
        """When each connection came (time.monotonic)."""
        self.ended: list[float] = []
        """When the far end closed each connection."""
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        self.calls.append(time.monotonic())
        with conn:
            conn.recv(65536)
            try:
                conn.sendall(self.head)
                for byte in itertools.cycle(b"HTTP/1.1 200 OK"):
                    if self._stop.wait(self.every):
                        return
                    conn.sendall(bytes([byte]))
            except OSError:
                self.ended.append(time.monotonic())

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
