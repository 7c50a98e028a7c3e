"""Voices: reference recordings, downloads from URLs, and the user's voice library."""
