import math
import re
import shutil

import numpy as np
import pytest
import soundfile as sf

from cbx_cli.errors import InputError
from cbx_cli.tools.check import Requirement, acx_check, format_requirements, measure, noise_floor_db

SR = 24000
needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")


def db(x: float) -> float:
    return 20 * math.log10(x)


def speech(seconds: float, freq: float = 150.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    env = 0.55 + 0.45 * np.sin(2 * np.pi * 3.0 * t)  # syllables
    return env * sum(np.sin(2 * np.pi * freq * k * t) / k for k in range(1, 6))


def acx_program() -> np.ndarray:
    """Six speech-like phrases with 0.35 s digital-silence pauses: RMS -20 dB, peak -4 dB."""
    parts = []
    for i in range(6):
        phrase = speech(1.2, 120.0 + 15 * i)
        if i == 2:
            phrase[: SR // 5] *= 2.12  # one stressed syllable carries the peak
        parts += [phrase, np.zeros(int(0.35 * SR))]
    x = np.concatenate(parts)
    x *= 10 ** (-20 / 20) / np.sqrt(np.mean(x**2))
    return x


def by_name(reqs: list[Requirement]) -> dict[str, Requirement]:
    return {r.name: r for r in reqs}


def write(tmp_path, name: str, audio: np.ndarray, subtype: str = "PCM_16"):
    path = tmp_path / name
    sf.write(str(path), audio, SR, subtype=subtype)
    return path


def test_the_acx_program_measures_as_built():
    x = acx_program()
    assert db(np.sqrt(np.mean(x**2))) == pytest.approx(-20.0, abs=0.01)
    assert db(np.max(np.abs(x))) == pytest.approx(-4.0, abs=0.1)


def test_acx_file_passes_everything(tmp_path):
    reqs = by_name(acx_check(write(tmp_path, "ok.wav", acx_program())))
    assert reqs["RMS"].value == pytest.approx(-20.0, abs=0.05)
    assert reqs["Peak"].value == pytest.approx(-4.0, abs=0.1)
    assert reqs["Noise floor"].value == -math.inf
    assert reqs["Noise floor"].note == "digital silence"
    assert all(r.passed for r in reqs.values())


def failures(tmp_path, audio: np.ndarray) -> list[str]:
    return [r.name for r in acx_check(write(tmp_path, "x.flac", audio)) if not r.passed]


def test_too_quiet_fails_rms_only(tmp_path):
    assert failures(tmp_path, acx_program() * 10 ** (-5 / 20)) == ["RMS"]


def test_peak_of_minus_one_fails_peak_only(tmp_path):
    x = acx_program()
    x[SR // 2] = 10 ** (-1 / 20)  # one click
    assert failures(tmp_path, x) == ["Peak"]


def test_constant_hiss_fails_noise_floor_only(tmp_path):
    rng = np.random.default_rng(7)
    hiss = rng.uniform(-1, 1, len(acx_program())) * math.sqrt(3) * 10 ** (-40 / 20)  # RMS -40 dB, bounded
    x = acx_program() + hiss
    reqs = by_name(acx_check(write(tmp_path, "hiss.wav", x, "FLOAT")))
    assert reqs["Noise floor"].value == pytest.approx(-40.0, abs=0.5)
    assert [r.name for r in reqs.values() if not r.passed] == ["Noise floor"]


def test_noise_floor_is_found_in_short_pauses():
    # pauses of 0.3 s only: no 500 ms window is free of speech, yet the floor is the pause level
    rng = np.random.default_rng(1)
    parts = []
    for _ in range(8):
        parts += [0.3 * speech(1.0), rng.normal(0, 10 ** (-65 / 20), int(0.3 * SR))]
    x = np.concatenate(parts)
    assert noise_floor_db(x, SR) == pytest.approx(-65.0, abs=1.0)


def test_format_requirements_lines():
    lines = format_requirements(measure(acx_program(), SR))
    assert re.fullmatch(r"RMS +-20\.0 dB +\(-23 to -18 dB\) +pass", lines[0])
    assert re.fullmatch(r"Peak +-4\.\d dB +\(at most -3 dB\) +pass", lines[1])
    assert re.fullmatch(r"Noise floor +-inf dB \(digital silence\) +\(at most -60 dB\) +pass", lines[2])
    assert len({line.index("(-23") if "(-23" in line else line.index("(at") for line in lines}) == 1  # aligned
    quiet = format_requirements(measure(acx_program() * 0.1, SR))
    assert quiet[0].endswith("FAIL") and "-40.0 dB" in quiet[0]


def test_missing_or_empty_file(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        acx_check(tmp_path / "nope.wav")
    with pytest.raises(InputError, match="no samples"):
        acx_check(write(tmp_path, "empty.wav", np.zeros(0)))


@needs_ffmpeg
def test_m4b_is_decoded_with_ffmpeg(tmp_path):
    from cbx_cli.deliver.ffmpeg import export_ffmpeg

    x = acx_program()
    path = tmp_path / "book.m4b"
    export_ffmpeg(x.astype(np.float32), SR, str(path), "m4b", bitrate="128k")
    reqs = by_name(acx_check(path))
    assert reqs["RMS"].value == pytest.approx(-20.0, abs=0.5)
    assert reqs["RMS"].passed and reqs["Peak"].passed


def test_missing_ffmpeg_for_m4b_is_one_line(tmp_path, monkeypatch):
    path = tmp_path / "book.m4b"
    path.write_bytes(b"\0" * 64)
    monkeypatch.setattr(shutil, "which", lambda *a, **k: None)
    with pytest.raises(InputError) as err:
        acx_check(path)
    assert "\n" not in str(err.value) and str(err.value).startswith("ffmpeg is not installed")
