"""`cbx presets` and `cbx cache`: look at the presets and the take cache."""

from __future__ import annotations

from typing import Annotated

import typer

from cbx_cli.cli.app import app
from cbx_cli.cli.options import with_options

presets_app = typer.Typer(help="List presets, or show one's resolved values.", invoke_without_command=True)
app.add_typer(presets_app, name="presets")
cache_app = typer.Typer(help="Look at or empty the take cache.", no_args_is_help=True)
app.add_typer(cache_app, name="cache")


@presets_app.callback()
def presets_list(ctx: typer.Context) -> None:
    """List every preset: built-in and your own."""
    if ctx.invoked_subcommand is not None:
        return
    from cbx_cli.cli.app import warn
    from cbx_cli.config.presets import all_presets, broken_presets

    for name, preset in all_presets().items():
        origin = "" if preset.source == "built-in" else f"  ({preset.source})"
        typer.echo(f"{name:<12} {preset.description}{origin}")
    for error in broken_presets().values():
        warn(f"{error.message} (this preset is left out until then)")


@presets_app.command("show")
def presets_show(name: Annotated[str, typer.Argument(metavar="NAME", help="Preset name.")]) -> None:
    """Print a preset's resolved values (defaults < preset < your config)."""
    import yaml

    from cbx_cli.config.presets import get_preset, resolve

    preset = get_preset(name)
    synthesis, assembly = resolve(name)
    data = {
        "name": name,
        "source": preset.source,
        "description": preset.description,
        "synthesis": synthesis.model_dump(),
        "assembly": assembly.model_dump(),
    }
    typer.echo(yaml.safe_dump(data, sort_keys=False).rstrip())


@cache_app.command("info")
@with_options("cache_dir")
def cache_info(opts) -> None:
    """Entries, size and location of the take cache."""
    from cbx_cli.api import TakeCache
    from cbx_cli.config.paths import takes_dir

    info = TakeCache(takes_dir(opts.cache_dir)).info()
    typer.echo(f"location: {info.root}")
    typer.echo(f"entries:  {info.entries}")
    typer.echo(f"size:     {info.size_bytes / 1e6:.1f} MB")


@cache_app.command("clear")
@with_options("cache_dir")
def cache_clear(
    opts,
    older_than: Annotated[
        float | None, typer.Option("--older-than", metavar="DAYS", help="Only entries unused for more than DAYS.")
    ] = None,
) -> None:
    """Remove cached takes (all of them, or those unused for more than --older-than DAYS)."""
    from cbx_cli.api import TakeCache
    from cbx_cli.config.paths import takes_dir
    from cbx_cli.errors import ParamError

    if older_than is not None and older_than < 0:
        raise ParamError(f"--older-than {older_than} is out of range; use a number of days, 0 or more.")
    removed = TakeCache(takes_dir(opts.cache_dir)).clear(older_than)
    typer.echo(f"removed {removed} cached take(s)")
