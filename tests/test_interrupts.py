"""Signals and pipes on a real `cbx` process with the tiny checkpoint: any number of Ctrl-C (and SIGTERM) ends with
exit 130 and a consistent cache; a reader of stdout that stops early is an error, never "Wrote"."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cbx_cli.render.cache import TakeCache

pytestmark = pytest.mark.engine

TEXT = "\n\n".join(f"Paragraph number {n} of the test." for n in range(12))


def start(args: list[str], **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "cbx_cli", *args], stderr=subprocess.PIPE, env=os.environ.copy(),
                            **kwargs)


def engine_args(ckpt: Path, *extra: str) -> list[str]:
    return ["--model-dir", str(ckpt), "--device", "cpu", "--max-tokens", "8", "--retries", "0", "--batch-size", "1",
            *extra]


def wait_for(condition, child: subprocess.Popen, seconds: float = 50) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert child.poll() is None and condition(), child.stderr.read().decode() if child.poll() is not None else "slow"


def assert_consistent(cache: Path) -> None:
    """Every entry whole (its checksum holds), no unfinished one left."""
    takes = list(cache.glob("*/*.take"))
    assert takes and all(TakeCache(cache).get(p.stem) is not None for p in takes)
    assert not list(cache.glob("*/.tmp-*"))


def finish(child: subprocess.Popen) -> tuple[int, str]:
    _, err = child.communicate(timeout=40)
    return child.returncode, err.decode()


def interrupt(child: subprocess.Popen, *names: str, gap: float = 0.005) -> tuple[int, str]:
    """Send the signals ``gap`` seconds apart (by default, the next lands while the first is being handled)."""
    for name in names:
        if child.poll() is None:
            child.send_signal(getattr(signal, name))
        time.sleep(gap)
    code, err = finish(child)
    assert code == 130, err
    assert "Traceback" not in err and "terminate called" not in err and len(err.strip().splitlines()) <= 2, err
    return code, err


def test_ctrl_c_any_number_of_times_while_rendering(original_ckpt, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    cache, out = work / "cache", work / "out.wav"
    child = start(["say", TEXT, "-o", str(out), "--cache-dir", str(cache), *engine_args(original_ckpt)])
    wait_for(lambda: any(cache.glob("*/*.take")), child)  # rendering: worker threads busy
    _, err = interrupt(child, "SIGINT", "SIGINT", "SIGINT")
    assert err.startswith("cbx: error: interrupted")
    assert_consistent(cache)
    assert [p.name for p in work.iterdir()] == ["cache"]  # no output, no partial file


def test_sigterm_is_handled_like_ctrl_c(original_ckpt, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    cache = work / "cache"
    child = start(["say", TEXT, "-o", str(work / "out.wav"), "--cache-dir", str(cache), *engine_args(original_ckpt)])
    wait_for(cache.is_dir, child)  # checked before the model loads: the handlers are in place
    _, err = interrupt(child, "SIGTERM", "SIGINT", gap=0.3)  # sent together, SIGINT's handler would run first
    assert err.startswith("cbx: error: terminated")
    assert [p.name for p in work.iterdir()] == ["cache"]


def test_a_reader_that_stops_early_gets_no_wrote(original_ckpt, tmp_path):
    # 192 kHz makes even a short take more than a pipe holds, so the write itself fails (a write that fits in the
    # pipe but is never all read: test_safety.py)
    child = start(["say", "Hello there.", "-o", "-", "--no-cache", "--sample-rate", "192000",
                   *engine_args(original_ckpt)], stdout=subprocess.PIPE)
    assert len(child.stdout.read(100)) == 100
    child.stdout.close()  # like `| head -c 100`
    code, err = finish(child)
    assert code == 141, err
    assert "Wrote" not in err and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("cbx: error: stdout closed before all ")
