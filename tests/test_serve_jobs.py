"""`cbx serve`'s queue (/v2), webhooks, voices, metrics and batching across requests, on a real loopback server."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from cbx_cli.tools.checkpoints import write_voice_wav
from servers import OTHER_KEY, client, running


@pytest.fixture
def base(fake_engine, tmp_path):
    with running(tmp_path / "serve", fake_engine) as url:
        yield url


def wait_for(http, request_id: str, seconds: float = 60.0) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        state = http.get(f"/v2/requests/{request_id}").json()
        if state["status"] in ("COMPLETED", "FAILED"):
            return state
        time.sleep(0.05)
    raise AssertionError(f"job {request_id} did not finish: {state}")


def test_v2_queue_completes_with_metrics_and_same_audio_as_v1(base):
    body = {"text": "Queued work. It has two sentences, at least.", "seed": 3}
    with client(base) as http:
        submitted = http.post("/v2/tts", json=body)
        assert submitted.status_code == 202
        request_id = submitted.json()["request_id"]
        state = wait_for(http, request_id)
        audio = http.get(state["output_url"])
        direct = http.post("/v1/tts", json=body)
    assert state["status"] == "COMPLETED"
    assert state["progress"]["chunks_done"] == state["progress"]["chunks_total"] == state["metrics"]["chunks"]
    assert state["metrics"]["audio_seconds"] > 0 and state["metrics"]["inference_seconds"] >= 0
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
    assert audio.content == direct.content
    assert json.loads(direct.headers["x-cbx-cached-chunks"]) == state["metrics"]["chunks"]  # the job's takes, reused


def test_v2_markdown_script_and_other_keys_jobs_are_hidden(base):
    script = "# One\n\nFirst chapter text.\n\n# Two\n\n<!-- cbx: exaggeration=0.7 -->\nSecond chapter text.\n"
    with client(base) as http:
        request_id = http.post("/v2/tts", json={"text": script, "markdown": True, "format": "flac"}).json()[
            "request_id"]
        state = wait_for(http, request_id)
        with client(base, key=OTHER_KEY) as other:
            assert other.get(f"/v2/requests/{request_id}").status_code == 404
            assert other.get(f"/v2/requests/{request_id}/audio").status_code == 404
        assert http.get("/v2/requests/" + "0" * 32).status_code == 404
        assert http.get("/v2/requests/../../etc/passwd").status_code == 404
    assert state["status"] == "COMPLETED" and state["metrics"]["chunks"] == 4  # two headings, two paragraphs


def test_v2_audio_before_completion_is_409(fake_engine, tmp_path):
    fake_engine.knobs["delay"] = 0.5
    with running(tmp_path / "serve", fake_engine) as base, client(base) as http:
        request_id = http.post("/v2/tts", json={"text": "Slow work."}).json()["request_id"]
        early = http.get(f"/v2/requests/{request_id}/audio")
        wait_for(http, request_id)
    assert early.status_code == 409 and "COMPLETED" in early.json()["detail"]


class Receiver:
    """A loopback webhook receiver: answers 500 to the first ``failures`` calls, records every call."""

    def __init__(self, failures: int):
        self.calls: list[tuple[bytes, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.calls.append((body, self.headers.get("X-Cbx-Signature", "")))
                self.send_response(500 if len(outer.calls) <= failures else 200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.http = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_port}/hook"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def close(self):
        self.http.shutdown()
        self.http.server_close()


@pytest.mark.parametrize("failures, attempts, delivered", [(1, 2, True), (10, 3, False)])
def test_webhook_signed_retried_and_bounded(base, tmp_path, failures, attempts, delivered):
    receiver = Receiver(failures)
    try:
        with client(base) as http:
            request_id = http.post("/v2/tts", json={"text": "Call me back.", "webhook": receiver.url}).json()[
                "request_id"]
            wait_for(http, request_id)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and http.get(f"/v2/requests/{request_id}").json()["webhook"][
                    "attempts"] < attempts:
                time.sleep(0.05)
            time.sleep(0.5)  # no further attempt comes
            state = http.get(f"/v2/requests/{request_id}").json()
    finally:
        receiver.close()
    assert len(receiver.calls) == attempts
    assert state["webhook"] == {"attempts": attempts, "delivered": delivered}
    secret = (tmp_path / "serve" / "webhook-secret").read_text().strip().encode()
    for body, signature in receiver.calls:
        assert signature == "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        sent = json.loads(body)
        assert sent["request_id"] == request_id and sent["status"] == "COMPLETED"


def test_webhook_to_private_address_refused_unless_allowed(fake_engine, tmp_path):
    with running(tmp_path / "serve", fake_engine, allow_private=False) as base, client(base) as http:
        answer = http.post("/v2/tts", json={"text": "Hi.", "webhook": "http://127.0.0.1:9/hook"})
        reference = http.post("/v1/tts", json={"text": "Hi.", "reference_audio": "http://10.0.0.1/voice.wav"})
    assert answer.status_code == 422 and "private or local address" in answer.json()["detail"]
    assert reference.status_code == 422 and "private or local address" in reference.json()["detail"]


def test_voices_add_list_use_delete(base, fake_engine, tmp_path):
    wav = write_voice_wav(tmp_path / "v.wav", seconds=6.0, sr=24000).read_bytes()
    encoded = base64.b64encode(wav).decode()
    with client(base) as http:
        added = http.post("/v1/voices", json={"name": "narrator", "reference_audio": encoded})
        again = http.post("/v1/voices", json={"name": "narrator", "reference_audio": encoded})
        listed = http.get("/v1/voices").json()
        spoken = http.post("/v1/tts", json={"text": "In my voice.", "voice": "narrator"})
        builtin = http.post("/v1/tts", json={"text": "In my voice."})
        deleted = http.delete("/v1/voices/narrator")
        gone = http.delete("/v1/voices/narrator")
        unknown = http.post("/v1/tts", json={"text": "In my voice.", "voice": "narrator"})
    assert added.status_code == 201 and added.json()["name"] == "narrator"
    assert again.status_code == 422 and "already exists" in again.json()["detail"]
    assert [v["name"] for v in listed["voices"]] == ["narrator"]
    assert spoken.status_code == 200 and builtin.status_code == 200
    assert "narrator" in [p.name for e in fake_engine.made for p in e.prompts if p is not None]
    assert deleted.status_code == 204 and gone.status_code == 404
    assert unknown.status_code == 422 and "Unknown voice 'narrator'" in unknown.json()["detail"]


def test_reference_audio_base64_is_checked_and_used(base, fake_engine, tmp_path):
    wav = write_voice_wav(tmp_path / "v.wav", seconds=6.0, sr=24000).read_bytes()
    with client(base) as http:
        good = http.post("/v1/tts", json={"text": "Cloned.", "reference_audio": base64.b64encode(wav).decode()})
        data_uri = http.post("/v1/tts", json={"text": "Cloned.",
                                              "reference_audio": "data:audio/wav;base64," + base64.b64encode(wav)
                                              .decode()})
    assert good.status_code == 200 and data_uri.content == good.content
    prompts = [p for engine in fake_engine.made for p in engine.prompts if p is not None]
    assert prompts and all(p.path.parent == tmp_path / "serve" / "references" for p in prompts)


def test_metrics_count_requests_batches_and_queue(base):
    with client(base) as http:
        http.post("/v1/tts", json={"text": "Counted."})
        http.post("/v1/tts", json={"text": "x" * 6000})
        text = http.get("/metrics").text
        unauthorized = client(base, key=None).get("/metrics")
    assert 'cbx_requests_total{method="POST",route="/v1/tts",status="200"} 1' in text
    assert 'cbx_errors_total{route="/v1/tts"} 1' in text
    assert "cbx_queue_depth 0" in text
    assert "cbx_batch_chunks_count 1" in text
    assert unauthorized.status_code == 401


def test_concurrent_requests_share_batches_and_match_alone(fake_engine, tmp_path):
    """Ten requests at once on a busy engine: fewer engine calls than requests, each answer as when alone."""
    fake_engine.knobs["delay"] = 0.3
    texts = [f"Request number {n} asks for its own sentence." for n in range(10)]
    with running(tmp_path / "serve", fake_engine, cache_dir=tmp_path / "takes-a") as base, client(base) as http:
        with ThreadPoolExecutor(10) as pool:
            together = list(pool.map(lambda t: http.post("/v1/tts", json={"text": t}), texts))
        calls = list(fake_engine.last.calls)
    with running(tmp_path / "serve2", fake_engine, cache_dir=tmp_path / "takes-b") as base, client(base) as http:
        alone = [http.post("/v1/tts", json={"text": t}) for t in texts]
    assert all(a.status_code == 200 for a in together)
    assert [a.content for a in together] == [a.content for a in alone]
    assert len(calls) < len(texts) and max(len(c) for c in calls) > 1


def test_load_fifty_concurrent_requests_none_lost(base):
    texts = [f"Load test line {n}." for n in range(50)]
    with client(base) as http, client(base, key=OTHER_KEY) as other:
        def ask(n):
            return (http if n % 2 else other).post("/v1/tts", json={"text": texts[n], "format": "pcm"})
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(ask, range(50)))
    codes = [a.status_code for a in answers]
    assert all(c in (200, 429) for c in codes)
    assert codes.count(200) >= 20
    assert all(a.headers.get("retry-after") == "1" for a in answers if a.status_code == 429)
    lengths = {len(a.content) for a in answers if a.status_code == 200}
    assert min(lengths) > 0


def test_api_key_file_and_env(tmp_path, monkeypatch):
    from cbx_cli.serve.auth import Keys, digest, load_keys

    keys = tmp_path / "keys"
    keys.write_text(f"# team keys\nplain-key\nsha256:{digest('hashed-key')}\n\n")
    monkeypatch.setenv("CBX_API_KEYS", "env-key")
    checker = Keys(load_keys(keys))
    assert all(checker.check(k) for k in ("plain-key", "hashed-key", "env-key"))
    assert checker.check("other") is None
    assert "plain-key" not in checker.digests and digest("plain-key") in checker.digests  # held hashed


def test_job_that_fails_reports_failed_and_its_message(fake_engine, tmp_path):
    fake_engine.knobs["refusal"] = "This recording cannot be used."
    encoded = base64.b64encode(write_voice_wav(tmp_path / "v.wav", seconds=6.0, sr=24000).read_bytes()).decode()
    with running(tmp_path / "serve", fake_engine) as base, client(base) as http:
        request_id = http.post("/v2/tts", json={"text": "Hi.", "reference_audio": encoded}).json()["request_id"]
        state = wait_for(http, request_id)
        audio = http.get(f"/v2/requests/{request_id}/audio")
        direct = http.post("/v1/tts", json={"text": "Hi.", "reference_audio": encoded})
    assert state["status"] == "FAILED" and state["error"] == "This recording cannot be used."
    assert state["output_url"] is None and audio.status_code == 409
    assert direct.status_code == 422 and direct.json() == {"detail": "This recording cannot be used."}


def test_serve_bench_reports_each_client_count(fake_engine, tmp_path):
    from cbx_cli.tools.bench_serve import format_report, run_serve_bench

    result = run_serve_bench(tmp_path, "original", "cpu", requests=4, tokens=10, clients=(1, 4),
                             engine_factory=fake_engine)
    assert set(result["clients"]) == {"1", "4"}
    for side in result["clients"].values():
        assert side["requests_per_min"] > 0 and side["audio_s"] > 0
    assert "| 4 |" in format_report(result)
    assert sum(len(c) for c in fake_engine.last.calls) == 4 * 2 + 1  # both sides and the warm-up, each chunk once
