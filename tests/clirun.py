"""Run the `cbx` entry point in-process with its own stdin, stdout and stderr, as a shell would see it."""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass

from cbx_cli.cli import main


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
    data = input.encode("utf-8") if isinstance(input, str) else (input or b"")
    stdin = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
    out_raw, err_raw = io.BytesIO(), io.BytesIO()
    stdout = io.TextIOWrapper(out_raw, encoding="utf-8", write_through=True)
    stderr = io.TextIOWrapper(err_raw, encoding="utf-8", write_through=True)
    saved = sys.stdin, sys.stdout, sys.stderr
    sys.stdin, sys.stdout, sys.stderr = stdin, stdout, stderr
    code, exception = 0, None
    try:
        main(list(args))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException as exc:  # --debug lets exceptions through
        code, exception = 1, exc
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
        stdout.flush()
        stderr.flush()
    return Run(code, out_raw.getvalue(), err_raw.getvalue().decode("utf-8", "replace"), exception)
