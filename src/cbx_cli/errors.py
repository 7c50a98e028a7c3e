"""One small exception hierarchy. Every message says what to do about the problem."""


class CbxError(Exception):
    """Base of every error cbx reports as one line on stderr."""

    exit_code = 2

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InputError(CbxError):
    """The script or text given to cbx cannot be used."""


class PresetError(CbxError):
    """A preset is unknown, or a preset file has a bad field or value."""


class ParamError(CbxError):
    """A synthesis or assembly value is out of its range."""


class VoiceError(CbxError):
    """A voice reference is missing, unreadable, silent or too short."""


class OutputError(CbxError):
    """The output path or format cannot be written."""


class NoPlayer(OutputError):
    """This machine cannot play audio: what it lacks, and what to do (`cbx doctor --play` shows them apart)."""

    def __init__(self, lacks: str, fix: str):
        super().__init__(f"{lacks}: {fix}.")
        self.lacks = lacks
        self.fix = fix


class StreamClosed(OutputError):
    """Standard output closed before all the audio was written (the reading end stopped early)."""

    exit_code = 141  # what a shell reports for a writer killed by SIGPIPE

    def __init__(self, size: int):
        super().__init__(
            f"stdout closed before all {size:,} bytes were written (the program reading it stopped early); "
            "the output is incomplete."
        )


class ModelError(CbxError):
    """The model cannot be loaded: weights unreachable, missing extra, bad device."""

    exit_code = 4


class MissingModel(ModelError):
    """Models are neither in the Hugging Face cache nor fetchable now. Carries their names (as `cbx models pull`
    takes them), so that every missing model of a run is named in one message."""

    def __init__(self, message: str, names: tuple[str, ...], revision: str | None = None, verify: bool = False):
        super().__init__(message)
        self.names = names
        self.revision = revision
        self.verify = verify
        """Whether the models are for checking takes (--no-verify then runs without them)."""


class RenderError(CbxError):
    """Synthesis failed for a chunk."""

    exit_code = 3


def cut(text: str, width: int = 80) -> str:
    """``text`` on one line, at most ``width`` characters (an ellipsis marks a cut), for messages that quote input."""
    text = " ".join(text.splitlines())
    return text if len(text) <= width else text[: width - 1] + "…"


def shown(value: object, width: int = 60) -> str:
    """``repr(value)`` cut to about ``width`` characters: a value from a user's file, quoted in a one-line message."""
    if isinstance(value, str):
        return repr(value) if len(value) <= width else repr(value[:width]) + "…"
    if isinstance(value, (dict, list, tuple, set)) and len(value) > 20:
        return f"<a {type(value).__name__} of {len(value)} items>"
    return cut(repr(value), width)
