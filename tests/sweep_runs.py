"""A tiny grid and its sweep built once with the local engine, shared by the sweep tests that train
(the SLURM test compares its results with these)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

# Two points of one short epoch on 500 images: the smoke grid's recipe, one width, two seeds.
TINY = 'preset = "smoke"\n[set]\nepochs = 1\ntrain_subset = 500\n[vary]\nseed = [0, 1]\n'
POINTS = ["seed-0", "seed-1"]


def run_tiny(folder: Path, data_dir: Path, *flags: str) -> tuple[int, Path]:
    """(exit status, the sweep's folder) of the tiny grid swept into `folder`."""
    from sweep.cli import main  # here, not at the top: the conftest imports this module for every test

    grid = folder / "tiny.toml"
    grid.write_text(TINY)
    status = main(["--grid", str(grid), "--out", str(folder / "sweeps"), "--data-dir", str(data_dir), *flags])
    return status, folder / "sweeps/tiny"


def comparison(sweep: Path) -> dict:
    return json.loads((sweep / "comparison.json").read_text())


@pytest.fixture(scope="session")
def local_sweep(tmp_path_factory, data_dir) -> tuple[int, Path]:
    """(exit status, the sweep's folder) of the tiny grid on the local engine."""
    return run_tiny(tmp_path_factory.mktemp("local-sweep"), data_dir)
