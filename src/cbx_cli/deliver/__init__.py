"""Deliver: the program → files (atomic), ffmpeg formats, manifest, subtitles; and checks on delivered audio."""
