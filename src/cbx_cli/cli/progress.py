"""Rich progress for a render: chunks done, seconds of audio, speed, ETA. Drawn on stderr only."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from cbx_cli.api import Progress as RenderProgress


class RunProgress:
    def __init__(self, console: Console, enabled: bool):
        self.enabled = enabled
        self._bar = None
        self._task = None
        self._console = console

    def __enter__(self) -> RunProgress:
        if self.enabled:
            self._bar = Progress(
                TextColumn("chunks"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[audio]:.1f} s audio"),
                TextColumn("{task.fields[speed]:.2f}x"),
                TimeRemainingColumn(),
                console=self._console,
                transient=True,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task("render", total=None, audio=0.0, speed=0.0)
        return self

    def update(self, p: RenderProgress) -> None:
        if self._bar is None:
            return
        speed = p.audio_seconds / p.elapsed if p.elapsed > 0 else 0.0
        self._bar.update(self._task, total=p.total, completed=p.done, audio=p.audio_seconds, speed=speed)

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
