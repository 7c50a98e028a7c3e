"""Hearing it: `cbx say` without -o plays the audio, --play plays what a run wrote, and a machine that cannot play
says so in one line before any work.

PortAudio reads the sound system's configuration once, when sounddevice is imported, so each case runs `cbx` in a
child process with its own HOME. The device that plays is a real ALSA device made by the test: ALSA's `file` plugin
over its `null` one, which takes the audio as a sound card would and writes every sample it was given to a file (no
sound card needed). What cannot be tested here: sound reaching a real loudspeaker, and macOS's and Windows'
audio systems.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

TESTS = Path(__file__).resolve().parent
RUN = """
import sys
sys.path.insert(0, {tests!r})
from cbx_cli.cli.app import State
from fakes import FakeEngines
State.engine_factory = FakeEngines()
from cbx_cli.cli import main
main(sys.argv[1:])
"""


def portaudio() -> bool:
    try:
        import sounddevice  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


def cbx(home: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`cbx ARGS` on the fake engine, in a child process whose HOME (and so ALSA's configuration) is ``home``."""
    environment = {**os.environ, "HOME": str(home), **(env or {})}
    return subprocess.run([sys.executable, "-c", RUN.format(tests=str(TESTS)), *args], capture_output=True,
                          text=True, env=environment, timeout=120)


def device_home(tmp_path: Path) -> tuple[Path, Path]:
    """A HOME whose ALSA default device writes what it plays to a file (raw samples); returns (home, that file)."""
    home, played = tmp_path / "home", tmp_path / "played.raw"
    home.mkdir()
    (home / ".asoundrc").write_text(f'pcm.!default {{\n  type file\n  slave.pcm "null"\n  file "{played}"\n'
                                    '  format "raw"\n}\n')
    return home, played


@pytest.mark.skipif(not portaudio(), reason="sounddevice or PortAudio is not installed")
def test_say_without_output_plays_through_the_default_device(tmp_path):
    home, played = device_home(tmp_path)
    done = cbx(home, "say", "The ferry reached the point at dusk.", "--cache-dir", str(tmp_path / "takes"))
    assert done.returncode == 0, done.stderr
    assert "Playing " in done.stderr and done.stderr.strip().endswith("(Ctrl-C stops it).")
    seconds = float(done.stderr.split("Playing ")[1].split(" s of audio")[0])
    samples = np.frombuffer(played.read_bytes(), np.float32)  # PortAudio hands ALSA float32 samples
    assert len(samples) >= seconds * 24000 * 0.95 and np.abs(samples).max() > 0.05
    assert not list(tmp_path.glob("*.wav"))  # nothing written


@pytest.mark.skipif(not portaudio(), reason="sounddevice or PortAudio is not installed")
def test_play_plays_what_book_wrote(tmp_path):
    home, played = device_home(tmp_path)
    script, out = tmp_path / "a.md", tmp_path / "a.wav"
    script.write_text("# One\n\nA line to hear.\n")
    done = cbx(home, "book", str(script), "-o", str(out), "--play", "-q", "--cache-dir", str(tmp_path / "takes"))
    assert done.returncode == 0, done.stderr
    import soundfile

    written, rate = soundfile.read(out, dtype="float32")
    samples = np.frombuffer(played.read_bytes(), np.float32)
    start = int(np.argmax(np.abs(samples) > 0.01)) - int(np.argmax(np.abs(written) > 0.01))  # the device's lead-in
    assert rate == 24000 and start >= 0 and len(samples) >= start + len(written)
    assert np.allclose(samples[start : start + len(written)], written, atol=1e-4)  # what was written is what played


@pytest.mark.skipif(not portaudio(), reason="sounddevice or PortAudio is not installed")
def test_no_audio_device_is_one_line_before_any_work(tmp_path):
    import sounddevice

    try:
        sounddevice.query_devices(kind="output")
        pytest.skip("this machine has an audio output device: the path without one cannot be seen here")
    except sounddevice.PortAudioError:
        pass
    home = tmp_path / "home"
    home.mkdir()
    done = cbx(home, "say", "Hello there.")
    assert (done.returncode, done.stderr) == (2, "cbx: error: There is no audio output device to play on: write a "
                                                 "file with -o FILE instead.\n")


def test_without_the_play_extra_it_says_how_to_get_it(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    (blocked / "sounddevice.py").write_text("raise ImportError('not installed')\n")
    done = cbx(home, "say", "Hello there.", env={"PYTHONPATH": str(blocked)})
    assert (done.returncode, done.stderr) == (2, "cbx: error: Playing audio needs the play extra: pip install "
                                                 "'cbx-cli[play]', or write a file with -o FILE.\n")


@pytest.mark.skipif(not portaudio(), reason="sounddevice or PortAudio is not installed")
def test_doctor_checks_the_audio_device_a_play_run_needs(tmp_path):
    folder = tmp_path / "ckpt"  # laid out as a checkpoint: doctor looks for the files, it loads nothing
    folder.mkdir()
    for name in ("ve.safetensors", "t3_cfg.safetensors", "s3gen.safetensors", "tokenizer.json"):
        (folder / name).write_bytes(b"")
    base = ("doctor", "--play", "--model-dir", str(folder), "--cache-dir", str(tmp_path / "takes"))
    home, _ = device_home(tmp_path)
    done = cbx(home, *base)  # (its exit code also counts the disk free for the cache, which this test cannot fix)
    assert any(line.startswith("ok  audio output") for line in done.stdout.splitlines()), done.stdout
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    (blocked / "sounddevice.py").write_text("raise ImportError('not installed')\n")
    done = cbx(home, *base, env={"PYTHONPATH": str(blocked)})
    assert done.returncode == 1 and "missing: " in done.stdout and "audio output." in done.stdout.split("missing: ")[1]
    assert "--  audio output         Playing audio needs the play extra\n" \
           "                         fix: pip install 'cbx-cli[play]', or write a file with -o FILE\n" in done.stdout
