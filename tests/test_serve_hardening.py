"""What a server must hold against clients that misbehave and a data folder that fails, on a real loopback server
(fake engine): the key checked before a byte of the body is read, deadlines on a request's head and body, a job
database that is missing or a data folder that cannot be written refusing new jobs (503 in each API's shape, one log
line, nothing lost silently), queued and running jobs cancelled, and webhooks that never answer holding up no job.
Every refusal is asserted by status, the API's error shape, one log line and no traceback."""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import socket
import subprocess
import time
from pathlib import Path

import httpx
import msgpack
import pytest

from cbx_cli.serve import Defaults
from cbx_cli.serve.service import Limits
from cbx_cli.tools.checkpoints import write_voice_wav
from outbound import Site, Trickle
from servers import KEY, OTHER_KEY, assert_refused, client, running

PIXAZO = "/chatterbox-text-to-speech/v1/chatterbox-text-to-speech-request"
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """One server for the module's quick cases: small limits, short deadlines."""
    from fakes import FakeEngines

    folder = tmp_path_factory.mktemp("hardening")
    limits = Limits(max_body=5000, head_seconds=0.6, body_seconds=0.6)
    with running(folder / "serve", FakeEngines(), limits=limits, defaults=Defaults(http_webhooks=True)) as base:
        yield base


# -- the key before the body ---------------------------------------------------------------------------------------

BAD_BODY = b'{"text": "no closing brace"'
NO_KEY = [
    # (API, method, path, extra headers, body, status, words)
    ("cbx", "POST", "/v1/tts", JSON, BAD_BODY, 401, "Missing API key"),
    ("cbx", "POST", "/v2/tts", JSON, BAD_BODY, 401, "Missing API key"),
    ("cbx", "POST", "/v1/voices", JSON, BAD_BODY, 401, "Missing API key"),
    ("cbx", "POST", "/v1/tts", JSON, b"x" * 9000, 401, "Missing API key"),
    ("cbx", "POST", "/v1/tts", {**JSON, "x-api-key": "wrong"}, BAD_BODY, 403, "Invalid API key"),
    ("cbx+segmind", "DELETE", "/v2/requests/" + "0" * 32, {}, None, 401, "Missing API key"),
    ("cbx", "GET", "/v1/voices", {}, None, 401, "Missing API key"),
    ("openai", "POST", "/v1/audio/speech", JSON, BAD_BODY, 401, "Missing API key"),
    ("openai", "POST", "/v1/audio/speech", {**JSON, "Authorization": "Bearer wrong"}, BAD_BODY, 403, "Invalid"),
    ("segmind", "POST", "/v1/chatterbox-tts", JSON, BAD_BODY, 401, "Missing API key"),
    ("segmind", "POST", "/v2/chatterbox-turbo-tts", JSON, BAD_BODY, 401, "Missing API key"),
    ("segmind", "GET", "/v2/requests/" + "0" * 32 + "/status", {}, None, 401, "Missing API key"),
    ("pixazo", "POST", PIXAZO, JSON, BAD_BODY, 401, "missing subscription key"),
    ("pixazo", "POST", PIXAZO, {**JSON, "Ocp-Apim-Subscription-Key": "wrong"}, BAD_BODY, 401, "invalid subscription"),
    ("resonance", "POST", "/generate", JSON, BAD_BODY, 403, "Invalid API key"),
    ("fish", "POST", "/v1/tts", {"content-type": "application/msgpack"}, b"\xc1\xc1\xc1", 401, "Missing API key"),
    ("fish", "POST", "/v1/tts", {"content-type": "application/msgpack", "Authorization": "Bearer wrong"},
     msgpack.packb([1, 2]), 401, "Invalid API key"),
]


@pytest.mark.parametrize("api, method, path, headers, body, status, words", NO_KEY)
def test_the_key_is_checked_before_the_body_is_read(served, caplog, api, method, path, headers, body, status, words):
    caplog.set_level(logging.WARNING)
    with httpx.Client(base_url=served, timeout=30) as http:
        answer = http.request(method, path, content=body, headers=headers)
    assert_refused(answer, status, api, words, caplog.records)


# -- deadlines on a request's head and body --------------------------------------------------------------------------


def closed_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the server closes ``sock`` within ``seconds`` (anything it sends first is read and dropped)."""
    sock.settimeout(seconds)
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            if not sock.recv(4096):
                return True
    except (TimeoutError, ConnectionResetError):
        return False
    return False


def test_half_open_connections_are_closed_when_their_head_is_late(served, caplog):
    """Twenty connections: ten send part of a request's head and stop, ten send nothing; each is closed about
    head_seconds (0.6 s) after it opened, with one log line."""
    caplog.set_level(logging.WARNING)
    host, port = served.removeprefix("http://").split(":")
    socks = [socket.create_connection((host, int(port))) for _ in range(20)]
    for sock in socks[:10]:
        sock.sendall(b"POST /v1/tts HTTP/1.1\r\nHost: x\r\nx-api-key: " + KEY.encode())
    started = time.monotonic()
    closed = [closed_within(sock, 5.0) for sock in socks]
    took = time.monotonic() - started
    for sock in socks:
        sock.close()
    assert all(closed) and took < 3.0
    lines = [r.getMessage() for r in caplog.records if r.name == "cbx_cli.serve.connections"]
    assert sum("request line and headers did not arrive within 0.6 s" in line for line in lines) == 10
    assert sum("sent no request within 0.6 s" in line for line in lines) == 10


def test_a_trickled_head_on_a_kept_alive_connection_is_closed_too(served):
    host, port = served.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.settimeout(5)
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        for part in (b"GET /hea", b"lthz HTT", b"P/1.1\r\n"):  # each byte in time for uvicorn, the whole head late
            sock.sendall(part)
            time.sleep(0.25)
        assert closed_within(sock, 3.0)


@pytest.mark.parametrize("api, path, headers", [
    ("cbx", "/v1/tts", {"x-api-key": KEY}),
    ("segmind", "/v1/chatterbox-tts", {"x-api-key": KEY}),
    ("pixazo", PIXAZO, {"Ocp-Apim-Subscription-Key": KEY}),
    ("openai", "/v1/audio/speech", {"Authorization": f"Bearer {KEY}"}),
])
def test_a_body_that_stops_arriving_is_a_408(served, caplog, api, path, headers):
    """The head is complete and the key good; the body declares 100 bytes and sends 10, then nothing."""
    caplog.set_level(logging.WARNING)
    host, port = served.removeprefix("http://").split(":")
    lines = [f"POST {path} HTTP/1.1", "Host: x", "Content-Type: application/json", "Content-Length: 100"]
    head = "\r\n".join(lines + [f"{k}: {v}" for k, v in headers.items()]) + "\r\n\r\n"
    started = time.monotonic()
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(head.encode() + b'{"text": "')
        sock.settimeout(10)
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    took = time.monotonic() - started
    status_line, _, rest = raw.partition(b"\r\n")
    body = rest.partition(b"\r\n\r\n")[2]
    answer = httpx.Response(int(status_line.split()[1]), content=body,
                            request=httpx.Request("POST", served + path))
    assert 0.5 < took < 3.0
    assert_refused(answer, 408, api, "did not arrive within 0.6 s", caplog.records)


def test_a_slow_but_whole_request_within_its_deadlines_is_served(served):
    host, port = served.removeprefix("http://").split(":")
    body = b'{"text": "In time."}'
    head = (f"POST /v1/tts HTTP/1.1\r\nHost: x\r\nx-api-key: {KEY}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection((host, int(port))) as sock:
        for part in (head[:20], head[20:], body[:5], body[5:]):
            sock.sendall(part)
            time.sleep(0.1)
        sock.settimeout(30)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200") and b"audio/wav" in answer


# -- a job database that is missing, a data folder that cannot be written --------------------------------------------

QUEUE_ROUTES = [
    # (API, path, headers, body)
    ("cbx", "/v2/tts", {"x-api-key": KEY}, {"text": "Queued."}),
    ("segmind", "/v2/chatterbox-tts", {"x-api-key": KEY}, {"text": "Queued."}),
    ("pixazo", PIXAZO, {"Ocp-Apim-Subscription-Key": KEY}, {"text": "Queued."}),
]


def refuse_every_queue(base: str, caplog, words: str) -> None:
    with httpx.Client(base_url=base, timeout=30) as http:
        for api, path, headers, body in QUEUE_ROUTES:
            caplog.clear()
            assert_refused(http.post(path, json=body, headers=headers), 503, api, words, caplog.records)


def wait_done(http: httpx.Client, request_id: str, seconds: float = 30.0) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        state = http.get(f"/v2/requests/{request_id}").json()
        if state["status"] in ("COMPLETED", "FAILED", "CANCELLED"):
            return state
        time.sleep(0.05)
    raise AssertionError(f"job {request_id} did not end: {state}")


def test_a_job_database_deleted_between_runs_is_noticed(fake_engine, tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    data = tmp_path / "serve"
    with running(data, fake_engine) as base, client(base) as http:
        done = wait_done(http, http.post("/v2/tts", json={"text": "Kept."}).json()["request_id"])
    for name in ("jobs.sqlite3", "jobs.sqlite3-wal", "jobs.sqlite3-shm"):
        (data / name).unlink(missing_ok=True)
    with running(data, fake_engine) as base, client(base) as http:
        started = [r.getMessage() for r in caplog.records if "is missing" in r.getMessage()]
        refuse_every_queue(base, caplog, "is missing, though this data folder had one")
        caplog.clear()
        assert_refused(http.get(f"/v2/requests/{done['request_id']}"), 503, "cbx+segmind", "is missing",
                       caplog.records)
        spoken = http.post("/v1/tts", json={"text": "Still speaking."})
    assert done["status"] == "COMPLETED" and len(started) == 1
    assert spoken.status_code == 200 and not (data / "jobs.sqlite3").exists()
    (data / "jobs.created").unlink()  # what the log line says to do to start afresh
    with running(data, fake_engine) as base, client(base) as http:
        assert http.post("/v2/tts", json={"text": "Afresh."}).status_code == 202


def empty_database(path: Path) -> None:
    import sqlite3

    path.unlink()
    sqlite3.connect(path).close()


@pytest.mark.parametrize("spoil, words", [
    (lambda path: path.write_bytes(b""), "holds no jobs table"),
    (empty_database, "holds no jobs table"),
    (lambda path: path.write_bytes(b"not a database" * 100), "cannot be opened"),
], ids=["emptied", "replaced-by-an-empty-database", "garbage"])
def test_a_job_database_emptied_or_spoiled_between_runs_is_not_taken_for_a_new_one(fake_engine, tmp_path, caplog,
                                                                                   spoil, words):
    caplog.set_level(logging.WARNING)
    data = tmp_path / "serve"
    with running(data, fake_engine) as base, client(base) as http:
        wait_done(http, http.post("/v2/tts", json={"text": "Kept."}).json()["request_id"])
    for name in ("jobs.sqlite3-wal", "jobs.sqlite3-shm"):
        (data / name).unlink(missing_ok=True)
    spoil(data / "jobs.sqlite3")
    spoiled = (data / "jobs.sqlite3").read_bytes()
    with running(data, fake_engine) as base:
        refuse_every_queue(base, caplog, words)
    assert (data / "jobs.sqlite3").read_bytes() == spoiled  # left as it was found, for its owner to restore


def test_a_job_database_deleted_while_the_server_runs_refuses_new_jobs(fake_engine, tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    data = tmp_path / "serve"
    with running(data, fake_engine) as base, client(base) as http:
        first = http.post("/v2/tts", json={"text": "Before."})
        wait_done(http, first.json()["request_id"])
        (data / "jobs.sqlite3").unlink()
        refuse_every_queue(base, caplog, "was deleted or replaced while the server ran")
    assert first.status_code == 202


@contextlib.contextmanager
def read_only(folder: Path):
    """``folder`` and everything in it made unwritable for this process (for root, which permissions do not stop,
    the immutable attribute), then writable again."""
    paths = [folder, *folder.rglob("*")]
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in paths}
        for p in paths:
            p.chmod(modes[p] & 0o555)
        try:
            yield
        finally:
            for p in reversed(paths):
                p.chmod(modes[p])
        return
    made = subprocess.run(["chattr", "-R", "+i", str(folder)], capture_output=True)
    if made.returncode != 0:
        pytest.skip("this file system cannot make a folder read-only for root (chattr +i)")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-R", "-i", str(folder)], check=True)


def test_a_read_only_data_folder_refuses_new_work_with_503(fake_engine, tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    data = tmp_path / "serve"
    data.mkdir()
    with read_only(data):
        with running(data, fake_engine) as base, client(base) as http:
            refuse_every_queue(base, caplog, "cannot be opened")
            caplog.clear()
            assert_refused(http.post("/v1/tts", json={"text": "Hi."}), 503, "cbx", "cannot be written", caplog.records)
    assert not any(r.exc_info for r in caplog.records)


def test_a_data_folder_made_read_only_while_running_refuses_new_work_with_503(fake_engine, tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    wav = write_voice_wav(tmp_path / "v.wav", seconds=6.0, sr=24000)
    data = tmp_path / "serve"
    with running(data, fake_engine) as base, client(base) as http:
        wait_done(http, http.post("/v2/tts", json={"text": "Before."}).json()["request_id"])
        with read_only(data):
            refuse_every_queue(base, caplog, "cannot be written")
            caplog.clear()
            voice = {"name": "late", "reference_audio": base64.b64encode(wav.read_bytes()).decode()}
            assert_refused(http.post("/v1/voices", json=voice), 503, "cbx", "cannot be written", caplog.records)
        after = http.post("/v2/tts", json={"text": "After."})
        added = http.post("/v1/voices", json=voice)
    assert after.status_code == 202 and added.status_code == 201


# -- cancelling a queued or running job ---------------------------------------------------------------------------

LONG = "\n\n".join(f"Paragraph {n} of a long job that the test cancels." for n in range(12))


def test_delete_cancels_a_queued_job_and_a_running_one_stops_at_a_batch_boundary(fake_engine, tmp_path):
    fake_engine.knobs["delay"] = 0.3
    takes = tmp_path / "takes"
    with running(tmp_path / "serve", fake_engine, workers=1, batch_size=2, cache_dir=takes) as base, \
            client(base) as http:
        running_id = http.post("/v2/tts", json={"text": LONG, "seed": 4}).json()["request_id"]
        queued_id = http.post("/v2/tts", json={"text": "Never spoken.", "seed": 4}).json()["request_id"]
        deadline = time.monotonic() + 30
        while http.get(f"/v2/requests/{running_id}").json()["progress"]["chunks_done"] < 2:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        queued = http.delete(f"/v2/requests/{queued_id}")
        cancelled = http.delete(f"/v2/requests/{running_id}")
        time.sleep(1.0)  # the batch in flight ends; nothing after it starts
        state = http.get(f"/v2/requests/{running_id}").json()
        spoken = list(fake_engine.last.spoken)
        time.sleep(0.7)
        spoken_later = list(fake_engine.last.spoken)
        again = http.delete(f"/v2/requests/{running_id}")
        other = client(base, key=OTHER_KEY).delete(f"/v2/requests/{queued_id}")
        audio = http.get(f"/v2/requests/{running_id}/audio")
        whole = http.post("/v1/tts", json={"text": LONG, "seed": 4})
    assert queued.status_code == 200 and queued.json()["status"] == "CANCELLED"
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "CANCELLED"
    assert state["status"] == "CANCELLED" and 2 <= len(spoken) < 12 and spoken_later == spoken
    assert not any("Never spoken" in text for text in spoken)
    assert again.status_code == 409 and "CANCELLED" in again.json()["detail"]
    assert other.status_code == 404 and audio.status_code == 409
    assert int(whole.headers["x-cbx-cached-chunks"]) >= 2  # the takes it finished stayed in the cache


def test_delete_of_a_segmind_job_answers_in_segmind_shape(fake_engine, tmp_path):
    fake_engine.knobs["delay"] = 0.5
    with running(tmp_path / "serve", fake_engine, workers=1) as base, \
            httpx.Client(base_url=base, headers={"x-api-key": KEY}, timeout=30) as http:
        http.post("/v2/chatterbox-tts", json={"text": "First, keeping the worker busy."})
        queued = http.post("/v2/chatterbox-tts", json={"text": "Second."}).json()["request_id"]
        cancelled = http.delete(f"/v2/requests/{queued}")
        status = http.get(f"/v2/requests/{queued}/status")
    assert cancelled.status_code == 200 and cancelled.json() == {"request_id": queued, "status": "CANCELLED"}
    assert status.json()["status"] == "CANCELLED"


# -- webhooks that never answer ------------------------------------------------------------------------------------


def test_two_unanswered_webhooks_never_hold_another_keys_job_queued(fake_engine, tmp_path):
    """One job worker; two jobs whose webhook receivers take the connection and never answer (each try waits its 10
    s); another key's one-chunk job still finishes at once."""
    silent = Site(hold=True)
    try:
        with running(tmp_path / "serve", fake_engine, workers=1) as base, client(base) as http, \
                client(base, key=OTHER_KEY) as other:
            hooked = [http.post("/v2/tts", json={"text": f"Hooked {n}.", "webhook": silent.url("/hook")})
                      .json()["request_id"] for n in range(2)]
            for request_id in hooked:
                wait_done(http, request_id)
            deadline = time.monotonic() + 10
            while len(silent.calls) < 2 and time.monotonic() < deadline:
                time.sleep(0.02)
            started = time.monotonic()
            state = wait_done(other, other.post("/v2/tts", json={"text": "Mine."}).json()["request_id"], 5.0)
            took = time.monotonic() - started
            pending = [http.get(f"/v2/requests/{r}").json()["webhook"] for r in hooked]
    finally:
        silent.close()
    assert len(silent.calls) == 2 and all(p == {"attempts": 1, "delivered": False} for p in pending)
    assert state["status"] == "COMPLETED" and took < 2.0


def test_a_webhook_receiver_that_answers_a_byte_at_a_time_holds_a_sender_no_longer_than_one_try(
        fake_engine, tmp_path, monkeypatch):
    """Each byte comes well within the read timeout; the try still ends when its time (TIMEOUT, 1 s here) is up, and
    the webhook fails after its 3 tries."""
    monkeypatch.setattr("cbx_cli.serve.server.TIMEOUT", 1.0)
    trickle = Trickle(every=0.1)
    try:
        with running(tmp_path / "serve", fake_engine) as base, client(base) as http:
            request_id = http.post("/v2/tts", json={"text": "Slow hook.", "webhook": trickle.url("/hook")}) \
                .json()["request_id"]
            wait_done(http, request_id)
            deadline = time.monotonic() + 20
            while (hook := http.get(f"/v2/requests/{request_id}").json()["webhook"])["attempts"] < 3 \
                    or len(trickle.ended) < 3:
                assert time.monotonic() < deadline, (hook, trickle.calls, trickle.ended)
                time.sleep(0.05)
            time.sleep(0.2)
            hook = http.get(f"/v2/requests/{request_id}").json()["webhook"]
    finally:
        trickle.close()
    assert hook == {"attempts": 3, "delivered": False}
    tries = [end - start for start, end in zip(trickle.calls, trickle.ended, strict=True)]
    assert all(0.8 < took < 2.0 for took in tries), tries
