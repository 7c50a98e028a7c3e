"""`cbx models`: list every model a command can need, and fetch them (or carry them to a machine offline)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

from cbx_cli.cli.app import app, err, setup_logging
from cbx_cli.cli.options import with_options

models_app = typer.Typer(help="Every model a command can need: list them, fetch them, carry them offline.",
                         no_args_is_help=True)
app.add_typer(models_app, name="models")


@models_app.command("list")
def models_list() -> None:
    """Each model: what it is for, its repository, and where it is in the Hugging Face cache (revision, size), or
    that it is not there."""
    from cbx_cli.config.catalog import size_text
    from cbx_cli.tools.models import list_models

    for listed in list_models():
        e = listed.entry
        typer.echo(f"{e.name:<13} {e.kind}: {e.what}")
        typer.echo(f"{'':<13} {e.repo}")
        if not listed.snapshots:
            typer.echo(f"{'':<13} not in the cache (about {size_text(e.size)}): cbx models pull {e.name}")
        for snapshot in listed.snapshots:
            names = [ref for ref, commit in listed.refs.items() if commit == snapshot.revision]
            at = snapshot.revision[:12] + (f" ({', '.join(sorted(names))})" if names else "")
            typer.echo(f"{'':<13} in the cache at {at}, {size_text(snapshot.size)}: {snapshot.folder}")


@models_app.command("pull")
@with_options("revision", "quiet", "debug")
def models_pull(
    names: Annotated[list[str] | None, typer.Argument(metavar="NAME...", help="Models as cbx models list names "
                                                      "them (original, turbo, multilingual, base.en, small.en, base, "
                                                      "small), each optionally NAME@REVISION.")] = None,
    *,
    opts,
    to: Annotated[Path | None, typer.Option("--to", metavar="DIR", help="Also copy the models into this folder, to "
                                            "carry to a machine without the network.")] = None,
    source: Annotated[Path | None, typer.Option("--from", metavar="DIR", help="Put the models of a folder made by "
                                                "--to into the Hugging Face cache (all of them, or those named); "
                                                "no network needed.")] = None,
) -> None:
    """Fetch models into the Hugging Face cache, with progress; a fetch cut off continues where it stopped."""
    from cbx_cli.errors import ParamError
    from cbx_cli.tools.models import carry_from, pull

    setup_logging(opts.debug)
    if to is not None and source is not None:
        raise ParamError("Give --to DIR (on the machine with the network) or --from DIR (on the one without), not "
                         "both.")
    with PullProgress(err, enabled=not opts.quiet and err.is_terminal) as progress:
        if source is not None:
            done = carry_from(source, names or (), progress.update, progress.model)
        else:
            done = pull(names or (), opts.revision, to, progress.update, progress.model)
    if opts.quiet:
        return
    from cbx_cli.config.catalog import size_text

    for entry, cached in done:
        err.print(f"{entry.name}: {entry.repo} at {cached.revision[:12]}, {size_text(cached.size)}, in "
                  f"{cached.folder}", markup=False)
    if to is not None:
        err.print(f"Carry {to} to the other machine and run there: cbx models pull --from {to}", markup=False)


class PullProgress:
    """One bar per model: bytes in the cache, speed, time left."""

    def __init__(self, console: Console, enabled: bool):
        self.enabled = enabled
        self._console = console
        self._bar: Progress | None = None
        self._tasks: dict[str, int] = {}

    def __enter__(self) -> PullProgress:
        if self.enabled:
            self._bar = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                                 TransferSpeedColumn(), TimeRemainingColumn(), console=self._console, transient=True)
            self._bar.__enter__()
        return self

    def model(self, entry, doing: str) -> None:
        if self._bar is not None:
            self._tasks[entry.name] = self._bar.add_task(f"{entry.name}: {doing}", total=None)
        elif self.enabled:
            self._console.print(f"{entry.name}: {doing}", markup=False)

    def update(self, p) -> None:
        if self._bar is not None and p.model in self._tasks:
            self._bar.update(self._tasks[p.model], total=p.total or None, completed=p.done)

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
