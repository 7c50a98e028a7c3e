"""A real headless Chromium (Debian's package), driven over the DevTools protocol on a pipe: open a page, wait until
it has loaded, and evaluate JavaScript in it, awaiting promises in real time (not the virtual time of --dump-dom,
which may run out before a media element has read its data). No client library: the protocol over
``--remote-debugging-pipe`` is NUL-terminated JSON on file descriptors 3 (commands in) and 4 (replies out)."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

BINARY = next((shutil.which(name) for name in ("chromium", "chromium-browser") if shutil.which(name)), None)


class Chromium:
    def __init__(self, profile: Path):
        to_child, self._send = os.pipe()
        self._recv, from_child = os.pipe()

        def wire() -> None:  # in the child: its fd 3 reads our commands, its fd 4 carries its replies
            commands, replies = fcntl.fcntl(to_child, fcntl.F_DUPFD, 10), fcntl.fcntl(from_child, fcntl.F_DUPFD, 10)
            os.dup2(commands, 3)
            os.dup2(replies, 4)

        self.proc = subprocess.Popen(
            [BINARY, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe", "--no-first-run",
             f"--user-data-dir={profile}", "about:blank"],
            preexec_fn=wire, pass_fds=(3, 4), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        os.close(to_child)
        os.close(from_child)
        self._buffer = b""
        self._id = 0

    def call(self, method: str, session: str | None = None, **params) -> dict:
        """Send one command and return its result (events in between are skipped)."""
        self._id += 1
        message = {"id": self._id, "method": method, "params": params, **({"sessionId": session} if session else {})}
        os.write(self._send, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    def _read(self) -> dict:
        while b"\0" not in self._buffer:
            data = os.read(self._recv, 1 << 16)
            if not data:
                raise RuntimeError("chromium closed the DevTools pipe")
            self._buffer += data
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)

    def open(self, url: str, timeout: float = 60.0) -> str:
        """A new tab at ``url``, loaded; returns its session for `evaluate`."""
        target = self.call("Target.createTarget", url=url)["targetId"]
        session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        deadline = time.monotonic() + timeout
        while self._state(session) != f"{url} complete":
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not load in {timeout} s")
            time.sleep(0.1)
        return session

    def _state(self, session: str) -> str | None:
        try:
            return self.evaluate(session, "location.href + ' ' + document.readyState")
        except RuntimeError:  # the blank page's context went away as the navigation committed
            return None

    def evaluate(self, session: str, expression: str):
        """The value of ``expression`` in the page (a promise is awaited)."""
        result = self.call("Runtime.evaluate", session, expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except (RuntimeError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._send)
        os.close(self._recv)
