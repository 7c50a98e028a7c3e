"""`cbx serve` loses nothing: killed with -9 mid-job it finishes the job after a restart (only the missing chunks
rendered, the same bytes); stopped with SIGTERM it leaves queued jobs queued."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

from servers import client, running

HERE = Path(__file__).parent
PARAGRAPHS = "\n\n".join(f"Paragraph {n} of the long job, which takes a while to narrate on a busy engine."
                         for n in range(10))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(tmp_path: Path, port: int, delay: float) -> subprocess.Popen:
    env = {**os.environ, "CBX_API_KEYS": ""}
    proc = subprocess.Popen([sys.executable, str(HERE / "serve_process.py"), str(port), str(tmp_path / "serve"),
                             str(tmp_path / "takes"), str(delay)], env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("the server process did not start: " + proc.stderr.read().decode()[-2000:])


def poll(http, request_id: str, until, seconds: float = 60.0) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        state = http.get(f"/v2/requests/{request_id}").json()
        if until(state):
            return state
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting: {state}")


def test_kill_9_mid_job_then_restart_completes_with_the_same_bytes(fake_engine, tmp_path):
    port = free_port()
    body = {"text": PARAGRAPHS, "seed": 11}
    server = start(tmp_path, port, delay=0.4)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            request_id = http.post("/v2/tts", json=body).json()["request_id"]
            poll(http, request_id, lambda s: s["progress"]["chunks_done"] >= 4)
            server.send_signal(signal.SIGKILL)
            server.wait(10)
        server = start(tmp_path, port, delay=0.0)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            state = poll(http, request_id, lambda s: s["status"] in ("COMPLETED", "FAILED"))
            resumed = http.get(state["output_url"]).content
    finally:
        server.kill()
        server.wait(10)
    assert state["status"] == "COMPLETED"
    assert state["metrics"]["chunks"] == 10 and state["metrics"]["cached_chunks"] >= 4
    assert state["metrics"]["rendered_chunks"] == 10 - state["metrics"]["cached_chunks"]
    with running(tmp_path / "fresh", fake_engine, keys=(), cache_dir=tmp_path / "fresh-takes", batch_size=2) as base:
        with client(base, key=None) as http:
            uninterrupted = http.post("/v1/tts", json=body).content
    assert resumed == uninterrupted


def test_sigterm_finishes_the_batch_and_leaves_queued_jobs_queued(tmp_path):
    port = free_port()
    server = start(tmp_path, port, delay=0.5)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        ids = [http.post("/v2/tts", json={"text": PARAGRAPHS, "seed": n}).json()["request_id"] for n in range(3)]
        poll(http, ids[0], lambda s: s["status"] == "PROCESSING")
    server.send_signal(signal.SIGTERM)
    code = server.wait(60)
    stderr = server.stderr.read().decode()
    assert code == 0, stderr
    assert "queued jobs stay queued" in stderr and "Traceback" not in stderr
    with sqlite3.connect(tmp_path / "serve" / "jobs.sqlite3") as db:
        states = dict(db.execute("SELECT id, status FROM jobs").fetchall())
    assert [states[i] for i in ids] == ["QUEUED", "QUEUED", "QUEUED"]
