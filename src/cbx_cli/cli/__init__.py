"""The `cbx` command line: a thin client of the library."""

from cbx_cli.cli.app import main

__all__ = ["main"]
