"""The `cbx` command line: a thin client of the library (`cbx_cli.api`).

Importing this package registers every command on the Typer app; `main` runs it.
"""

from cbx_cli.cli import batch, models, narrate, plan, retake, review, serve, settings, tools, voices  # noqa: F401 - each module registers its commands
from cbx_cli.cli.app import app, main

app.add_typer(voices.voices_app, name="voices")

__all__ = ["app", "main"]
