"""cbx: narrate text and Markdown scripts with Chatterbox TTS, in batch."""

__version__ = "0.1.0"
