"""The sweep stage's configuration: one dataclass, one command-line flag per field."""

from __future__ import annotations

import os
from dataclasses import dataclass

from fmnist_common.flags import option

MAX_POINTS = 500  # a larger grid needs --yes: hours of runs should not start from a typo


def default_jobs() -> int:
    """Half the cores this process may use: each run takes 2 threads (trainer.config.THREADS)."""
    return max(1, len(os.sched_getaffinity(0)) // 2)


@dataclass(frozen=True)
class SweepConfig:
    grid: str = option(None, "a grid's name in sweep/grids (smoke, width-and-activation) or a TOML file's path",
                       required=True)
    out: str = option("runs/sweeps", "folder holding one folder per sweep, named after the grid")
    data_dir: str = option("data", "dataset root, as make's DATA_DIR")
    local_dir: str | None = option(None, "folder with the four official .gz files (default: $FASHION_MNIST_DIR)")
    engine: str = option("local", "where the points run: local processes, or a SLURM job array",
                         choices=["local", "slurm"])
    jobs: int = option(0, "points built at once by the local engine (0: half the cores)")
    yes: bool = option(False, f"run a grid of more than {MAX_POINTS} points")
    partition: str | None = option(None, "SLURM partition (default: the cluster's default)")
    time: int = option(60, "SLURM time limit of one point, in minutes")
    cpus_per_task: int = option(2, "SLURM CPUs of one point (and its threads)")
    gpus_per_task: int = option(0, "SLURM GPUs of one point")
    array_parallelism: int = option(16, "SLURM tasks of the array running at once")
