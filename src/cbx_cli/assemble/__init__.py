"""Assemble: takes → one program: trims, pauses, crossfades, speed, loudness."""
