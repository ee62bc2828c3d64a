"""Backups: the engine (engine/), what the box does with it (box/), and `hearth backup` (cli.py)."""
