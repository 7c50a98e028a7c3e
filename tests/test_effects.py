import numpy as np
import pytest

from cbx_cli.assemble.effects import apply_volume, change_speed, scale_spans
from cbx_cli.config.params import NarrationOptions, check_options
from cbx_cli.errors import ParamError

SR = 24000


def tone(seconds: float, freq: float = 220.0, amp: float = 0.4) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def dominant_hz(audio: np.ndarray) -> float:
    """The strongest frequency, refined by parabolic interpolation of the log spectrum around the peak bin."""
    spec = np.abs(np.fft.rfft(audio * np.hanning(len(audio)), n=8 * len(audio)))
    k = int(np.argmax(spec))
    a, b, c = np.log(spec[k - 1 : k + 2] + 1e-12)
    k_fine = k + 0.5 * (a - c) / (a - 2 * b + c)
    return k_fine * SR / (8 * len(audio))


def active_seconds(audio: np.ndarray, threshold: float = 0.05) -> float:
    loud = np.nonzero(np.abs(audio) > threshold)[0]
    return (loud[-1] - loud[0]) / SR


def test_speed_up_shortens_and_keeps_pitch():
    sig = np.concatenate([np.zeros(SR // 2, np.float32), tone(2.0), np.zeros(SR // 2, np.float32)])
    fast = change_speed(sig, SR, 1.5)
    assert len(fast) / len(sig) == pytest.approx(1 / 1.5, rel=0.03)
    assert active_seconds(fast) == pytest.approx(active_seconds(sig) / 1.5, rel=0.03)
    voiced = fast[np.abs(fast) > 0.0][SR // 10 : -SR // 10]
    assert dominant_hz(voiced) == pytest.approx(220.0, rel=0.03)


@pytest.mark.parametrize("factor", [0.5, 0.8, 1.25, 2.0])
def test_speed_range_keeps_pitch(factor):
    sig = tone(1.5)
    out = change_speed(sig, SR, factor)
    assert len(out) == round(len(sig) / factor)
    assert dominant_hz(out[SR // 10 : -SR // 10]) == pytest.approx(220.0, rel=0.03)
    assert np.max(np.abs(out)) < 0.5  # no overlap-add build-up


def test_speed_one_returns_input_unchanged():
    sig = tone(0.3)
    assert change_speed(sig, SR, 1.0) is sig


def test_speed_multichannel_and_empty():
    stereo = np.stack([tone(1.0), tone(1.0, 330.0)], axis=1)
    out = change_speed(stereo, SR, 2.0)
    assert out.shape == (SR // 2, 2)
    assert change_speed(np.zeros(0, np.float32), SR, 1.5).shape == (0,)


@pytest.mark.parametrize("factor", [0.4, 2.5, float("nan")])
def test_speed_out_of_range(factor):
    # Ranges are checked once, where the options are built; the effects trust what they are given.
    with pytest.raises(ParamError, match=r"^--speed .* is out of range; use 0.5 to 2.0.$"):
        check_options(NarrationOptions, speed=factor)


@pytest.mark.parametrize("db", [float("inf"), float("nan"), 20.5])
def test_volume_out_of_range(db):
    with pytest.raises(ParamError, match=r"^--volume .* is out of range; use -20 to 20 dB.$"):
        check_options(NarrationOptions, volume=db)


def test_volume_plus_six_db_doubles_amplitude():
    sig = tone(0.2, amp=0.2)
    louder = apply_volume(sig, 6.0)
    assert np.max(np.abs(louder)) / np.max(np.abs(sig)) == pytest.approx(2.0, rel=0.01)
    assert np.max(np.abs(apply_volume(sig, -6.0))) == pytest.approx(0.1, rel=0.01)
    assert apply_volume(sig, 0.0) is sig


def test_scale_spans_follows_the_stretch():
    spans = [(0.0, 1.2), (1.5, 3.0)]
    assert [t for span in scale_spans(spans, 1.5) for t in span] == pytest.approx([0.0, 0.8, 1.0, 2.0])
    assert scale_spans(spans, 1.0) == spans
    # a tone placed at a span lands where scale_spans says, within a frame
    sig = np.zeros(4 * SR, np.float32)
    sig[int(1.5 * SR) : 3 * SR] = tone(1.5)
    out = change_speed(sig, SR, 0.8)
    (start, end), = scale_spans([(1.5, 3.0)], 0.8)
    loud = np.nonzero(np.abs(out) > 0.05)[0]
    assert loud[0] / SR == pytest.approx(start, abs=0.05)
    assert loud[-1] / SR == pytest.approx(end, abs=0.05)


@pytest.mark.parametrize("factor", [0.8, 1.5])
def test_speed_of_a_signal_in_pieces_is_the_speed_of_the_whole(factor):
    """A stream's take, sped up piece by piece as it arrives (`SpeedStream`), is what `change_speed` makes of the
    whole take, sample for sample: no join restarts WSOLA (which would dip to silence there), and its length is the
    whole's. A second take after the first starts afresh."""
    from cbx_cli.assemble.effects import SpeedStream

    sig = tone(2.0)
    pieces = np.split(sig, [3600, 27600, 28000, 45000])
    stream = SpeedStream(SR, factor)
    for _ in range(2):
        out = np.concatenate([stream.push(p, last=i == len(pieces) - 1) for i, p in enumerate(pieces)])
        assert np.array_equal(out, change_speed(sig, SR, factor))
    def envelope(a):  # RMS over 10 ms, away from the ends
        return np.sqrt(np.convolve(a.astype(np.float64) ** 2, np.ones(240) / 240, "valid"))[2400:-2400]

    apart = np.concatenate([change_speed(p, SR, factor) for p in pieces])  # each piece on its own
    assert envelope(apart).min() < 0.05 and envelope(out).min() > 0.15
