"""`cbx serve` against a real uvicorn on a loopback port, with the fake engine: endpoints, auth, errors, limits."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from clirun import run
from servers import KEY, client, running


@pytest.fixture
def base(fake_engine, tmp_path):
    with running(tmp_path / "serve", fake_engine) as url:
        yield url


def test_healthz_needs_no_key(base):
    with client(base, key=None) as http:
        answer = http.get("/healthz")
    assert answer.status_code == 200
    assert answer.json()["status"] == "ok"
    assert answer.json()["model"] == "original"


def test_v1_tts_returns_the_same_wav_as_cbx_say(base, tmp_path):
    body = {"text": "The server speaks. It says two sentences.", "seed": 7, "preset": "agent"}
    with client(base) as http:
        answer = http.post("/v1/tts", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "audio/wav"
    assert int(answer.headers["x-cbx-chunks"]) >= 1
    out = tmp_path / "say.wav"
    result = run(["say", body["text"], "--seed", "7", "--preset", "agent", "-o", str(out), "--cache-dir",
                  str(tmp_path / "cli-cache"), "--quiet"])
    assert result.exit_code == 0, result.stderr
    assert answer.content == out.read_bytes()


@pytest.mark.parametrize("fmt, mime, check", [
    ("flac", "audio/flac", b"fLaC"), ("ogg", "audio/ogg", b"OggS"), ("mp3", "audio/mpeg", None),
    ("pcm", "audio/pcm", None),
])
def test_v1_tts_formats(base, fmt, mime, check):
    with client(base) as http:
        answer = http.post("/v1/tts", json={"text": "Format check.", "format": fmt, "sample_rate": 16000})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == mime
    if check:
        assert answer.content.startswith(check)
    if fmt == "flac":
        audio, sr = sf.read(io.BytesIO(answer.content))
        assert sr == 16000 and len(audio) > 1000
    if fmt == "pcm":
        assert len(answer.content) % 2 == 0 and len(answer.content) > 1000


def test_speed_and_volume_change_the_audio(base):
    with client(base) as http:
        plain = http.post("/v1/tts", json={"text": "A sentence to stretch."})
        fast = http.post("/v1/tts", json={"text": "A sentence to stretch.", "speed": 2.0})
    a, _ = sf.read(io.BytesIO(plain.content))
    b, _ = sf.read(io.BytesIO(fast.content))
    assert len(b) < 0.7 * len(a)


def test_auth_missing_wrong_and_bearer(base):
    with client(base, key=None) as http:
        missing = http.post("/v1/tts", json={"text": "Hi."})
        wrong = http.post("/v1/tts", json={"text": "Hi."}, headers={"x-api-key": "nope"})
        bearer = http.post("/v1/tts", json={"text": "Hi."}, headers={"Authorization": f"Bearer {KEY}"})
        wrong_bearer = http.get("/v1/voices", headers={"Authorization": "Bearer nope"})
    assert missing.status_code == 401 and "x-api-key" in missing.json()["detail"]
    assert wrong.status_code == 403 and wrong.json() == {"detail": "Invalid API key"}
    assert bearer.status_code == 200
    assert wrong_bearer.status_code == 403


def test_openai_speech_streams_wav_in_order(base):
    text = "First sentence here. Second one follows. Third one ends it."
    with client(base) as http:
        with http.stream("POST", "/v1/audio/speech",
                         json={"model": "tts-1", "input": text, "voice": "alloy", "response_format": "wav"}) as answer:
            assert answer.status_code == 200
            assert answer.headers["content-type"] == "audio/wav"
            pieces = list(answer.iter_raw())
        whole = http.post("/v1/tts", json={"text": text, "format": "pcm"})
    data = b"".join(pieces)
    assert data[:4] == b"RIFF"
    samples = np.frombuffer(data[44:], "<i2")
    assert len(samples) > 0.8 * len(np.frombuffer(whole.content, "<i2"))


def test_openai_speech_mp3_whole(base):
    with client(base) as http:
        answer = http.post("/v1/audio/speech", json={"model": "tts-1", "input": "Hello there.", "voice": "nova"})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "audio/mpeg"
    assert len(answer.content) > 500


def test_openai_client_library_streams_from_the_server(base, tmp_path):
    openai = pytest.importorskip("openai")
    speaker = openai.OpenAI(base_url=f"{base}/v1", api_key=KEY, max_retries=0, timeout=60)
    with speaker.audio.speech.with_streaming_response.create(model="tts-1", voice="alloy", input="Hello from the "
                                                             "client. It streams.", response_format="wav") as answer:
        answer.stream_to_file(tmp_path / "speech.wav")
    audio, sr = sf.read(tmp_path / "speech.wav")
    assert sr == 24000 and len(audio) > sr // 2
    wrong = openai.OpenAI(base_url=f"{base}/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.PermissionDeniedError) as refused:
        wrong.audio.speech.create(model="tts-1", voice="alloy", input="Hi.")
    assert refused.value.response.json() == {"detail": "Invalid API key"}
