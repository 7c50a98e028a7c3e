"""Run `cbx` in-process through Typer's CliRunner, as a shell would see it: exit code, stdout bytes, stderr.

The app's command group turns every failure into one line on stderr and an exit code (cbx_cli.cli.app), so what
the runner sees is what the installed `cbx` prints.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from typer.testing import CliRunner

from cbx_cli.cli import app


@dataclass
class Run:
    exit_code: int
    stdout_bytes: bytes
    stderr: str
    exception: BaseException | None

    @property
    def stdout(self) -> str:
        return self.stdout_bytes.decode("utf-8", "replace")

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run(args: list[str], input: str | bytes | None = None) -> Run:
    try:
        result = CliRunner().invoke(app, [str(a) for a in args], input=input, prog_name="cbx")
    finally:
        root = logging.getLogger()
        for handler in [h for h in root.handlers if getattr(h, "_cbx", False)]:
            root.removeHandler(handler)  # it writes to the runner's stderr, closed now
    exception = result.exception if not isinstance(result.exception, SystemExit) else None
    return Run(result.exit_code, result.stdout_bytes, result.stderr_bytes.decode("utf-8", "replace"), exception)


def kill_once_cached(args: list[str], cache, takes: int = 2, timeout: float = 300) -> int:
    """Run `python -m cbx_cli ARGS` in a child process, SIGKILL it once the take cache ``cache`` holds ``takes``
    entries, and return how many it holds then. The child must still be running at that moment."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    def entries() -> int:
        return len(list(Path(cache).glob("*/*.take")))

    child = subprocess.Popen([sys.executable, "-m", "cbx_cli", *map(str, args)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, env=os.environ.copy())
    deadline = time.monotonic() + timeout
    while entries() < takes and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert child.poll() is None, child.stderr.read().decode()
    child.send_signal(signal.SIGKILL)
    child.wait()
    return entries()
