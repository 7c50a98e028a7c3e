"""Run `cbx` in-process through Typer's CliRunner, as a shell would see it: exit code, stdout bytes, stderr.

The app's command group turns every failure into one line on stderr and an exit code (cbx_cli.cli.app), so what
the runner sees is what the installed `cbx` prints.
"""

from __future__ import annotations

from dataclasses import dataclass

from typer.testing import CliRunner

from cbx_cli.cli import app


@dataclass
class Run:
    exit_code: int
    stdout_bytes: bytes
    stderr: str
    exception: BaseException | None

    @property
    def stdout(self) -> str:
        return self.stdout_bytes.decode("utf-8", "replace")

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run(args: list[str], input: str | bytes | None = None) -> Run:
    result = CliRunner().invoke(app, [str(a) for a in args], input=input, prog_name="cbx")
    exception = result.exception if not isinstance(result.exception, SystemExit) else None
    return Run(result.exit_code, result.stdout_bytes, result.stderr_bytes.decode("utf-8", "replace"), exception)
