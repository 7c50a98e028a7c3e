import io
import math

import numpy as np
import pytest
import soundfile as sf

from cbx_cli.assemble.assemble import assemble, trim_silence
from cbx_cli.assemble.effects import resample
from cbx_cli.assemble.loudness import integrated_loudness, limit_peaks, normalize, peak_dbfs
from cbx_cli.deliver.export import encode, export, format_for
from cbx_cli.errors import OutputError
from cbx_cli.files import write_atomic

SR = 24000


def tone(seconds: float, freq: float = 220.0, amp: float = 0.3, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    # a voiced, speech-like signal: harmonics under a slow syllable envelope
    env = 0.55 + 0.45 * np.sin(2 * np.pi * 3.0 * t)
    sig = sum(np.sin(2 * np.pi * freq * k * t) / k for k in range(1, 6))
    return (amp * env * sig / 2.3).astype(np.float32)


def padded(sig: np.ndarray, before: float, after: float) -> np.ndarray:
    return np.concatenate([np.zeros(int(before * SR), np.float32), sig, np.zeros(int(after * SR), np.float32)])


def test_trim_cuts_leading_and_trailing_silence():
    sig = tone(1.0)
    trimmed = trim_silence(padded(sig, 0.5, 0.7), SR)
    assert abs(len(trimmed) / SR - 1.0) < 0.1


def test_trim_of_silence_is_empty():
    assert trim_silence(np.zeros(SR, np.float32), SR).size == 0


def test_assemble_places_pauses_and_spans():
    a, b = tone(1.0), tone(0.5, 330)
    prog = assemble([padded(a, 0.3, 0.3), padded(b, 0.2, 0.2)], [0.5, 0.0], SR, crossfade_ms=10)
    (s0, e0), (s1, e1) = prog.spans
    assert s0 == 0.0
    assert abs((e0 - s0) - 1.0) < 0.1
    assert abs((s1 - e0) - 0.5) < 0.01
    assert abs(prog.duration - e1) < 1e-6


def test_zero_pause_crossfades_without_clicks():
    a, b = tone(0.5, 200, 0.5), tone(0.5, 300, 0.5)
    prog = assemble([a, b], [0.0, 0.0], SR, crossfade_ms=10)
    assert prog.duration < 1.0  # overlapped
    # no sample-to-sample jump larger than the signal itself ever makes
    biggest_step = max(np.max(np.abs(np.diff(a))), np.max(np.abs(np.diff(b))))
    assert np.max(np.abs(np.diff(prog.audio))) <= biggest_step * 1.5


def test_takes_start_and_end_at_zero():
    prog = assemble([np.full(SR, 0.5, np.float32)], [0.0], SR, crossfade_ms=10)
    assert abs(prog.audio[0]) < 1e-3 and abs(prog.audio[-1]) < 1e-3


def test_normalize_reaches_target_and_holds_peak():
    sig = tone(5.0, amp=0.05)
    out = normalize(sig, SR, -20.0, -3.0)
    assert abs(integrated_loudness(out, SR) - -20.0) < 0.5
    assert peak_dbfs(out) <= -3.0 + 1e-6


def test_normalize_loud_target_is_limited():
    sig = tone(5.0, amp=0.05)
    out = normalize(sig, SR, -10.0, -1.0)
    assert peak_dbfs(out) <= -1.0 + 1e-6
    assert integrated_loudness(out, SR) > -13.0


def test_silence_stays_silence():
    out = normalize(np.zeros(SR, np.float32), SR, -16.0, -1.0)
    assert not np.any(out)
    assert integrated_loudness(out, SR) == -math.inf


def test_short_audio_is_measured():
    assert math.isfinite(integrated_loudness(tone(0.2), SR))


def test_limiter_never_exceeds_ceiling():
    rng = np.random.default_rng(0)
    loud = rng.normal(0, 0.8, SR).astype(np.float32)
    out = limit_peaks(loud, SR, -6.0)
    assert np.max(np.abs(out)) <= 10 ** (-6 / 20) + 1e-6


@pytest.mark.parametrize("fmt", ["wav", "flac", "mp3", "ogg"])
def test_encode_round_trips(fmt):
    data = encode(tone(1.0), SR, fmt)
    audio, sr = sf.read(io.BytesIO(data))
    assert sr == SR
    assert abs(len(audio) / sr - 1.0) < 0.1


def test_format_from_extension_and_override():
    assert format_for("a/b.FLAC", None) == "flac"
    assert format_for("a/b.wav", "mp3") == "mp3"
    assert format_for("-", None) == "wav"
    with pytest.raises(OutputError, match=r"Unknown output extension '\.aiff'"):
        format_for("x.aiff", None)
    with pytest.raises(OutputError, match="has no extension"):
        format_for("out", None)


def test_resample_changes_rate():
    out = resample(tone(1.0), SR, 16000)
    assert abs(len(out) - 16000) <= 2


def test_export_is_atomic_on_failure(tmp_path):
    target = tmp_path / "out.wav"

    def explode(tmp):
        tmp.write_bytes(b"partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, explode)
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_export_replaces_only_when_complete(tmp_path):
    target = tmp_path / "out.flac"
    export(tone(1.0), SR, str(target), "flac")
    audio, sr = sf.read(target)
    assert sr == SR and len(audio) > 0
    assert [p.name for p in tmp_path.iterdir()] == ["out.flac"]


def test_export_to_stdout_writes_wav_bytes():
    buf = io.BytesIO()
    export(tone(0.5), SR, "-", "wav", stdout=buf)
    assert buf.getvalue()[:4] == b"RIFF"


def test_rms_range_counts_pauses_and_keeps_loudness_in_window():
    from cbx_cli.assemble.loudness import rms_dbfs

    sig = np.concatenate([tone(2.0), np.zeros(SR * 6, np.float32), tone(2.0)])  # mostly silence
    plain = normalize(sig, SR, -20.0, -3.0)
    assert rms_dbfs(plain) < -22.7  # the pause drags the RMS below ACX's window
    out = normalize(sig, SR, -20.0, -3.0, rms_range=(-23.0, -18.0))
    assert -23.0 <= rms_dbfs(out) <= -18.0
    assert -23.0 <= integrated_loudness(out, SR) <= -18.0
    assert peak_dbfs(out) <= -3.0 + 1e-6
