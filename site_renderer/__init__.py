"""The site stage: the static report of a run folder, rendered from its files (no torch)."""
