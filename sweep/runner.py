"""Plan a sweep, run its points on an engine with a progress line each, then build the comparison.

Everything that can be refused is checked before the first point starts: the grid, its size, the
sweep folder (another grid's, or not a sweep's), the lock on it, the engine. The folder records the
grid in `sweep.json`; points already finished are skipped, the others (new, failed, killed) built.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from fmnist_common.artifacts import folder_lock, write_json
from sweep import compare
from sweep.config import MAX_POINTS, SweepConfig, default_jobs
from sweep.engines import Engine, Local, Slurm, check_slurm
from sweep.grid import Grid, load
from sweep.point import LOG_FILE, Outcome, Task, is_finished, last_line
from trainer.config import THREADS

SWEEP_FILE = "sweep.json"
REPO = Path(__file__).resolve().parent.parent


class SweepError(ValueError):
    """A sweep that must not start: too many points, or a folder that is not this grid's."""


def commit() -> str | None:
    """The checkout's commit (`+dirty` when files differ from it), or None outside a git checkout."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True)
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                                capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return head.stdout.strip() + ("+dirty" if status.stdout.strip() else "")


def check_folder(folder: Path, grid: Grid) -> None:
    """Refuse a folder holding another grid's sweep, or anything that is not a sweep."""
    record = folder / SWEEP_FILE
    if record.is_file():
        previous = json.loads(record.read_text(encoding="utf-8"))
        if previous["grid_text"] != grid.text:
            raise SweepError(f"{folder} holds the sweep of another grid named {grid.name!r} ({previous['grid_path']}); "
                             "rename the grid file, or choose another --out")
    elif folder.exists() and any(folder.iterdir()):
        raise SweepError(f"{folder} exists and holds no {SWEEP_FILE}, so it is not a sweep's folder; "
                         "rename the grid file, or choose another --out")


def make_engine(config: SweepConfig, folder: Path) -> tuple[Engine, int]:
    """The engine and the threads of each run (its share of the cores)."""
    if config.engine == "slurm":
        check_slurm()
        return Slurm(folder / ".slurm", config.partition, config.time, config.cpus_per_task, config.gpus_per_task,
                     config.array_parallelism), config.cpus_per_task
    if config.jobs < 0:
        raise SweepError(f"--jobs {config.jobs} must be at least 0 (0: half the cores)")
    return Local(config.jobs or default_jobs()), min(THREADS, len(os.sched_getaffinity(0)))


def prepare_data(config: SweepConfig) -> None:
    """`make data` once before the points start, so that parallel points never fetch the dataset
    into one folder at the same time (on SLURM: on the login node, into the shared folder)."""
    local = ["--local-dir", config.local_dir] if config.local_dir else []
    done = subprocess.run([sys.executable, "-m", "trainer", "data", "--data-dir", config.data_dir, *local],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SweepError(f"the dataset could not be prepared in {config.data_dir}: {last_line(done.stderr)}")


def clock(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"


def progress(total: int, parallel: int) -> Callable[[Outcome], None]:
    """The callback printing one line per ended point, with the time left at the mean time so far."""
    ended: list[Outcome] = []

    def done(outcome: Outcome) -> None:
        ended.append(outcome)
        name = Path(outcome.run).name
        if outcome.status == "finished":
            text = f"{name} finished in {clock(outcome.seconds)}"
        else:
            text = f"{name} failed at {outcome.stage}: {outcome.error} (log: {Path(outcome.run, LOG_FILE)})"
        left = total - len(ended)
        timed = [o.seconds for o in ended if o.status == "finished"]
        if left and timed:
            waves = -(-left // parallel)  # rounds of `parallel` points still to run
            text += f"; {left} left, about {clock(waves * sum(timed) / len(timed))}"
        print(f"[{len(ended)}/{total}] {text}", flush=True)

    return done


def run_sweep(config: SweepConfig) -> list[Outcome]:
    """Build the grid's missing points and the comparison; the outcomes of the points run now."""
    grid = load(config.grid)
    points = grid.points()
    if len(points) > MAX_POINTS and not config.yes:
        raise SweepError(f"{grid.path} has {len(points):,} points, more than {MAX_POINTS}; "
                         "add --yes to run them all, or vary fewer values")
    folder = Path(config.out) / grid.name
    check_folder(folder, grid)
    engine, threads = make_engine(config, folder)
    with folder_lock(folder):
        folder.mkdir(parents=True, exist_ok=True)
        write_json(folder / SWEEP_FILE, {"grid": grid.name, "grid_path": str(grid.path), "grid_text": grid.text,
                                         "preset": grid.preset, "set": grid.fixed, "vary": grid.vary,
                                         "points": [p.name for p in points], "engine": engine.name,
                                         "started": datetime.now(UTC).isoformat(timespec="seconds"),
                                         "commit": commit()})
        tasks = [Task(str(folder / p.name), grid.preset, tuple(grid.train_flags(p)), config.data_dir,
                      config.local_dir, threads, engine.name) for p in points]
        todo = [t for t in tasks if not is_finished(Path(t.run))]
        parallel = getattr(engine, "jobs", config.array_parallelism)
        plural = "s" * (len(points) != 1)
        print(f"sweep {grid.name}: {len(points)} point{plural}, {len(points) - len(todo)} already finished, "
              f"{len(todo)} to build on {engine.name} ({parallel} at once); runs in {folder}", flush=True)
        outcomes: list[Outcome] = []
        start = time.monotonic()
        if todo:
            prepare_data(config)
            report = progress(len(todo), parallel)
            engine.run(todo, lambda outcome: (outcomes.append(outcome), report(outcome)))
        site = compare.publish(folder)
        failed = sum(o.status == "failed" for o in outcomes)
        print(f"done in {clock(time.monotonic() - start)}: {len(outcomes) - failed} built, {failed} failed; "
              f"comparison in {site}/index.html", flush=True)
    return outcomes
