"""The built-in presets (YAML), installed as the data package cbx_cli.presets."""
