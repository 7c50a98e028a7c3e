"""Audio stages: takes → one program (assemble), loudness, files (export)."""
