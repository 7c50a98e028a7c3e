"""Settings: synthesis and assembly values with their ranges, presets, user folders, model names."""
