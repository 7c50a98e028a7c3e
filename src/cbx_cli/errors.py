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


class ModelError(CbxError):
    """The model cannot be loaded: weights unreachable, missing extra, bad device."""

    exit_code = 4


class RenderError(CbxError):
    """Synthesis failed for a chunk."""

    exit_code = 3
