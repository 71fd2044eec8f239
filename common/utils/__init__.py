"""Utilities: errors, registry, seeding, device, checkpoints, config, run folders, plots, CLI, gzipped files."""
