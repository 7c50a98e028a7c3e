"""Engines turn chunks into float32 waveforms. Heavy imports happen inside `load()`."""
