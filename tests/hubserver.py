"""A real HTTP server on 127.0.0.1 that answers as the Hugging Face hub does for the calls a download makes: a
repository's revision and file tree (`/api/models/...`), and each file (`/{repo}/resolve/{revision}/{file}`, HEAD
and GET, with ranges so that a download cut off continues). huggingface_hub is pointed at it through its endpoint
(`HF_ENDPOINT`, read into `huggingface_hub.constants.ENDPOINT`). It serves files a test gives it, keeps a log of the
requests, and can cut a file's first download off after some bytes (a dropped connection) or stall it (a dead one).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

LFS_FROM = 1024
"""Files this big or bigger are served as LFS files (their etag is their SHA-256), as the hub serves weights."""


@dataclass
class Repo:
    files: dict[str, bytes]
    commit: str = "a" * 40
    refs: dict[str, str] = field(default_factory=dict)
    """Other named revisions (branch or tag → commit); "main" is `commit`."""


@dataclass
class Hub:
    repos: dict[str, Repo]
    log: list[tuple[str, str, str | None]] = field(default_factory=list)
    """(method, path, Range header) of every request."""
    cut_after: dict[str, int] = field(default_factory=dict)
    """File name → bytes after which its next GET is cut off (once), as a dropped connection does."""
    stall_after: dict[str, int] = field(default_factory=dict)
    """File name → bytes after which its next GET stops sending (once), until the server stops: a download that
    hangs, to be killed."""
    base: str = ""
    stopping: threading.Event = field(default_factory=threading.Event)

    def commit_of(self, repo: Repo, revision: str) -> str | None:
        revision = unquote(revision)
        if revision in ("main", repo.commit):
            return repo.commit
        return repo.refs.get(revision) or (revision if revision in repo.refs.values() else None)


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def etag(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest() if len(data) >= LFS_FROM else git_blob_id(data)


class _Handler(BaseHTTPRequestHandler):
    hub: Hub

    def log_message(self, *args) -> None:
        pass

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(head=True)

    def do_GET(self) -> None:  # noqa: N802
        self._answer(head=False)

    def _answer(self, head: bool) -> None:
        path = urlparse(self.path).path
        self.hub.log.append((self.command, path, self.headers.get("Range")))
        api = re.fullmatch(r"/api/models/([^/]+/[^/]+)/(revision|tree)/([^/]+)(/.*)?", path)
        if api:
            return self._api(api.group(1), api.group(2), api.group(3))
        resolve = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
        if resolve:
            return self._file(resolve.group(1), resolve.group(2), unquote(resolve.group(3)), head)
        self._error(404, "EntryNotFound")

    def _api(self, name: str, kind: str, revision: str) -> None:
        repo = self.hub.repos.get(name)
        if repo is None:
            return self._error(404, "RepoNotFound")
        commit = self.hub.commit_of(repo, revision)
        if commit is None:
            return self._error(404, "RevisionNotFound")
        if kind == "revision":
            body = {"id": name, "modelId": name, "sha": commit, "private": False,
                    "siblings": [{"rfilename": f} for f in repo.files]}
        else:
            body = []
            for f, data in repo.files.items():
                item = {"type": "file", "oid": git_blob_id(data), "size": len(data), "path": f}
                if len(data) >= LFS_FROM:
                    item["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
                body.append(item)
        self._send(200, json.dumps(body).encode(), {"Content-Type": "application/json"})

    def _file(self, name: str, revision: str, filename: str, head: bool) -> None:
        repo = self.hub.repos.get(name)
        if repo is None:
            return self._error(404, "RepoNotFound")
        commit = self.hub.commit_of(repo, revision)
        if commit is None:
            return self._error(404, "RevisionNotFound")
        data = repo.files.get(filename)
        if data is None:
            return self._error(404, "EntryNotFound")
        headers = {"X-Repo-Commit": commit, "ETag": f'"{etag(data)}"', "Accept-Ranges": "bytes",
                   "Content-Type": "application/octet-stream"}
        if len(data) >= LFS_FROM:
            headers |= {"X-Linked-Etag": f'"{etag(data)}"', "X-Linked-Size": str(len(data))}
        start = 0
        ranged = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        if ranged and not head:
            start = int(ranged.group(1))
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        body = data[start:]
        if head:
            self._send(200, b"", headers | {"Content-Length": str(len(data))}, body=False)
            return
        stall = self.hub.stall_after.pop(filename, None)
        cut = self.hub.cut_after.pop(filename, None)
        self.send_response(206 if start else 200)
        for key, value in (headers | {"Content-Length": str(len(body))}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body[:stall] if stall is not None else body[:cut] if cut is not None else body)
        self.wfile.flush()
        if stall is not None:
            self.hub.stopping.wait(60)
        if stall is not None or cut is not None:
            self.close_connection = True
            self.connection.shutdown(2)

    def _error(self, status: int, code: str) -> None:
        self._send(status, json.dumps({"error": code}).encode(), {"X-Error-Code": code,
                                                                  "Content-Type": "application/json"})

    def _send(self, status: int, payload: bytes, headers: dict, body: bool = True) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if body:
            self.wfile.write(payload)


@contextmanager
def serving(repos: dict[str, Repo], monkeypatch):
    """Serve ``repos`` on a free loopback port; point huggingface_hub at it and turn its offline mode off."""
    hub = Hub(repos)
    handler = type("Handler", (_Handler,), {"hub": hub})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    hub.base = f"http://127.0.0.1:{server.server_address[1]}"
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "ENDPOINT", hub.base)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", hub.base + "/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_ENDPOINT", hub.base)
    try:
        yield hub
    finally:
        hub.stopping.set()
        server.shutdown()
        server.server_close()


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}
