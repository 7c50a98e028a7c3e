"""Playing a narration on the default audio output: `cbx say` without -o, and --play.

Why sounddevice: a small, well-kept binding (MIT) to PortAudio, which plays through every desktop's audio system
(Core Audio, WASAPI, ALSA and PulseAudio/PipeWire through it); its wheels carry PortAudio on macOS and Windows, and
Linux has it as a system package (libportaudio2). It plays a float32 array at its own rate, so nothing is encoded.
It is the `play` extra: a server or a cluster node never needs it.
"""

from __future__ import annotations

import numpy as np

from cbx_cli.errors import NoPlayer, OutputError

EXTRA_HINT = "pip install 'cbx-cli[play]'"


def player():
    """The sounddevice module with PortAudio loaded, and the default output device it plays on (its name); one
    line saying what to do when there is none."""
    try:
        import sounddevice
    except ImportError:
        raise NoPlayer("Playing audio needs the play extra", f"{EXTRA_HINT}, or write a file with -o FILE") from None
    except OSError:  # the module is there, PortAudio is not
        raise NoPlayer("Playing audio needs the PortAudio library", "apt install libportaudio2 (or your system's "
                       "package of it), or write a file with -o FILE") from None
    try:
        device = sounddevice.query_devices(kind="output")
    except Exception:  # noqa: BLE001 - PortAudioError, or a host API that fails to start
        device = None
    if not device:
        raise NoPlayer("There is no audio output device to play on", "write a file with -o FILE instead")
    return sounddevice, str(device["name"])


def play(audio: np.ndarray, sample_rate: int) -> None:
    """Play ``audio`` (float32 mono) on the default output device, to its end (Ctrl-C stops it)."""
    sounddevice, _ = player()
    try:
        sounddevice.play(np.ascontiguousarray(audio, dtype=np.float32), sample_rate, blocking=True)
    except KeyboardInterrupt:
        sounddevice.stop()
        raise
    except Exception as exc:  # noqa: BLE001 - PortAudio refuses the device or the rate
        raise OutputError(f"The audio device would not play ({exc}); write a file with -o FILE instead.") from None
