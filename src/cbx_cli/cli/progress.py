"""What a run is doing, on one live display on stderr: the stage (planning, fetching or loading a model, conditioning
voices, rendering, hearing takes, assembling, writing) and the chunks, known from the plan at once, with the seconds
of audio in hand, the speed and the time left. Drawn only on a terminal; the figures are kept either way, so the
summary gives the same speed the bar last showed."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeRemainingColumn


def speed(made_seconds: float, elapsed: float) -> float:
    """The run's speed: seconds of audio rendered in it per second since it started (model loading included)."""
    return made_seconds / elapsed if elapsed > 0 else 0.0


class RunProgress:
    def __init__(self, console: Console, enabled: bool, started: float | None = None):
        self.enabled = enabled
        self.started = started if started is not None else time.monotonic()
        self.made = 0.0
        """Seconds of audio rendered in this run, as last reported."""
        self.speed = 0.0
        """`speed` as last shown."""
        self._console = console
        self._bar: Progress | None = None
        self._stage = None
        self._chunks = None

    def __enter__(self) -> RunProgress:
        if self.enabled:
            self._bar = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[figures]}"),
                TimeRemainingColumn(),
                console=self._console,
                transient=True,
            )
            self._bar.__enter__()
            self._stage = self._bar.add_task("starting", total=None, figures="")
        return self

    def stage(self, detail: str) -> None:
        """The run is now doing ``detail`` (in words: "loading the original model")."""
        if self._bar is not None:
            self._bar.update(self._stage, description=detail)

    def on_stage(self, stage) -> None:
        """A stage the library tells (`Narrator.on_stage`)."""
        self.stage(stage.detail)

    def chunks(self, total: int) -> None:
        """The run has ``total`` chunks: the bar counts them from now on."""
        if self._bar is not None and self._chunks is None:
            self._chunks = self._bar.add_task(f"0/{total} chunks", total=total, figures=self._figures(0.0))

    def update(self, p) -> None:
        """A render's progress (the library's `Progress`)."""
        self.made = p.made_seconds
        self.speed = speed(p.made_seconds, time.monotonic() - self.started)
        if self._bar is None:
            return
        self.chunks(p.total)
        self._bar.update(self._chunks, total=p.total, completed=p.done, description=f"{p.done}/{p.total} chunks",
                         figures=self._figures(p.audio_seconds))
        self.stage("hearing takes" if p.stage == "verifying" else "rendering")

    def pulled(self, p) -> None:
        """Bytes of a model being fetched (`PullProgress`)."""
        self.stage(f"fetching {p.model}: {p.done / 1e6:.0f} of {p.total / 1e6:.0f} MB" if p.total else
                   f"fetching {p.model}")

    def _figures(self, audio: float) -> str:
        return f"{audio:.1f} s audio, {self.speed:.2f}x" if self.made else f"{audio:.1f} s audio"

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
