"""The `cbx` Typer app and its policy for failures: one line on stderr and an exit code, no traceback.

The policy lives in the command group (`CbxGroup.main`), so the installed `cbx`, `python -m cbx_cli` and tests
that invoke the app with Typer's CliRunner all behave the same. Commands are defined in the modules beside this
one; `cbx_cli.cli` imports them, which registers them on `app`.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings

import typer
from rich.console import Console

try:  # typer 0.2x carries its own copy of click
    from typer import _click as click
except ImportError:  # pragma: no cover - older typer uses click itself
    import click

from cbx_cli import __version__
from cbx_cli.cli import signals
from cbx_cli.cli.signals import EXIT_INTERRUPTED
from cbx_cli.errors import CbxError, StreamClosed, cut

THIRD_PARTY = ("huggingface_hub", "transformers", "diffusers", "chatterbox", "torch", "urllib3", "filelock", "numba",
               "perth", "librosa")
"""Libraries whose log lines and warnings stay hidden unless --debug: progress notes, retries, deprecations."""

err = Console(stderr=True, highlight=False, soft_wrap=True)


class State:
    debug = False
    engine_factory = None
    """What the commands' narrators make engines with (`Narrator(engine_factory=...)`); None: the library's own
    `make_engine`. Tests hand the library their fake engine here."""


class CbxGroup(typer.core.TyperGroup):
    """Every failure becomes one line on stderr (`cbx: error: ...`) and an exit code; --debug shows tracebacks."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        args = list(sys.argv[1:] if args is None else args)
        State.debug = "--debug" in args
        with signals.handled():
            try:
                self._run(args, prog_name, complete_var, **extra)
            except SystemExit as exc:
                if signals.received() is not None:  # after Ctrl-C or SIGTERM, leave without teardown
                    signals.exit_now(exc.code if isinstance(exc.code, int) else 1)
                raise

    def _run(self, args, prog_name, complete_var, **extra):
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except CbxError as exc:
            if State.debug:
                raise
            if isinstance(exc, StreamClosed):
                _quiet_stdout()
            fail(exc.message, exc.exit_code)
        except click.exceptions.NoArgsIsHelpError as exc:
            if exc.ctx is not None:
                typer.echo(exc.ctx.get_help())
            raise SystemExit(0) from None
        except click.exceptions.UsageError as exc:
            message = exc.format_message().rstrip()
            if not message.endswith("."):
                message += "."
            hint = f" Try '{exc.ctx.command_path} --help'." if exc.ctx else ""
            fail(f"{message}{hint}", 2)
        except (KeyboardInterrupt, typer.Abort):
            fail(f"{signals.stopped_by()}.", EXIT_INTERRUPTED)
        except click.exceptions.ClickException as exc:
            fail(exc.format_message(), getattr(exc, "exit_code", 1) or 1)
        except BrokenPipeError:
            _quiet_stdout()
            raise SystemExit(1) from None
        except Exception as exc:  # the last net: still one line, unless --debug
            if State.debug:
                raise
            if signals.received() is not None:  # the interrupt surfaced wrapped (raised inside an import, say)
                fail(f"{signals.stopped_by()}.", EXIT_INTERRUPTED)
            fail(f"{type(exc).__name__}: {exc}. Run again with --debug for details.", 1)
        if code == EXIT_INTERRUPTED:  # Typer turns a KeyboardInterrupt into this code, silently
            fail(f"{signals.stopped_by()}.", EXIT_INTERRUPTED)
        raise SystemExit(code if isinstance(code, int) else 0)


def _quiet_stdout() -> None:
    """After the reader of stdout went away, point stdout at /dev/null, so what Python still holds for it is not
    written at exit as a second error."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def _argument_placeholder() -> None:
    """An argument given a metavar (SCRIPT, TEXT, NAME) shows only that in --help: typer 0.2x also writes its Python
    type after it (``SCRIPT <str>``), which tells a person nothing they can type."""
    argument = getattr(typer.core, "TyperArgument", None)
    shown = getattr(argument, "display_type_rich", None)
    if shown is None or getattr(shown, "_cbx", False):
        return

    def display_type_rich(self, ctx):
        return None if self.metavar is not None else shown(self, ctx)

    display_type_rich._cbx = True  # type: ignore[attr-defined]
    argument.display_type_rich = display_type_rich


_argument_placeholder()

app = typer.Typer(
    name="cbx",
    cls=CbxGroup,
    help="Narrate text and Markdown scripts with Chatterbox TTS, in batch.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cbx {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    """Narrate text and Markdown scripts with Chatterbox TTS, in batch."""


def setup_logging(debug: bool) -> None:
    """cbx's own warnings on stderr; other libraries' log lines and Python warnings only with --debug.

    The libraries configure their loggers when first imported (huggingface_hub adds its own handler at WARNING),
    which happens after this runs, inside the model loader: so their verbosity is set through the environment
    variables they read then, and a filter on our handler keeps their records out even if they propagate.
    """
    State.debug = debug or State.debug
    level = logging.DEBUG if State.debug else logging.WARNING
    root = logging.getLogger()
    if not any(getattr(h, "_cbx", False) for h in root.handlers):
        handler = _Stderr()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        handler.addFilter(_own_records)
        handler._cbx = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level)
    if State.debug:
        return
    os.environ.setdefault("TQDM_DISABLE", "1")
    for var in ("HF_HUB_VERBOSITY", "TRANSFORMERS_VERBOSITY", "DIFFUSERS_VERBOSITY"):
        os.environ.setdefault(var, "error")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    for name in THIRD_PARTY:
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module=r"(torch|transformers|diffusers|librosa|perth)")


class _Stderr(logging.StreamHandler):
    """A handler writing to whatever ``sys.stderr`` is when a record comes (a test runner swaps it for each run)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def _own_records(record: logging.LogRecord) -> bool:
    """Without --debug, only cbx's own records reach the handler (third-party ones are errors at most)."""
    return State.debug or record.name.startswith("cbx_cli") or record.levelno >= logging.ERROR and \
        not record.name.startswith(THIRD_PARTY)


MESSAGE_WIDTH = 600
"""Longest error or warning line: a message quoting a user's file or value never floods the terminal."""


def fail(message: str, code: int) -> None:
    err.print(f"cbx: error: {cut(message, MESSAGE_WIDTH)}", markup=False)
    raise SystemExit(code)


def warn(message: str) -> None:
    err.print(f"warning: {cut(message, MESSAGE_WIDTH)}", markup=False)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; every failure becomes one line on stderr and an exit code."""
    app(args=argv, prog_name="cbx")
