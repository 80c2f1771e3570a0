"""The file names the analysis and the site renderer agree on for the report's figures.

Kept out of `artifacts` so that the trainer and the exporter, which import that module, do not
depend on it: a change here reruns the analysis and the site, never training.
"""

from __future__ import annotations

from pathlib import Path


def dark_variant(path: Path) -> Path:
    """figure.png -> figure.dark.png: the figure as the analysis drew it for the report's dark
    scheme, beside it; the site renderer finds it by this name."""
    return path.with_name(path.stem + ".dark" + path.suffix)
