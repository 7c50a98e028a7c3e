"""`cbx serve` on the real Chatterbox code path (the tiny random checkpoint), over real HTTP on a loopback port."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import soundfile as sf

from clirun import run
from servers import KEY, client, running

pytestmark = pytest.mark.engine

TEXTS = ["Your order has shipped.", "The meeting moved to Monday."]


def test_real_engine_server_matches_cbx_say_and_streams(original_ckpt, tmp_path, isolated_env):
    """Concurrent /v1/tts requests (sharing the engine's batches) give what `cbx say` gives; OpenAI's client
    streams a wav from the same server. A user preset bounds the tokens (random weights never stop)."""
    presets = isolated_env.config / "cbx" / "presets"
    presets.mkdir(parents=True)
    (presets / "tiny.yaml").write_text("description: test\nsynthesis:\n  max_tokens: 12\n")
    body = {"max_tokens": 12, "retries": 0, "seed": 5}
    with running(tmp_path / "serve", None, model_dir=original_ckpt, preset="tiny", batch_size=4) as base:
        with client(base, timeout=600) as http, ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(lambda t: http.post("/v1/tts", json={"text": t, **body}), TEXTS))
        openai = pytest.importorskip("openai")
        speaker = openai.OpenAI(base_url=f"{base}/v1", api_key=KEY, max_retries=0, timeout=600)
        with speaker.audio.speech.with_streaming_response.create(model="tts-1", voice="alloy", input=TEXTS[0],
                                                                 response_format="pcm") as streamed:
            pcm = b"".join(streamed.iter_bytes())
    assert [a.status_code for a in answers] == [200, 200], answers[0].text
    assert answers[0].content != answers[1].content
    out = tmp_path / "say.wav"
    said = run(["say", TEXTS[1], "-o", str(out), "--model-dir", str(original_ckpt), "--device", "cpu",
                "--max-tokens", "12", "--retries", "0", "--seed", "5", "--no-cache", "--quiet"])
    assert said.exit_code == 0, said.stderr
    assert answers[1].content == out.read_bytes()
    audio, sr = sf.read(io.BytesIO(answers[0].content))
    assert sr == 24000 and np.isfinite(audio).all() and np.abs(audio).max() > 0.01
    samples = np.frombuffer(pcm, "<i2")
    assert len(samples) > 0.1 * sr and np.abs(samples).max() > 100


def test_real_engine_hosted_apis_give_the_bytes_cbx_say_gives(original_ckpt, tmp_path):
    """Segmind's and Fish's own clients, unchanged but for the address, against the real engine: the operator's
    token cap (the vendors' requests carry none) bounds the work, and the audio is `cbx say`'s."""
    segmind = pytest.importorskip("segmind")
    fishaudio = pytest.importorskip("fishaudio")
    from cbx_cli.serve import Defaults

    text = TEXTS[0]
    defaults = Defaults(max_tokens=12, retries=0)
    with running(tmp_path / "serve", None, model_dir=original_ckpt, batch_size=4, defaults=defaults) as base:
        client = segmind.SegmindClient(api_key=KEY, base_url=f"{base}/v1", timeout=600)
        mp3 = client.run_sync("chatterbox-tts", text=text, seed=42).content
        fish = fishaudio.FishAudio(api_key=KEY, base_url=base, timeout=600)
        pcm = fish.tts.convert(text=text, format="pcm", config=fishaudio.TTSConfig(temperature=0.8, top_p=1.0))
    flags = ["--model-dir", str(original_ckpt), "--device", "cpu", "--max-tokens", "12", "--retries", "0",
             "--cache-dir", str(tmp_path / "say-takes"), "--quiet"]
    said = [run(["say", text, "-o", str(tmp_path / f"say.{ext}"), *flags]) for ext in ("wav", "mp3")]
    assert [s.exit_code for s in said] == [0, 0], said[0].stderr
    assert mp3 == (tmp_path / "say.mp3").read_bytes()
    streamed = run(["say", text, "-o", "-", "--stream", "--format", "pcm", *flags])  # Fish streams by default
    assert streamed.exit_code == 0, streamed.stderr
    assert pcm == streamed.stdout_bytes and len(pcm) > 1000
