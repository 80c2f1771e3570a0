"""Sweeps: one run folder per point of a TOML grid, built by the stages `make all` runs, then a comparison."""
