"""`cbx voices`: add, list and remove voices in the user's library (mounted on the app by cbx_cli.cli)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cbx_cli.cli.options import with_options

voices_app = typer.Typer(help="Your voice library: add, list, remove.", no_args_is_help=True)


def _library(server_data: Path | None) -> tuple[Path | None, Path | None]:
    """The library ``--server-data`` names (a server's shared voices) and the folder holding its libraries; (None,
    None) for the user's own."""
    if server_data is None:
        return None, None
    from cbx_cli.serve.service import shared_voices, voices_root

    return shared_voices(server_data.expanduser()), voices_root(server_data.expanduser())


@voices_app.command("add")
@with_options("model", "server_data")
def voices_add(
    name: Annotated[str, typer.Argument(metavar="NAME",
            help="Name for the voice: letters, digits, '-' or '_' (up to 40).")],
    source: Annotated[str, typer.Argument(metavar="FILE_OR_URL", help="A recording (5-15 s of speech), or its URL.")],
    opts,
    replace: Annotated[bool, typer.Option("--replace", help="Overwrite a voice of the same name.")] = False,
) -> None:
    """Check a recording, store it under NAME, and store its conditioning for --model."""
    from cbx_cli.api import Narrator, add_voice, get_voice, length_advice
    from cbx_cli.cli.app import State

    model = opts.model
    library, root = _library(opts.server_data)
    existed = get_voice(name, library) is not None
    narrator = Narrator(model.value, model_dir=opts.model_dir, revision=opts.revision, device=opts.device.value,
                        batched=False, cache_dir=None, engine_factory=State.engine_factory, voices_root=root)
    narrator.on_loaded = _warn_device
    # a bad name or recording fails before the model loads
    voice = add_voice(name, source, narrator, replace=replace, root=library)
    advice = length_advice(voice.seconds, f"Voice '{voice.name}'")
    if advice:
        typer.echo(f"warning: {advice}", err=True)
    verb = "Replaced" if existed else "Added"
    typer.echo(f"{verb} voice '{voice.name}' ({voice.seconds:.1f} s); conditioning stored for {model.value}.")


def _warn_device(engine) -> None:
    if engine.info.device_warning:
        typer.echo(f"warning: {engine.info.device_warning}", err=True)


@voices_app.command("list")
@with_options("server_data")
def voices_list(opts) -> None:
    """Every voice: name, length, and the models it has stored conditioning for."""
    from cbx_cli.api import NO_VOICES, list_voices

    voices = list_voices(_library(opts.server_data)[0])
    if not voices:
        typer.echo(NO_VOICES)
        return
    width = max(len(v.name) for v in voices)
    for voice in voices:
        models = ", ".join(voice.conditioned_models()) or "-"
        typer.echo(f"{voice.name:<{width}}  {voice.seconds:5.1f} s  {models}")


@voices_app.command("remove")
@with_options("server_data")
def voices_remove(name: Annotated[str, typer.Argument(metavar="NAME", help="The voice to delete.")], opts) -> None:
    """Delete a voice and its stored conditioning."""
    from cbx_cli.api import remove_voice

    remove_voice(name, _library(opts.server_data)[0])
    typer.echo(f"Removed voice '{name}'.")
