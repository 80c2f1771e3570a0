"""Build one point's run folder with the stages `make all` runs, in its order and with its arguments.

Each stage is its own entry point (`python -m trainer train`, `-m exporter`, `-m analyzer`,
`-m site_renderer`) in a subprocess, its output appended to `RUN/sweep.log`. A stage whose output
is already there is skipped and a killed training continues from its checkpoint (`--resume`), so a
rerun finishes what a kill left. Every process is held to `threads` threads, so that parallel points
do not contend. The outcome is written to `RUN/sweep_point.json` (with the SLURM job and array
index when a SLURM task built it) and returned; a failed stage is one line there, never an exception.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from fmnist_common.artifacts import write_json

POINT_FILE = "sweep_point.json"
LOG_FILE = "sweep.log"
SLURM_IDS = {"slurm_job_id": "SLURM_ARRAY_JOB_ID", "slurm_array_index": "SLURM_ARRAY_TASK_ID",
             "slurm_task_job_id": "SLURM_JOB_ID"}
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


@dataclass(frozen=True)
class Task:
    """All one point needs, picklable for a SLURM task: its folder, the trainer's preset and flags."""

    run: str
    preset: str
    train_flags: tuple[str, ...]
    data_dir: str
    local_dir: str | None
    threads: int
    engine: str


@dataclass(frozen=True)
class Outcome:
    run: str
    status: str  # "finished" or "failed"
    seconds: float
    stage: str | None = None  # the stage that failed
    error: str | None = None  # its last `error:` line (or last line)


def stages(task: Task) -> list[tuple[str, str, list[str]]]:
    """(stage, the file that says it is done, its arguments), as the Makefile's recipes run them."""
    run = task.run
    local = ["--local-dir", task.local_dir] if task.local_dir else []
    resume = ["--resume"] if Path(run, "checkpoint.pt").is_file() else []
    return [
        ("train", "snapshots.npz", ["trainer", "train", "--run", run, "--preset", task.preset, "--data-dir",
                                    task.data_dir, *local, *task.train_flags, *resume]),
        ("export", "model.onnx", ["exporter", "--run", run, "--data-dir", task.data_dir]),
        ("analyze", "analysis/results.json",
         ["analyzer", "--model", f"{run}/model.onnx", "--data", task.data_dir, "--snapshots", f"{run}/snapshots.npz",
          "--history", f"{run}/history.json", "--dynamics", f"{run}/dynamics.npz", "--out", f"{run}/analysis",
          "--threads", str(task.threads)]),
        ("site", "site/index.html", ["site_renderer", "--run", run]),
    ]


def is_finished(run: Path) -> bool:
    """A point a rerun skips: its last stage's output is there and its record says finished."""
    record = run / POINT_FILE
    return (run / "site/index.html").is_file() and record.is_file() and \
        json.loads(record.read_text()).get("status") == "finished"


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    return (errors or lines or ["(no output)"])[-1]


def build(task: Task) -> Outcome:
    """Run the stages that have not yet run; record and return the outcome."""
    run = Path(task.run)
    run.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **dict.fromkeys(THREAD_VARIABLES, str(task.threads))}
    start = time.monotonic()
    outcome = None
    with open(run / LOG_FILE, "a", encoding="utf-8") as log:
        for stage, done, args in stages(task):
            if (run / done).is_file():
                continue
            log.write(f"== {stage}: python -m {' '.join(args)}\n")
            log.flush()
            result = subprocess.run([sys.executable, "-m", *args], stdout=log, stderr=subprocess.PIPE, text=True,
                                    env=env, check=False)
            log.write(result.stderr)
            if result.returncode != 0:
                outcome = Outcome(task.run, "failed", time.monotonic() - start, stage, last_line(result.stderr))
                break
    outcome = outcome or Outcome(task.run, "finished", time.monotonic() - start)
    write_json(run / POINT_FILE, {**asdict(outcome), "engine": task.engine, "host": socket.gethostname(),
                                  "ended": datetime.now(UTC).isoformat(timespec="seconds"),
                                  **{key: os.environ.get(name) for key, name in SLURM_IDS.items()}})
    return outcome
