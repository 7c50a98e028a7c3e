"""The real speech recognition path: faster-whisper loading a tiny random-weight Whisper
(cbx_cli/tools/whisper_checkpoints.py) from a folder and from the Hugging Face cache, transcribing takes into timed
words. Random weights hear noise as any text at all, so these tests judge the path (it loads, hears every take,
times every word inside its take), never the words; test_verify_speech.py judges the words, with real weights on
real speech."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from cbx_cli.errors import ModelError
from cbx_cli.tools.checkpoints import fill_hf_cache, synthetic_voice
from cbx_cli.verify.asr import WhisperTranscriber, make_transcriber
from clirun import run

SR = 24000


class Said:
    """A chunk as the transcriber sees it: its language and its text (which bounds the tokens it may hear)."""

    def __init__(self, spoken: str, language: str | None = None):
        self.spoken, self.language = spoken, language


def test_a_model_folder_loads_and_every_take_comes_back_with_timed_words(whisper_dir):
    takes = [synthetic_voice(1.5, SR, seed=1), synthetic_voice(0.8, SR, seed=2), synthetic_voice(2.2, SR, seed=3)]
    asr = WhisperTranscriber(str(whisper_dir), "cpu")
    heard = asr.transcribe(takes, SR, [Said("one two three"), Said("four"), Said("five six seven eight")])
    assert len(heard) == 3
    for take, h in zip(takes, heard, strict=True):
        seconds = len(take) / SR
        assert h.words, "every take is heard as at least one word"
        assert h.text == "".join(w.text for w in h.words).strip()
        assert all(0.0 <= w.start <= w.end <= seconds + 0.05 for w in h.words)
        assert [w.start for w in h.words] == sorted(w.start for w in h.words)


def test_a_model_name_loads_from_the_hugging_face_cache(whisper_dir, isolated_env):
    fill_hf_cache(isolated_env.hf_hub_cache, "Systran/faster-whisper-tiny.en", whisper_dir)
    asr = make_transcriber("tiny.en", "cpu")
    assert asr.folder.parent.name == "snapshots"
    (heard,) = asr.transcribe([synthetic_voice(1.0, SR)], SR, [Said("hello")])
    assert heard.words


def test_a_folder_without_a_model_is_one_clear_error(tmp_path):
    with pytest.raises(ModelError, match="no model.bin there. Pass a faster-whisper model folder"):
        WhisperTranscriber(str(tmp_path), "cpu")


def test_verify_with_a_model_folder_through_the_cli(fake_engine, whisper_dir, tmp_path):
    out, manifest = tmp_path / "out.wav", tmp_path / "out.json"
    r = run(["say", "The parcel reached the harbour.", "-o", out, "--manifest", manifest, "--device", "cpu",
             "--verify", "--verify-model", whisper_dir, "--recheck-model", "none", "--retries", "1"])
    assert r.exit_code == 0, r.output
    (chunk,) = json.loads(manifest.read_text())["chunks"]
    assert len(chunk["attempts"]) == 2  # random weights never say the text: retried once, then flagged
    assert all(isinstance(a["transcript"], str) and 0.0 <= a["score"] <= 1.0 for a in chunk["attempts"])
    assert chunk["verified"] is False and chunk["warnings"]
    assert np.isfinite(chunk["score"])


def test_bench_asr_measures_the_transcriber_on_a_model_folder(whisper_dir, tmp_path):
    r = run(["bench", "--asr", "--verify-model", whisper_dir, "--device", "cpu", "--chunks", "2", "--json",
             tmp_path / "asr.json"])
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith(f"speech recognition ({whisper_dir}) on cpu, int8, batch 1: 2 takes of ")
    result = json.loads((tmp_path / "asr.json").read_text())
    assert result["audio"] == ("espeak-ng speech" if shutil.which("espeak-ng") else "synthetic voice")
    assert result["audio_per_s"] == pytest.approx(result["audio_s"] / result["wall_s"], rel=0.01)
    assert result["per_hour_s"] == pytest.approx(result["wall_s"] / result["audio_s"] * 3600, rel=0.01)
    assert f"{result['audio_s']:.0f} s of audio in {result['wall_s']:.2f} s = " in r.stdout
