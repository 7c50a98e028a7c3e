"""`cbx voices`: add, list and remove voices in the user's library (mounted on the app by cbx_cli.cli)."""

from __future__ import annotations

from typing import Annotated

import typer

from cbx_cli.cli.options import with_options

voices_app = typer.Typer(help="Your voice library: add, list, remove.", no_args_is_help=True)


@voices_app.command("add")
@with_options("model")
def voices_add(
    name: Annotated[str, typer.Argument(help="Name for the voice: letters, digits, '-' or '_' (up to 40).")],
    source: Annotated[str, typer.Argument(metavar="FILE_OR_URL", help="A recording (5-15 s of speech), or its URL.")],
    opts,
    replace: Annotated[bool, typer.Option("--replace", help="Overwrite a voice of the same name.")] = False,
) -> None:
    """Check a recording, store it under NAME, and store its conditioning for --model."""
    from cbx_cli.engine import make_engine
    from cbx_cli.engine.base import EngineSpec
    from cbx_cli.voices.library import LibraryConditioning, add_voice, check_new, source_audio, voice_folder

    check_new(name, replace)
    model = opts.model
    source_audio(source, model.value)  # a bad recording fails before the model loads
    existed = voice_folder(name) is not None
    spec = EngineSpec.from_options(model.value, opts.model_dir, opts.device.value, None, batched=False,
                                   revision=opts.revision)
    engine = make_engine(spec, LibraryConditioning())
    engine.load()
    if engine.info.device_warning:
        typer.echo(f"warning: {engine.info.device_warning}", err=True)
    voice = add_voice(name, source, model.value, replace=replace, engine=engine)
    verb = "Replaced" if existed else "Added"
    typer.echo(f"{verb} voice '{voice.name}' ({voice.seconds:.1f} s); conditioning stored for {model.value}.")


@voices_app.command("list")
def voices_list() -> None:
    """Every voice: name, length, and the models it has stored conditioning for."""
    from cbx_cli.voices.library import NO_VOICES, list_voices

    voices = list_voices()
    if not voices:
        typer.echo(NO_VOICES)
        return
    width = max(len(v.name) for v in voices)
    for voice in voices:
        models = ", ".join(voice.conditioned_models()) or "-"
        typer.echo(f"{voice.name:<{width}}  {voice.seconds:5.1f} s  {models}")


@voices_app.command("remove")
def voices_remove(name: str = typer.Argument(..., help="The voice to delete.")) -> None:
    """Delete a voice and its stored conditioning."""
    from cbx_cli.voices.library import remove_voice

    remove_voice(name)
    typer.echo(f"Removed voice '{name}'.")
