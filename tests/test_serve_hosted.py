"""The hosted Chatterbox APIs' drop-ins, driven by the vendors' own clients (segmind, fish-audio-sdk, openai) or their
documented raw requests (Pixazo, Resonance), against one real loopback `cbx serve` on the fake engine: paths, keys,
bodies, answers, errors in each API's shape, webhooks, and the same bytes as `cbx say`."""

from __future__ import annotations

import base64
import io
import json
import logging
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import msgpack
import pytest
import soundfile as sf

from cbx_cli.serve import Defaults
from cbx_cli.tools.checkpoints import write_voice_wav
from clirun import run
from servers import KEY, OTHER_KEY, running

PIXAZO = "/chatterbox-text-to-speech/v1/chatterbox-text-to-speech-request"
PIXAZO_KEY = {"Ocp-Apim-Subscription-Key": KEY}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """One server for the module (fake engine), with a voice folder for Resonance's voice_key."""
    from fakes import FakeEngines

    engines = FakeEngines()
    folder = tmp_path_factory.mktemp("hosted")
    voices = folder / "voice-folder"
    write_voice_wav(voices / "voices" / "system" / "default.wav", seconds=6.0, sr=24000)
    (voices / "voices" / "broken.wav").write_bytes(b"not audio at all" * 100)
    write_voice_wav(folder / "outside.wav", seconds=6.0, sr=24000)
    (voices / "voices" / "escape.wav").symlink_to(folder / "outside.wav")
    defaults = Defaults(voices_dir=voices, http_webhooks=True)
    with running(folder / "serve", engines, defaults=defaults, cache_dir=folder / "takes", batch_size=2) as base:
        yield type("World", (), {"base": base, "engines": engines, "engine": engines.last, "voices": voices,
                                 "shared": folder / "serve" / "voices" / "shared"})


@pytest.fixture
def base(world):
    return world.base


def say(tmp_path: Path, text: str, out: str, *args: str) -> bytes:
    """What `cbx say` writes for ``text`` with ``args`` (its own take cache); ``out`` "-": to stdout."""
    from cbx_cli.cli.app import State
    from fakes import FakeEngines

    target = tmp_path / out if out != "-" else "-"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(State, "engine_factory", FakeEngines())
        result = run(["say", text, "-o", target, "--cache-dir", tmp_path / "say-cache", "--quiet", *args])
    for handler in [h for h in logging.getLogger().handlers if getattr(h, "_cbx", False)]:
        logging.getLogger().removeHandler(handler)  # it writes to the runner's stderr, closed now
    assert result.exit_code == 0, result.stderr
    return result.stdout_bytes if out == "-" else target.read_bytes()


def wav_data(wav: bytes) -> bytes:
    """The samples of a 16-bit WAV (its data chunk), whatever sizes its header declares."""
    return wav[wav.index(b"data") + 8 :]


class Receiver:
    """A webhook receiver on 127.0.0.1: records (headers, JSON body, time); each answer waits ``delay`` s."""

    def __init__(self, delay: float = 0.0):
        self.calls: list[tuple[dict, dict, float]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                time.sleep(delay)
                outer.calls.append((dict(self.headers), body, time.monotonic()))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_port}/hook"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def wait(self, count: int, seconds: float = 20.0) -> list[tuple[dict, dict, float]]:
        deadline = time.monotonic() + seconds
        while len(self.calls) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.calls

    def close(self):
        self.http.shutdown()
        self.http.server_close()


def poll_pixazo(base: str, request_id: str, seconds: float = 30.0) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        state = httpx.get(f"{base}/v2/requests/status/{request_id}", headers=PIXAZO_KEY).json()
        if state["status"] in ("COMPLETED", "FAILED", "ERROR"):
            return state
        time.sleep(0.03)
    raise AssertionError(f"request {request_id} did not end: {state}")


# -- the same bytes from every route as from `cbx say` -------------------------------------------------------------

TEXT = "Every route says the same."


def test_every_route_gives_the_bytes_cbx_say_gives(world, base, tmp_path):
    import openai
    import segmind
    from fishaudio import FishAudio

    mp3 = say(tmp_path, TEXT, "say.mp3", "--seed", "7")
    wav = say(tmp_path, TEXT, "say.wav", "--seed", "7")
    fish_wav = say(tmp_path, TEXT, "-", "--stream", "--temperature", "0.7", "--top-p", "0.7",
                   "--repetition-penalty", "1.2")
    with httpx.Client(base_url=base, headers={"x-api-key": KEY}, timeout=60) as http:
        cbx = http.post("/v1/tts", json={"text": TEXT, "seed": 7}).content
        pixazo = http.post(PIXAZO, headers=PIXAZO_KEY, json={"text": TEXT, "seed": 7}).json()
        resonance = http.post("/generate", json={"prompt": TEXT, "voice_key": "voices/system/default.wav"}).content
    media = httpx.get(poll_pixazo(base, pixazo["request_id"])["output"]["media_url"][0]).content
    client = segmind.SegmindClient(api_key=KEY, base_url=f"{base}/v1")
    queued = httpx.get(client.run("chatterbox-tts", text=TEXT, seed=7)["output"]).content
    fish = FishAudio(api_key=KEY, base_url=base).tts.convert(text=TEXT, format="wav")
    speaker = openai.OpenAI(base_url=f"{base}/v1", api_key=KEY, max_retries=0)
    streamed = speaker.audio.speech.create(model="tts-1", voice="alloy", input=TEXT, response_format="pcm").content
    voiced = say(tmp_path, TEXT, "voiced.wav", "--voice", world.voices / "voices" / "system" / "default.wav")
    assert cbx == wav and media == wav
    assert client.run_sync("chatterbox-tts", text=TEXT, seed=7).content == mp3 and queued == mp3
    assert resonance == voiced
    assert fish == fish_wav  # streamed as `cbx say --stream -o -` streams: a WAV header of unknown length, pieces
    assert streamed == wav_data(say(tmp_path, TEXT, "-", "--stream"))


# -- Segmind -------------------------------------------------------------------------------------------------------


def test_segmind_sdk_run_submit_wait_and_module_level_run(base, monkeypatch):
    import segmind

    client = segmind.SegmindClient(api_key=KEY, base_url=f"{base}/v1")
    job = client.submit_async("chatterbox-tts", text="Queued by the SDK.", seed=3, exaggeration=0.6, cfg_weight=0.4)
    result = job.wait(timeout=60, interval=0.05)
    assert job.status_url.startswith("http://127.0.0.1:") and job.response_url == job.status_url[: -len("/status")]
    assert result["status"] == "COMPLETED" and result["metrics"]["inference_time"] >= 0
    audio, sr = sf.read(io.BytesIO(httpx.get(result["output"]).content))
    assert sr == 24000 and len(audio) > sr // 2
    monkeypatch.setattr(segmind, "_default_client", client)  # the module-level calls go through this client
    assert segmind.run("chatterbox-turbo-tts", text="Turbo's slug too.", seed=3)["status"] == "COMPLETED"
    assert segmind.run_sync("chatterbox-tts", text="In one call.").headers["content-type"] == "audio/mpeg"


def test_segmind_failed_request_is_422_with_its_error_and_unknown_id_404(world, base):
    import segmind

    encoded = base64.b64encode((world.voices / "voices" / "system" / "default.wav").read_bytes()).decode()
    client = segmind.SegmindClient(api_key=KEY, base_url=f"{base}/v1")
    world.engine.refusal = "This recording cannot be used."
    try:
        job = client.submit_async("chatterbox-tts", text="Will fail.", reference_audio=encoded)
        with pytest.raises(segmind.InferenceFailed) as failed:
            job.wait(timeout=60, interval=0.05)
    finally:
        world.engine.refusal = None
    assert failed.value.detail == "This recording cannot be used."
    with httpx.Client(headers={"x-api-key": KEY}) as http:
        status = http.get(job.status_url)
        final = http.get(job.response_url)
        unknown = http.get(f"{base}/v2/requests/{'0' * 32}/status")
        unknown_result = http.get(f"{base}/v2/requests/{'0' * 32}")
        other = http.get(job.status_url, headers={"x-api-key": OTHER_KEY})
    assert status.status_code == 422 and status.json()["status"] == "FAILED" and status.json()["error"]
    assert final.status_code == 422 and final.json() == {"request_id": job.request_id, "status": "FAILED",
                                                         "error": "This recording cannot be used."}
    assert unknown.status_code == 404 and "No request" in unknown.json()["error"]
    assert unknown_result.status_code == 404 and "No request" in unknown_result.json()["error"]
    assert other.status_code == 404


def test_segmind_reference_audio_url_is_fetched_and_kept(world, base):
    wav = (world.voices / "voices" / "system" / "default.wav").read_bytes()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "audio/wav")
            self.send_header("Content-Length", str(len(wav)))
            self.end_headers()
            self.wfile.write(wav)

        def log_message(self, *args):
            pass

    host = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=host.serve_forever, daemon=True).start()
    try:
        answer = httpx.post(f"{base}/v1/chatterbox-tts", headers={"x-api-key": KEY}, timeout=60,
                            json={"text": "A cloned voice.", "reference_audio": f"http://127.0.0.1:{host.server_port}"
                                  "/sample_audio.mp3"})
    finally:
        host.shutdown()
        host.server_close()
    assert answer.status_code == 200, answer.text
    prompts = [p for p in world.engine.prompts if p is not None]
    assert prompts[-1].path.parent.name == "references"


# -- Pixazo --------------------------------------------------------------------------------------------------------


def test_pixazo_documented_request_polls_to_completed_with_webhook(base):
    receiver = Receiver()
    try:
        answer = httpx.post(f"{base}{PIXAZO}", headers={**PIXAZO_KEY, "Content-Type": "application/json",
                                                        "Cache-Control": "no-cache", "X-Webhook-URL": receiver.url},
                            json={"text": "Hello world, this is a test of the Chatterbox text to speech model.",
                                  "exaggeration": 0.25, "temperature": 0.7, "cfg": 0.5})
        assert answer.status_code == 200, answer.text
        submitted = answer.json()
        state = poll_pixazo(base, submitted["request_id"])
        receiver.wait(1)
        time.sleep(0.3)  # terminal mode: no other call comes
    finally:
        receiver.close()
    assert submitted["status"] == "QUEUED"
    assert submitted["polling_url"] == f"{base}/v2/requests/status/{submitted['request_id']}"
    assert set(state) >= {"request_id", "status", "model_id", "error", "output", "created_at", "updated_at",
                          "completed_at"}
    assert state["status"] == "COMPLETED" and state["error"] is None and state["completed_at"].endswith("Z")
    assert state["output"]["media_type"] == "audio/wav"
    audio, _ = sf.read(io.BytesIO(httpx.get(state["output"]["media_url"][0]).content))
    assert len(audio) > 0
    assert len(receiver.calls) == 1
    headers, body, _ = receiver.calls[0]
    assert body == state and headers["Idempotency-Key"] == submitted["request_id"]


def test_pixazo_sync_webhook_reports_each_change_then_the_end(base):
    receiver = Receiver()
    try:
        request_id = httpx.post(f"{base}{PIXAZO}", json={"text": "Tell me every step."},
                                headers={**PIXAZO_KEY, "X-Webhook-URL": receiver.url, "X-Webhook-Mode": "sync"}
                                ).json()["request_id"]
        poll_pixazo(base, request_id)
        calls = receiver.wait(2)
    finally:
        receiver.close()
    assert [body["status"] for _, body, _ in calls] == ["PROCESSING", "COMPLETED"]
    assert {headers["Idempotency-Key"] for headers, _, _ in calls} == {request_id}


def test_slow_webhook_receiver_never_holds_up_the_queue(world, tmp_path):
    """One job worker, a receiver that takes 3 s to answer: the next job still finishes at once."""
    slow = Receiver(delay=3.0)
    try:
        with running(tmp_path / "serve", world.engines, workers=1, defaults=Defaults(http_webhooks=True)) as base:
            first = httpx.post(f"{base}{PIXAZO}", json={"text": "First."},
                               headers={**PIXAZO_KEY, "X-Webhook-URL": slow.url}).json()["request_id"]
            poll_pixazo(base, first)
            second = httpx.post(f"{base}{PIXAZO}", json={"text": "Second."}, headers=PIXAZO_KEY).json()
            poll_pixazo(base, second["request_id"])
            done = time.monotonic()
            calls = slow.wait(1)
    finally:
        slow.close()
    assert calls and calls[0][2] > done  # the slow receiver answered after the second job was done


def test_pixazo_webhook_must_be_https_unless_allowed(world, tmp_path):
    with running(tmp_path / "serve", world.engines) as base:
        answer = httpx.post(f"{base}{PIXAZO}", json={"text": "Hi."},
                            headers={**PIXAZO_KEY, "X-Webhook-URL": "http://127.0.0.1:9/hook"})
    assert answer.status_code == 422
    assert answer.json()["statusCode"] == 422 and "https" in answer.json()["message"]


# -- Resonance -----------------------------------------------------------------------------------------------------


def test_resonance_generate_returns_wav_from_the_voice_folder(world, base):
    answer = httpx.post(f"{base}/generate", headers={"X-Api-Key": KEY}, timeout=60,
                        json={"prompt": "Hello from Chatterbox [chuckle].", "voice_key": "voices/system/default.wav",
                              "temperature": 0.8, "top_p": 0.95, "top_k": 1000, "repetition_penalty": 1.2,
                              "norm_loudness": True})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "audio/wav"
    audio, sr = sf.read(io.BytesIO(answer.content))
    assert sr == 24000 and len(audio) > 0
    assert world.engine.prompts[-1].path == world.voices / "voices" / "system" / "default.wav"
    assert "[chuckle]" not in world.engine.spoken[-1]  # the original model does not speak tags


def test_resonance_speaks_paralinguistic_tags_with_turbo(world, tmp_path):
    with running(tmp_path / "serve", world.engines, model="turbo",
                 defaults=Defaults(voices_dir=world.voices)) as base:
        answer = httpx.post(f"{base}/generate", headers={"x-api-key": KEY}, timeout=60,
                            json={"prompt": "That was funny [laugh] and then [sigh] it ended.",
                                  "voice_key": "voices/system/default.wav"})
    assert answer.status_code == 200, answer.text
    spoken = " ".join(world.engines.made[-1].spoken)
    assert "[laugh]" in spoken and "[sigh]" in spoken


RESONANCE_ERRORS = [
    # (headers, body, status, exact body or a check of it)
    ({}, {"prompt": "Hi.", "voice_key": "x"}, 403, {"detail": "Invalid API key"}),
    ({"x-api-key": "wrong"}, {"prompt": "Hi.", "voice_key": "x"}, 403, {"detail": "Invalid API key"}),
    ({"Authorization": f"Bearer {KEY}"}, {"prompt": "Hi.", "voice_key": "x"}, 403, {"detail": "Invalid API key"}),
    ({"x-api-key": KEY}, {"prompt": "Hi.", "voice_key": "voices/nobody.wav"}, 400,
     {"detail": "Voice not found at 'voices/nobody.wav'"}),
    ({"x-api-key": KEY}, {"prompt": "Hi.", "voice_key": "../outside.wav"}, 400,
     {"detail": "Voice not found at '../outside.wav'"}),
    ({"x-api-key": KEY}, {"prompt": "Hi.", "voice_key": "voices/escape.wav"}, 400,
     {"detail": "Voice not found at 'voices/escape.wav'"}),
    ({"x-api-key": KEY}, {"prompt": "Hi.", "voice_key": "/etc/hostname"}, 400,
     {"detail": "Voice not found at '/etc/hostname'"}),
    ({"x-api-key": KEY}, {"voice_key": "x"}, 422, ("missing", ["body", "prompt"])),
    ({"x-api-key": KEY}, {"prompt": "x" * 5001, "voice_key": "x"}, 422, ("string_too_long", ["body", "prompt"])),
    ({"x-api-key": KEY}, {"prompt": "Hi.", "voice_key": "v" * 301}, 422, ("string_too_long", ["body", "voice_key"])),
    ({"x-api-key": KEY}, {"prompt": "Hi.", "voice_key": "x", "temperature": 3}, 422,
     ("less_than_equal", ["body", "temperature"])),
    ({"x-api-key": KEY}, {"prompt": "Hi.", "voice_key": "x", "top_k": 0}, 422,
     ("greater_than_equal", ["body", "top_k"])),
    ({"x-api-key": KEY}, {"prompt": "Hi.", "voice_key": "voices/broken.wav"}, 500, "Failed to generate audio: "),
]


@pytest.mark.parametrize("headers, body, status, expected", RESONANCE_ERRORS)
def test_resonance_errors_in_its_own_shape(base, caplog, headers, body, status, expected):
    caplog.set_level(logging.WARNING)
    answer = httpx.post(f"{base}/generate", headers=headers, json=body, timeout=60)
    assert answer.status_code == status, answer.text
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("cbx_cli")]
    assert len(lines) == 1 and lines[0].startswith(f"POST /generate: {status} "), lines
    got = answer.json()
    if isinstance(expected, dict):
        assert got == expected
    elif isinstance(expected, tuple):
        first = got["detail"][0]
        assert set(first) >= {"loc", "msg", "type"} and (first["type"], first["loc"]) == expected
    else:
        assert list(got) == ["detail"] and got["detail"].startswith(expected) and "\n" not in got["detail"]


def test_resonance_render_failure_is_one_line(world, caplog, monkeypatch):
    """An engine that fails: Resonance's 500 shape, and one log line naming why."""
    from cbx_cli.errors import RenderError

    def failing(requests):
        raise RenderError("The engine stopped.")
        yield

    monkeypatch.setattr(world.engine, "stream", failing)
    caplog.set_level(logging.WARNING)
    answer = httpx.post(f"{world.base}/generate", headers={"x-api-key": KEY}, timeout=60,
                        json={"prompt": "Nothing will come of this.", "voice_key": "voices/system/default.wav"})
    assert answer.status_code == 500 and answer.json()["detail"].startswith("Failed to generate audio: ")
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("cbx_cli") and r.levelno >= logging.ERROR]
    assert lines == ["POST /generate: 500 Failed to generate audio: The engine stopped."]


# -- Fish Audio ----------------------------------------------------------------------------------------------------


def test_fish_sdk_convert_stream_and_references(world, base):
    from fishaudio import FishAudio
    from fishaudio.types import ReferenceAudio

    client = FishAudio(api_key=KEY, base_url=base)
    mp3 = client.tts.convert(text="Hello from the Fish client.")
    audio, sr = sf.read(io.BytesIO(mp3))
    assert sr == 24000 and len(audio) > sr // 2
    wav = (world.voices / "voices" / "system" / "default.wav").read_bytes()
    cloned = client.tts.convert(text="Cloned from bytes.", references=[ReferenceAudio(audio=wav, text="A sample.")],
                                format="pcm")
    prompt = world.engine.prompts[-1]
    assert len(cloned) > 1000 and prompt.path.parent.name == "references" and prompt.path.read_bytes() == wav
    pieces = list(client.tts.stream(text="One sentence. Another one. A third.", format="pcm", speed=1.5))
    assert b"".join(pieces) and len(b"".join(pieces)) % 2 == 0


def test_fish_streams_each_take_as_it_is_made(world, base):
    """Two engine calls of 0.4 s each (batches of two chunks): the first take's audio arrives before the last is
    made."""
    world.engine.delay = 0.4
    arrivals = []
    try:
        text = " ".join(f"Sentence number {n} is long enough that a chunk of at most one hundred characters holds "
                        "only it." for n in range(4))
        body = msgpack.packb({"text": text, "format": "pcm", "chunk_length": 100})
        with httpx.stream("POST", f"{base}/v1/tts", content=body, timeout=60,
                          headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/msgpack",
                                   "model": "s1"}) as answer:
            assert answer.status_code == 200
            for piece in answer.iter_raw():
                arrivals.append((time.monotonic(), len(piece)))
    finally:
        world.engine.delay = 0.0
    assert len(arrivals) >= 2 and arrivals[-1][0] - arrivals[0][0] > 0.3


def test_streamed_answers_come_in_pieces_of_a_take(world, base):
    """One chunk, made in pieces 0.15 s apart: OpenAI's audio and sse answers and Fish's arrive in more than one
    piece, the first long before the take is done."""
    import openai

    world.engine.piece_delay = 0.15
    try:
        speaker = openai.OpenAI(base_url=f"{base}/v1", api_key=KEY, max_retries=0)
        text = "One sentence, said in pieces as it is made."
        for stream_format in ("audio", "sse"):  # each its own text: a take from the cache comes as one piece
            arrivals = []
            with speaker.audio.speech.with_streaming_response.create(
                    model="tts-1", voice="alloy", input=f"{text} ({stream_format})", response_format="pcm",
                    extra_body={"stream_format": stream_format}) as answer:
                for data in answer.iter_bytes():
                    arrivals.append((time.monotonic(), data))
            assert len(arrivals) >= 3 and arrivals[-1][0] - arrivals[0][0] > 0.3, stream_format
            if stream_format == "sse":
                events = b"".join(d for _, d in arrivals).count(b"speech.audio.delta")
                assert events >= 3
        chunks = world.engine.calls[-1]
        assert len(chunks) == 1
        body = msgpack.packb({"text": f"{text} (fish)", "format": "pcm"})
        with httpx.stream("POST", f"{base}/v1/tts", content=body, timeout=60, headers={
                "Authorization": f"Bearer {KEY}", "Content-Type": "application/msgpack", "model": "s1"}) as answer:
            pieces = [time.monotonic() for _ in answer.iter_raw()]
        assert len(pieces) >= 3 and pieces[-1] - pieces[0] > 0.3
    finally:
        world.engine.piece_delay = 0.0


def test_fish_websocket_speaks_each_sentence_as_it_completes(base):
    from fishaudio import FishAudio
    from httpx_ws import connect_ws

    client = FishAudio(api_key=KEY, base_url=base)
    tokens = ["Hello ", "there, ", "this is ", "streamed. ", "And a second ", "sentence", " ends here."]
    audio = b"".join(client.tts.stream_websocket(iter(tokens), format="pcm"))
    assert len(audio) > 24000 and len(audio) % 2 == 0
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {KEY}"}, timeout=30) as http:
        with connect_ws("/v1/tts/live", client=http) as ws:
            ws.send_bytes(msgpack.packb({"event": "start", "request": {"text": "", "format": "wav"}}))
            ws.send_bytes(msgpack.packb({"event": "text", "text": "The first sentence is done. The sec"}))
            early = msgpack.unpackb(ws.receive_bytes(timeout=20))  # before the rest is even sent
            ws.send_bytes(msgpack.packb({"event": "text", "text": "ond one"}))
            ws.send_bytes(msgpack.packb({"event": "flush"}))
            events = [msgpack.unpackb(ws.receive_bytes(timeout=20))]
            ws.send_bytes(msgpack.packb({"event": "stop"}))
            while events[-1]["event"] != "finish":
                events.append(msgpack.unpackb(ws.receive_bytes(timeout=20)))
    assert early["event"] == "audio" and early["audio"].startswith(b"RIFF")
    assert events[0]["event"] == "audio" and events[-1] == {"event": "finish", "reason": "stop"}


def test_fish_websocket_refuses_a_bad_key_and_a_bad_start(base):
    from fishaudio import FishAudio
    from fishaudio.exceptions import WebSocketError
    from httpx_ws import WebSocketUpgradeError

    with pytest.raises(WebSocketUpgradeError):
        list(FishAudio(api_key="wrong", base_url=base).tts.stream_websocket(iter(["Hi."])))
    with pytest.raises(WebSocketError):
        list(FishAudio(api_key=KEY, base_url=base).tts.stream_websocket(iter(["Hi."]), reference_id="nobody"))


FISH_ERRORS = [
    # (headers, body (dict: MessagePack), status, words in the message)
    ({}, {"text": "Hi."}, 401, "Missing API key"),
    ({"Authorization": "Bearer wrong"}, {"text": "Hi."}, 401, "Invalid API key"),
    ({"x-api-key": KEY}, {"text": "Hi."}, 401, "Authorization: Bearer"),
    ({"Authorization": f"Bearer {KEY}"}, b"\xc1 not msgpack", 400, "MessagePack"),
    ({"Authorization": f"Bearer {KEY}"}, {"text": "Hi.", "chunk_length": 50}, 422, "chunk_length"),
    ({"Authorization": f"Bearer {KEY}"}, {"text": "Hi.", "format": "wma"}, 422, "format"),
    ({"Authorization": f"Bearer {KEY}"}, {"text": "Hi.", "reference_id": "nobody"}, 422, "Unknown voice 'nobody'"),
    ({"Authorization": f"Bearer {KEY}"}, {"text": "Hi.", "references": [{"audio": b"noise" * 50, "text": ""}]}, 422,
     "not readable audio"),
    ({"Authorization": f"Bearer {KEY}"}, {"text": "Hi.", "prosody": {"speed": 5}}, 422, "'speed' 5"),
]


@pytest.mark.parametrize("headers, body, status, words", FISH_ERRORS)
def test_fish_errors_are_json_with_message(base, headers, body, status, words):
    content = body if isinstance(body, bytes) else msgpack.packb(body)
    answer = httpx.post(f"{base}/v1/tts", content=content, timeout=30,
                        headers={**headers, "Content-Type": "application/msgpack", "model": "s2-pro"})
    assert answer.status_code == status, answer.text
    got = answer.json()
    assert set(got) == {"status", "message"} and got["status"] == status and words in got["message"]


def test_cbx_and_fish_share_one_v1_tts_route(world, base, tmp_path):
    from cbx_cli.serve import ServeConfig, build_app
    from cbx_cli.voices.library import add_voice

    app = build_app(dict(model="original", device="cpu"), ServeConfig(tmp_path / "unstarted"), [])
    assert [r.methods for r in app.routes if getattr(r, "path", None) == "/v1/tts"] == [{"POST"}]
    recording = str(world.voices / "voices" / "system" / "default.wav")
    add_voice("narrator", recording, "original", root=world.shared)  # the server's shared voice
    add_voice("narrator", recording, "original")  # the same recording in the user's library, for cbx say
    mixed = httpx.post(f"{base}/v1/tts", headers={"Authorization": f"Bearer {KEY}"}, timeout=30,
                       json={"text": "Both kinds of field.", "reference_id": "narrator", "seed": 5, "format": "wav",
                             "prosody": {"speed": 1.0, "volume": 0}})
    plain = httpx.post(f"{base}/v1/tts", headers={"x-api-key": KEY}, timeout=30,
                       json={"text": "Both kinds of field.", "voice": "narrator", "seed": 5})
    assert mixed.status_code == 200 and plain.status_code == 200
    voiced = ("--voice", "narrator", "--seed", "5")
    assert plain.content == say(tmp_path, "Both kinds of field.", "plain.wav", *voiced)  # cbx's: whole
    assert mixed.content == say(tmp_path, "Both kinds of field.", "-", "--stream", *voiced)  # Fish's: streamed
    assert world.engine.prompts[-1].name == "narrator"


# -- OpenAI --------------------------------------------------------------------------------------------------------


def test_openai_aac_sse_voices_and_voice_list(world, base):
    import openai

    from cbx_cli.serve.openai import VOICES
    from cbx_cli.voices.library import add_voice

    speaker = openai.OpenAI(base_url=f"{base}/v1", api_key=KEY, max_retries=0, timeout=60)
    aac = speaker.audio.speech.create(model="tts-1", voice="coral", input="Hello in AAC.", response_format="aac")
    decoded = subprocess.run(["ffmpeg", "-v", "error", "-f", "aac", "-i", "pipe:0", "-f", "s16le", "-"],
                             input=aac.content, capture_output=True, check=True).stdout
    assert aac.response.headers["content-type"] == "audio/aac" and len(decoded) > 24000
    sse = speaker.audio.speech.create(model="gpt-4o-mini-tts", voice="alloy", input="Streamed as events. Two of them.",
                                      response_format="pcm", stream_format="sse")
    events = [json.loads(line[6:]) for line in sse.content.decode().splitlines() if line.startswith("data: ")]
    assert [e["type"] for e in events[-1:]] == ["speech.audio.done"] and "usage" in events[-1]
    pcm = b"".join(base64.b64decode(e["audio"]) for e in events if e["type"] == "speech.audio.delta")
    plain = speaker.audio.speech.create(model="tts-1", voice="alloy", input="Streamed as events. Two of them.",
                                        response_format="pcm")
    assert pcm == plain.content
    builtin = {speaker.audio.speech.create(model="tts-1", voice=name, input="Same voice.", response_format="pcm")
               .content for name in sorted(VOICES)}
    assert len(builtin) == 1  # every documented name is the built-in voice here
    add_voice("nova", str(world.voices / "voices" / "system" / "default.wav"), "original", root=world.shared)
    speaker.audio.speech.create(model="tts-1", voice="nova", input="Now in the library.", response_format="pcm")
    assert world.engine.prompts[-1].name == "nova"
    speaker.audio.speech.create(model="tts-1", voice={"id": "nova"}, input="By id.", response_format="pcm")
    listed = httpx.get(f"{base}/v1/audio/voices", headers={"Authorization": f"Bearer {KEY}"}).json()
    ids = [v["id"] for v in listed["data"]]
    assert listed["object"] == "list" and "nova" in ids and VOICES <= set(ids) and len(ids) == len(set(ids))
    assert {v["id"]: v["type"] for v in listed["data"]}["nova"] == "audio_sample"


# -- one key store, each API's own header ----------------------------------------------------------------------------

KEY_CASES = [
    # (method, path, the API's own header, another API's header with the same key, status then, body check)
    ("POST", "/v1/chatterbox-tts", {"x-api-key": KEY}, {"Ocp-Apim-Subscription-Key": KEY}, 401, "error"),
    ("POST", "/v1/chatterbox-tts", {"x-api-key": KEY}, {"Authorization": f"Bearer {KEY}"}, 401, "error"),
    ("POST", PIXAZO, PIXAZO_KEY, {"x-api-key": KEY}, 401, "statusCode"),
    ("POST", "/generate", {"x-api-key": KEY}, {"Authorization": f"Bearer {KEY}"}, 403, "detail"),
    ("POST", "/v1/audio/speech", {"Authorization": f"Bearer {KEY}"}, PIXAZO_KEY, 401, "detail"),
    ("POST", "/v1/tts", {"x-api-key": KEY}, PIXAZO_KEY, 401, "detail"),
]


@pytest.mark.parametrize("method, path, own, other, status, field", KEY_CASES)
def test_a_key_counts_only_in_its_apis_own_header(base, method, path, own, other, status, field):
    body = {"text": "Hi.", "prompt": "Hi.", "voice_key": "voices/system/default.wav", "input": "Hi."}
    if path == "/v1/tts" or path == "/v1/audio/speech":
        body = {"text": "Hi."} if path == "/v1/tts" else {"input": "Hi."}
    with httpx.Client(base_url=base, timeout=60) as http:
        refused = http.request(method, path, json=body, headers=other)
        accepted = http.request(method, path, json=body, headers=own)
    assert refused.status_code == status and field in refused.json()
    assert accepted.status_code == 200, accepted.text


def test_documented_examples_as_printed_with_the_fields_the_docs_narrow(world, tmp_path):
    """Segmind's and Pixazo's documented requests name recordings on their own storage; a server whose config keeps
    those fields out of what requests may set (docs/hosted-apis.md) answers them as printed."""
    import segmind

    fields = {"segmind": frozenset({"text", "seed", "exaggeration", "temperature", "cfg_weight", "min_p", "top_p",
                                    "repetition_penalty"}),
              "pixazo": frozenset({"text", "exaggeration", "temperature", "cfg"})}
    with running(tmp_path / "serve", world.engines, defaults=Defaults(fields=fields)) as base:
        result = segmind.SegmindClient(api_key=KEY, base_url=f"{base}/v1").run(
            "chatterbox-tts",
            text="Welcome to Chatterbox TTS, where your text turns into captivating audio effortlessly.",
            reference_audio="https://segmind-resources.s3.amazonaws.com/input/ef2a2b5c-3e3a-4051-a437-20a72bf175de-"
                            "sample_audio.mp3",
            exaggeration=0.5, temperature=0.8, seed=42, cfg_weight=0.5, min_p=0.05, top_p=1, repetition_penalty=1.2)
        job = httpx.post(f"{base}{PIXAZO}", headers={"Content-Type": "application/json", "Cache-Control": "no-cache",
                                                      **PIXAZO_KEY},
                         json={"text": "Hello world, this is a test of the Chatterbox text to speech model.",
                               "audio_url": "https://storage.googleapis.com/chatterbox-demo-samples/prompts/"
                                            "male_rickmorty.mp3", "exaggeration": 0.25, "temperature": 0.7,
                               "cfg": 0.5}).json()
        state = poll_pixazo(base, job["request_id"])
    assert result["status"] == "COMPLETED" and state["status"] == "COMPLETED"
    assert all(p is None for p in world.engines.made[-1].prompts)  # the built-in voice: nothing was fetched


def test_private_addresses_are_refused_on_every_api(world, tmp_path):
    """The public-URL rule holds for the hosted APIs' reference recordings and webhooks too."""
    with running(tmp_path / "serve", world.engines, allow_private=False) as base, \
            httpx.Client(base_url=base, timeout=30) as http:
        segmind = http.post("/v1/chatterbox-tts", headers={"x-api-key": KEY},
                            json={"text": "Hi.", "reference_audio": "http://127.0.0.1:9/voice.wav"})
        pixazo = http.post(PIXAZO, headers=PIXAZO_KEY, json={"text": "Hi.", "audio_url": "http://10.0.0.1/v.wav"})
        hook = http.post(PIXAZO, headers={**PIXAZO_KEY, "X-Webhook-URL": "https://127.0.0.1/hook"},
                         json={"text": "Hi."})
    assert segmind.status_code == 422 and "private or local address" in segmind.json()["error"]
    assert pixazo.status_code == 422 and "private or local address" in pixazo.json()["message"]
    assert hook.status_code == 422 and "private or local address" in hook.json()["message"]


def test_deliveries_keep_a_bounded_number_in_flight_and_wait_for_retries_without_a_sender():
    from cbx_cli.serve.webhooks import Deliveries, Delivery

    lock, active, peak, calls, done = threading.Lock(), [0], [0], [], []

    def post(delivery: Delivery) -> int:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.1)
        with lock:
            active[0] -= 1
            calls.append(delivery.url)
        return 500 if delivery.url == "failing" else 200

    deliveries = Deliveries(post, b"secret", senders=2, attempts=3, backoff=0.5)
    deliveries.start()
    deliveries.add(Delivery("failing", b"{}", on_done=done.append))
    for n in range(6):
        deliveries.add(Delivery(f"ok-{n}", b"{}", on_done=done.append))
    deadline = time.monotonic() + 20
    while len(done) < 7 and time.monotonic() < deadline:
        time.sleep(0.02)
    deliveries.stop()
    retries = [i for i, url in enumerate(calls) if url == "failing"]
    assert peak[0] == 2 and sorted(done) == [False] + [True] * 6
    assert len(retries) == 3 and calls.index("ok-5") < retries[1]  # the others went while it waited to retry
