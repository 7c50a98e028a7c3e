"""Bad requests to `cbx serve`: each one a JSON ``{"detail": ...}`` with the right status, one line, no traceback in
the answer or the log."""

from __future__ import annotations

import base64
import logging

import pytest

from cbx_cli.serve.service import Limits
from servers import client, running

T = {"text": "Hello."}
NOT_AUDIO = base64.b64encode(b"this is not audio at all" * 10).decode()

CASES = [
    # (method, path, body or raw bytes, headers, status, words in the detail)
    ("POST", "/v1/tts", b"{not json", {"content-type": "application/json"}, 400, "not valid JSON"),
    ("POST", "/v1/tts", b"", {"content-type": "application/json"}, 400, "body"),
    ("POST", "/v1/tts", [1, 2], None, 400, "JSON object"),
    ("POST", "/v1/tts", {}, None, 422, "'text' is required"),
    ("POST", "/v1/tts", {"text": ""}, None, 422, "'text'"),
    ("POST", "/v1/tts", {"text": 5}, None, 422, "'text'"),
    ("POST", "/v1/tts", {**T, "temprature": 0.5}, None, 422, "Unknown field 'temprature'"),
    ("POST", "/v1/tts", {**T, "temperature": 9}, None, 422, "'temperature' 9"),
    ("POST", "/v1/tts", {**T, "temperature": "hot"}, None, 422, "'temperature'"),
    ("POST", "/v1/tts", {**T, "exaggeration": -1}, None, 422, "'exaggeration'"),
    ("POST", "/v1/tts", {**T, "cfg_weight": 5}, None, 422, "'cfg_weight'"),
    ("POST", "/v1/tts", {**T, "min_p": 2}, None, 422, "'min_p'"),
    ("POST", "/v1/tts", {**T, "top_p": -0.5}, None, 422, "'top_p'"),
    ("POST", "/v1/tts", {**T, "repetition_penalty": 0}, None, 422, "'repetition_penalty'"),
    ("POST", "/v1/tts", {**T, "seed": -3}, None, 422, "'seed'"),
    ("POST", "/v1/tts", {**T, "speed": 3}, None, 422, "'speed' 3"),
    ("POST", "/v1/tts", {**T, "volume": 99}, None, 422, "'volume'"),
    ("POST", "/v1/tts", {**T, "sample_rate": 100}, None, 422, "'sample_rate'"),
    ("POST", "/v1/tts", {**T, "format": "aiff"}, None, 422, "'format'"),
    ("POST", "/v1/tts", {**T, "format": "mp3", "bitrate": "fast"}, None, 422, "bitrate"),
    ("POST", "/v1/tts", {**T, "preset": "audibook"}, None, 422, "Unknown preset 'audibook'"),
    ("POST", "/v1/tts", {**T, "model": "turbo"}, None, 422, "not served here"),
    ("POST", "/v1/tts", {**T, "language": "fr"}, None, 422, "language"),
    ("POST", "/v1/tts", {**T, "voice": "../../etc/passwd"}, None, 422, "Unknown voice"),
    ("POST", "/v1/tts", {**T, "voice": "nobody"}, None, 422, "Unknown voice 'nobody'"),
    ("POST", "/v1/tts", {**T, "voice": "a", "reference_audio": NOT_AUDIO}, None, 422, "not both"),
    ("POST", "/v1/tts", {**T, "reference_audio": NOT_AUDIO}, None, 422, "not readable audio"),
    ("POST", "/v1/tts", {**T, "reference_audio": "%%%not base64"}, None, 422, "base64"),
    ("POST", "/v1/tts", {**T, "reference_audio": "ftp://example.com/a.wav"}, None, 422, "base64"),
    ("POST", "/v1/tts", {**T, "webhook": "http://example.com/"}, None, 422, "/v2/tts"),
    ("POST", "/v1/tts", {"text": "x" * 301}, None, 422, "at most 300"),
    ("POST", "/v1/tts", {"text": "y" * 2000}, None, 413, "larger than"),
    ("POST", "/v1/tts", {"text": "# Title\n\n<!-- cbx: voice=/etc/hosts -->\nHi.", "markdown": True}, None, 422,
     "voice"),
    ("POST", "/v1/tts", {"text": "<!-- cbx: model=turbo -->\nHi.", "markdown": True}, None, 422, "model"),
    ("POST", "/v1/audio/speech", {"input": "Hi.", "response_format": "wma"}, None, 422, "'response_format'"),
    ("POST", "/v1/audio/speech", {"input": "Hi.", "speed": 0.1}, None, 422, "'speed'"),
    ("POST", "/v1/audio/speech", {"voice": "alloy"}, None, 422, "'input' is required"),
    ("POST", "/v1/audio/speech", {"input": "Hi.", "voice": "not/a/name"}, None, 422, "Unknown voice"),
    ("POST", "/v2/tts", {**T, "webhook": "file:///etc/passwd"}, None, 422, "not an http"),
    ("POST", "/v2/tts", {"text": "z" * 2000}, None, 413, "larger than"),
    ("GET", "/v2/requests/nope", None, None, 404, "No request"),
    ("GET", "/v2/requests/nope/audio", None, None, 404, "No request"),
    ("POST", "/v1/voices", {"name": "bad name!", "reference_audio": NOT_AUDIO}, None, 422, "name"),
    ("POST", "/v1/voices", {"name": "ok", "reference_audio": NOT_AUDIO}, None, 422, "not readable audio"),
    ("DELETE", "/v1/voices/nobody", None, None, 404, "No voice 'nobody'"),
    ("GET", "/v3/nothing", None, None, 404, "Not Found"),
    ("GET", "/v1/tts", None, None, 405, "Method Not Allowed"),
]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """One server for every case (the fake engine, limits small enough to reach)."""
    from fakes import FakeEngines

    mp = pytest.MonkeyPatch()
    engines = FakeEngines()
    folder = tmp_path_factory.mktemp("serve-errors")
    for var, sub in (("XDG_DATA_HOME", "data"), ("XDG_CACHE_HOME", "cache"), ("XDG_CONFIG_HOME", "config")):
        mp.setenv(var, str(folder / sub))
    with running(folder / "serve", engines, limits=Limits(max_text=300, max_script=100_000, max_body=1500)) as base:
        yield base
    mp.undo()


@pytest.mark.parametrize("method, path, body, headers, status, words", CASES)
def test_bad_request_is_one_clear_json_line(served, caplog, method, path, body, headers, status, words):
    caplog.set_level(logging.DEBUG)
    kwargs = {"content": body, "headers": headers} if isinstance(body, bytes) else {"json": body}
    with client(served) as http:
        answer = http.request(method, path, **({} if body is None else kwargs))
    assert answer.status_code == status, answer.text
    detail = answer.json()["detail"]
    assert isinstance(detail, str) and words.lower() in detail.lower()
    assert "\n" not in detail and "Traceback" not in answer.text
    assert not [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]


def test_per_key_queue_depth_is_429_with_retry_after(fake_engine, tmp_path):
    fake_engine.knobs["delay"] = 1.0
    with running(tmp_path / "serve", fake_engine, limits=Limits(queued=2), workers=1) as base, client(base) as http:
        answers = [http.post("/v2/tts", json={"text": f"Job {n}."}) for n in range(3)]
    assert [a.status_code for a in answers] == [202, 202, 429]
    assert answers[2].headers["retry-after"] == "5" and "at most 2" in answers[2].json()["detail"]


def test_cli_serve_refuses_open_public_bind_and_bad_port(tmp_path):
    from clirun import run

    public = run(["serve", "--host", "0.0.0.0", "--data-dir", str(tmp_path)])
    port = run(["serve", "--port", "70000"])
    missing = run(["serve", "--api-key-file", str(tmp_path / "none")])
    assert public.exit_code == 2 and "without API keys" in public.stderr
    assert port.exit_code == 2 and "--port 70000 is out of range" in port.stderr
    assert missing.exit_code == 2 and "Cannot read the API key file" in missing.stderr
    assert "Traceback" not in public.stderr + port.stderr + missing.stderr


def test_chunked_body_over_the_limit_is_413(served):
    def body():
        yield b'{"text": "'
        for _ in range(10):
            yield b"x" * 500
        yield b'"}'

    with client(served) as http:
        answer = http.post("/v1/tts", content=body(), headers={"content-type": "application/json"})
    assert answer.status_code == 413 and "larger than 1,500 bytes" in answer.json()["detail"]


@pytest.mark.parametrize("path, headers, shape", [
    ("/v1/chatterbox-tts", {"x-api-key": "test-key-1"}, lambda m: {"error": m}),
    ("/chatterbox-text-to-speech/v1/chatterbox-text-to-speech-request", {"Ocp-Apim-Subscription-Key": "test-key-1"},
     lambda m: {"statusCode": 413, "message": m}),
    ("/generate", {"x-api-key": "test-key-1"}, lambda m: {"detail": m}),
])
def test_body_over_the_limit_is_413_in_each_apis_shape(served, path, headers, shape):
    with client(served, key=None) as http:
        answer = http.post(path, json={"text": "y" * 2000, "prompt": "y"}, headers=headers)
    assert answer.status_code == 413
    assert answer.json() == shape("The request body is larger than 1,500 bytes.")
