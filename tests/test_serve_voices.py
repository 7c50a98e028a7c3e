"""The server's voices, on a real loopback server (fake engine): they live in its data folder; a key's own voices are
its alone, on every route that names a voice (cbx's, OpenAI's voice names, Fish's reference_id, Resonance's
voice_key, directives in a Markdown script, queued jobs); the operator's shared voices (added with `cbx voices add
--server-data`) every key uses and none replaces or deletes. And recordings are bounded by the length their header
declares before anything decodes them (an hour of silence fits in a small FLAC)."""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import struct
import time
from pathlib import Path

import msgpack
import numpy as np
import pytest
import soundfile as sf

from cbx_cli.serve import Defaults
from cbx_cli.serve.auth import digest
from cbx_cli.tools.checkpoints import write_voice_wav
from clirun import run
from servers import KEY, OTHER_KEY, assert_refused, client, running


def b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


@pytest.fixture
def world(fake_engine, tmp_path):
    """A server whose operator added the shared voice "house" from the CLI; key A (KEY) added "mine"."""
    data = tmp_path / "serve"
    house = write_voice_wav(tmp_path / "house.wav", seconds=6.0, sr=24000)
    added = run(["voices", "add", "house", house, "--server-data", data, "--device", "cpu"])
    assert added.exit_code == 0, added.stderr
    folder = tmp_path / "voice-folder"
    folder.mkdir()
    with running(data, fake_engine, defaults=Defaults(voices_dir=folder)) as base, client(base) as a, \
            client(base, key=OTHER_KEY) as b:
        mine = write_voice_wav(tmp_path / "mine.wav", seconds=7.0, sr=24000)
        assert a.post("/v1/voices", json={"name": "mine", "reference_audio": b64(mine)}).status_code == 201
        yield type("World", (), {"base": base, "a": a, "b": b, "data": data, "engines": fake_engine,
                                 "tmp": tmp_path, "folder": folder})


def spoken_with(world) -> str | None:
    """The folder of the voice the last request spoke with (None: built-in or a kept recording)."""
    prompt = world.engines.last.prompts[-1]
    return None if prompt is None or prompt.name is None else str(prompt.path.parent.relative_to(world.data))


A_ID, B_ID = digest(KEY)[:16], digest(OTHER_KEY)[:16]


def test_voices_live_in_the_data_folder_by_key_and_shared(world):
    from cbx_cli.api import list_voices

    assert (world.data / "voices" / "shared" / "house" / "voice.json").is_file()
    assert (world.data / "voices" / "keys" / A_ID / "mine" / "voice.json").is_file()
    assert list_voices() == []  # the CLI user's own library holds none of them
    listed = run(["voices", "list", "--server-data", world.data])
    assert listed.exit_code == 0 and listed.stdout.startswith("house") and "mine" not in listed.stdout
    assert world.a.get("/v1/voices").json()["voices"] == [{"name": "mine", "seconds": 7.0, "shared": False},
                                                          {"name": "house", "seconds": 6.0, "shared": True}]
    assert world.b.get("/v1/voices").json()["voices"] == [{"name": "house", "seconds": 6.0, "shared": True}]


OTHER_KEYS_VOICE = [
    # (API, method, path, headers, body, status, words): key B naming key A's voice "mine"
    ("cbx", "POST", "/v1/tts", {}, {"text": "Hi.", "voice": "mine"}, 422, "Unknown voice 'mine'"),
    ("cbx", "POST", "/v2/tts", {}, {"text": "Hi.", "voice": "mine"}, 422, "Unknown voice 'mine'"),
    ("cbx", "POST", "/v1/tts", {}, {"text": "# One\n\n<!-- cbx: voice=mine -->\nHi.", "markdown": True}, 422,
     "unknown voice 'mine'"),
    ("cbx", "DELETE", "/v1/voices/mine", {}, None, 404, "No voice 'mine'"),
    ("openai", "POST", "/v1/audio/speech", {"Authorization": f"Bearer {OTHER_KEY}"},
     {"input": "Hi.", "voice": {"id": "mine"}, "response_format": "wav"}, 422, "Unknown voice 'mine'"),
    ("openai", "POST", "/v1/audio/speech", {"Authorization": f"Bearer {OTHER_KEY}"},
     {"input": "Hi.", "voice": "mine", "response_format": "wav"}, 422, "Unknown voice 'mine'"),
    ("fish", "POST", "/v1/tts", {"Authorization": f"Bearer {OTHER_KEY}", "content-type": "application/msgpack"},
     msgpack.packb({"text": "Hi.", "reference_id": "mine", "format": "wav"}), 422, "Unknown voice 'mine'"),
    ("resonance", "POST", "/generate", {}, {"prompt": "Hi.", "voice_key": "mine"}, 400, "Voice not found at 'mine'"),
    ("segmind", "POST", "/v1/chatterbox-tts", {}, {"text": "Hi.", "reference_audio": "mine"}, 422,
     "not readable audio"),
    ("pixazo", "POST", "/chatterbox-text-to-speech/v1/chatterbox-text-to-speech-request",
     {"Ocp-Apim-Subscription-Key": OTHER_KEY}, {"text": "Hi.", "audio_url": "mine"}, 422, "not readable audio"),
]


@pytest.mark.parametrize("api, method, path, headers, body, status, words", OTHER_KEYS_VOICE)
def test_another_keys_voice_is_as_good_as_none_on_every_route(world, caplog, api, method, path, headers, body,
                                                              status, words):
    caplog.set_level(logging.WARNING)
    raw = {"content": body} if isinstance(body, bytes) else {"json": body} if body is not None else {}
    answer = world.b.request(method, path, headers=headers, **raw)
    assert_refused(answer, status, api, words, caplog.records)
    assert world.a.post("/v1/tts", json={"text": "Hi.", "voice": "mine"}).status_code == 200
    assert spoken_with(world) == f"voices/keys/{A_ID}/mine"


def test_a_key_has_a_voice_of_the_same_name_to_itself(world):
    other = write_voice_wav(world.tmp / "other.wav", seconds=8.0, sr=24000)
    mine_before = hashlib.sha256((world.data / f"voices/keys/{A_ID}/mine/voice.json").read_bytes()).hexdigest()
    assert world.b.post("/v1/voices", json={"name": "mine", "reference_audio": b64(other)}).status_code == 201
    assert world.b.post("/v1/voices", json={"name": "mine", "reference_audio": b64(other),
                                            "replace": True}).status_code == 201
    world.b.post("/v1/tts", json={"text": "Whose voice?", "voice": "mine"})
    b_spoke = spoken_with(world)
    world.a.post("/v1/tts", json={"text": "Whose voice?", "voice": "mine"})
    a_spoke = spoken_with(world)
    assert world.b.delete("/v1/voices/mine").status_code == 204
    assert world.b.delete("/v1/voices/mine").status_code == 404
    assert (b_spoke, a_spoke) == (f"voices/keys/{B_ID}/mine", f"voices/keys/{A_ID}/mine")
    mine_after = hashlib.sha256((world.data / f"voices/keys/{A_ID}/mine/voice.json").read_bytes()).hexdigest()
    assert mine_after == mine_before and world.a.get("/v1/voices").json()["voices"][0]["seconds"] == 7.0


SHARED_ROUTES = [
    # (key, method, path, headers, body, status): every key speaks with the shared voice
    ("a", "POST", "/v1/tts", {}, {"text": "Hi.", "voice": "house"}, 200),
    ("b", "POST", "/v1/tts", {}, {"text": "# One\n\n<!-- cbx: voice=house -->\nHi.", "markdown": True}, 200),
    ("b", "POST", "/v1/audio/speech", {"Authorization": f"Bearer {OTHER_KEY}"},
     {"input": "Hi.", "voice": "house", "response_format": "wav"}, 200),
    ("b", "POST", "/v1/tts", {"Authorization": f"Bearer {OTHER_KEY}", "content-type": "application/msgpack"},
     msgpack.packb({"text": "Hi.", "reference_id": "house", "format": "wav"}), 200),
    ("b", "POST", "/generate", {}, {"prompt": "Hi.", "voice_key": "house"}, 200),
]


@pytest.mark.parametrize("key, method, path, headers, body, status", SHARED_ROUTES)
def test_every_key_speaks_with_a_shared_voice(world, key, method, path, headers, body, status):
    raw = {"content": body} if isinstance(body, bytes) else {"json": body}
    answer = getattr(world, key).request(method, path, headers=headers, **raw)
    assert answer.status_code == status, answer.text
    assert spoken_with(world) == "voices/shared/house"


@pytest.mark.parametrize("method, path, body, words", [
    ("DELETE", "/v1/voices/house", None, "only its operator can remove it"),
    ("POST", "/v1/voices", {"name": "house", "reference_audio": "{audio}"}, "cannot be replaced"),
    ("POST", "/v1/voices", {"name": "house", "reference_audio": "{audio}", "replace": True}, "cannot be replaced"),
])
def test_no_key_replaces_or_deletes_a_shared_voice(world, caplog, method, path, body, words):
    caplog.set_level(logging.WARNING)
    stored = world.data / "voices" / "shared" / "house"
    before = {p.name: p.read_bytes() for p in stored.iterdir()}
    audio = b64(write_voice_wav(world.tmp / "new.wav", seconds=9.0, sr=24000))
    for http in (world.a, world.b):
        caplog.clear()
        filled = {k: audio if v == "{audio}" else v for k, v in body.items()} if body else None
        assert_refused(http.request(method, path, json=filled), 403, "cbx", words, caplog.records)
    assert {p.name: p.read_bytes() for p in stored.iterdir()} == before


def test_a_queued_job_speaks_with_its_keys_voice(world):
    request_id = world.a.post("/v2/tts", json={"text": "Later, in my voice.", "voice": "mine"}).json()["request_id"]
    deadline = time.monotonic() + 30
    while world.a.get(f"/v2/requests/{request_id}").json()["status"] != "COMPLETED":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert spoken_with(world) == f"voices/keys/{A_ID}/mine"
    assert world.b.get(f"/v2/requests/{request_id}").status_code == 404


def test_openai_voice_list_is_the_keys_own(world):
    a = [v["id"] for v in world.a.get("/v1/audio/voices", headers={"Authorization": f"Bearer {KEY}"}).json()["data"]]
    b = [v["id"] for v in world.b.get("/v1/audio/voices",
                                      headers={"Authorization": f"Bearer {OTHER_KEY}"}).json()["data"]]
    assert a[:2] == ["mine", "house"] and b[0] == "house" and "mine" not in b


# -- recordings bounded by their header before they are decoded ----------------------------------------------------


def silence(path: Path, seconds: float, fmt: str, subtype: str, rate: int = 8000) -> Path:
    """``seconds`` of silence written a minute at a time (never held whole)."""
    with sf.SoundFile(path, "w", rate, 1, subtype, format=fmt) as out:
        block = np.zeros(rate * 60, np.float32)
        for _ in range(int(seconds // 60)):
            out.write(block)
    return path


@pytest.fixture(scope="module")
def bombs(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bombs")
    flac = silence(folder / "hour.flac", 3600, "FLAC", "PCM_16")
    unknown = bytearray(flac.read_bytes())
    streaminfo = 8 + 10  # the 36-bit sample count ends STREAMINFO's 18th byte: zero is "unknown"
    unknown[streaminfo:streaminfo + 8] = (int.from_bytes(unknown[streaminfo:streaminfo + 8], "big")
                                          & ~((1 << 36) - 1)).to_bytes(8, "big")
    (folder / "unknown.flac").write_bytes(bytes(unknown))
    silence(folder / "long.ogg", 600, "OGG", "VORBIS")
    silence(folder / "long.mp3", 600, "MP3", "MPEG_LAYER_III")
    ten_hours_wav(folder / "ten-hours.wav")
    return {p.stem: p for p in folder.iterdir()}


def ten_hours_wav(path: Path) -> Path:
    """Ten hours of 16-bit silence at 8 kHz: 576 MB, sparse on disk (nothing but its header is written)."""
    rate, frames = 8000, 8000 * 3600 * 10
    head = (b"RIFF" + struct.pack("<I", 36 + frames * 2) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate,
            rate * 2, 2, 16) + b"data" + struct.pack("<I", frames * 2))
    with open(path, "wb") as out:
        out.write(head)
        out.truncate(len(head) + frames * 2)
    return path


def test_check_header_length_reads_only_the_header(bombs):
    from cbx_cli.api import check_header_length
    from cbx_cli.errors import VoiceError

    for name, words in (("hour", "3,600 s of audio"), ("unknown", "does not give its length"),
                        ("long", "600 s of audio"), ("ten-hours", "36,000 s of audio")):
        started = time.monotonic()
        with pytest.raises(VoiceError, match=words):
            check_header_length(bombs[name], f"Voice '{name}'")
        assert time.monotonic() - started < 0.5
    with open(bombs["hour"], "rb") as source:
        with pytest.raises(VoiceError, match="3,600 s"):
            check_header_length(io.BytesIO(source.read()), "upload")


def test_bombs_are_refused_on_every_upload_route_before_decoding(world, bombs, caplog):
    """An hour of FLAC (under 100 kB), ten minutes of Ogg Vorbis and of MP3, a FLAC whose header hides its length,
    ten hours of WAV: each refused from its header in well under a second, in the route's API shape."""
    caplog.set_level(logging.WARNING)
    mp3 = bombs["long"].with_suffix(".mp3")
    ten_hours_wav(world.folder / "ten-hours.wav")
    cases = [
        ("cbx", world.a, "/v1/tts", {"json": {"text": "Hi.", "reference_audio": b64(bombs["hour"])}}, 422,
         "3,600 s of audio"),
        ("cbx", world.a, "/v1/voices", {"json": {"name": "bomb", "reference_audio": b64(bombs["unknown"])}}, 422,
         "does not give its length"),
        ("cbx", world.a, "/v2/tts", {"json": {"text": "Hi.", "reference_audio": b64(bombs["hour"])}}, 422,
         "3,600 s"),
        ("fish", world.b, "/v1/tts", {"content": msgpack.packb({"text": "Hi.", "references": [
            {"audio": bombs["long"].with_suffix(".ogg").read_bytes(), "text": ""}]}),
            "headers": {"Authorization": f"Bearer {OTHER_KEY}", "content-type": "application/msgpack"}}, 422,
         "600 s of audio"),
        ("segmind", world.b, "/v1/chatterbox-tts", {"json": {"text": "Hi.", "reference_audio": b64(mp3)}}, 422,
         "600 s of audio"),
        ("resonance", world.b, "/generate", {"json": {"prompt": "Hi.", "voice_key": "ten-hours.wav"}}, 500,
         "36,000 s of audio"),
    ]
    kept = sorted((world.data / "references").iterdir())
    for api, http, path, kwargs, status, words in cases:
        caplog.clear()
        started = time.monotonic()
        answer = http.post(path, **kwargs)
        assert time.monotonic() - started < 1.0, path
        assert_refused(answer, status, api, words, caplog.records)
    assert not (world.data / "voices" / "keys" / A_ID / "bomb").exists()
    assert sorted((world.data / "references").iterdir()) == kept  # none of them was kept


def test_the_operator_removes_a_shared_voice_from_the_cli(world):
    removed = run(["voices", "remove", "house", "--server-data", world.data])
    unknown = run(["voices", "remove", "house", "--server-data", world.data])
    answer = world.b.post("/v1/tts", json={"text": "Hi.", "voice": "house"})
    assert removed.exit_code == 0 and "Removed voice 'house'" in removed.stdout
    assert unknown.exit_code != 0 and "No voices yet" in unknown.stderr and "Traceback" not in unknown.stderr
    assert answer.status_code == 422 and "Unknown voice 'house'" in answer.json()["detail"]
