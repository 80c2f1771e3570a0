"""Where the points run: local processes, or a SLURM job array through submitit; one interface.

`engine.run(tasks, done)` builds every task with `point.build` and calls `done(outcome)` as each
ends, in the order they end. The local engine runs `jobs` points at once on this machine; the SLURM
engine submits the tasks as one job array, each task building its run folder on the shared
filesystem; a preempted or timed-out task is requeued (submitit's checkpointing) and continues from
the trainer's checkpoint, as a local rerun does.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sweep.point import Outcome, Task, build

POLL_SECONDS = 2.0  # how often the SLURM engine looks for finished tasks
GONE_SECONDS = 60.0  # a task out of SLURM's queue this long without a result file has failed




class EngineError(RuntimeError):
    """The engine cannot start: no SLURM found for --engine slurm."""


class Engine(Protocol):
    name: str

    def run(self, tasks: list[Task], done: Callable[[Outcome], None]) -> None: ...


@dataclass(frozen=True)
class Local:
    """`jobs` points at a time, each in its own processes (the threads here only wait on them)."""

    jobs: int
    name: str = "local"

    def run(self, tasks: list[Task], done: Callable[[Outcome], None]) -> None:
        with ThreadPoolExecutor(max_workers=self.jobs) as pool:
            for future in as_completed([pool.submit(build, task) for task in tasks]):
                done(future.result())


class BuildPoint:
    """`point.build` as a submitit callable that is requeued when SLURM preempts or times it out;
    the requeued task starts `build` again, which skips finished stages and resumes training."""

    def __call__(self, task: Task) -> Outcome:
        return build(task)

    def checkpoint(self, task: Task):
        import submitit

        return submitit.helpers.DelayedSubmission(self, task)


@dataclass(frozen=True)
class Slurm:
    """One SLURM job array of all tasks; submitit's files in `folder` (logs, pickles)."""

    folder: Path
    partition: str | None
    time_minutes: int
    cpus_per_task: int
    gpus_per_task: int
    array_parallelism: int
    name: str = "slurm"

    def run(self, tasks: list[Task], done: Callable[[Outcome], None]) -> None:
        import submitit

        executor = submitit.AutoExecutor(folder=self.folder, cluster="slurm")
        options = {"slurm_partition": self.partition} if self.partition else {}
        if self.gpus_per_task:
            options["slurm_gpus_per_task"] = self.gpus_per_task
        executor.update_parameters(name="fmnist-sweep", timeout_min=self.time_minutes,
                                   cpus_per_task=self.cpus_per_task,
                                   slurm_array_parallelism=self.array_parallelism, **options)
        pending = dict(zip(executor.map_array(BuildPoint(), tasks), tasks, strict=True))
        print(f"submitted {len(tasks)} tasks as SLURM job array {next(iter(pending)).job_id.split('_')[0]}",
              flush=True)
        gone_since: dict[str, float] = {}  # job id -> when it was first seen out of the queue, unfinished
        while pending:
            queued, now = queued_jobs(), time.monotonic()
            for job in list(pending):
                if job.done():
                    done(outcome_of(job, pending.pop(job)))
                elif queued is None or job.job_id in queued:
                    gone_since.pop(job.job_id, None)
                elif now - gone_since.setdefault(job.job_id, now) >= GONE_SECONDS:
                    done(Outcome(pending.pop(job).run, "failed", 0.0, "slurm", f"SLURM task {job.job_id} left the "
                                 f"queue without a result (log: {self.folder}/{job.job_id}_0_log.err)"))
            time.sleep(POLL_SECONDS if pending else 0)


def outcome_of(job, task: Task) -> Outcome:
    """The task's outcome from its result file; a task that died outside `build` (killed) is failed."""
    try:
        return job.result()
    except Exception as exc:  # submitit raises the task's own error, or its own for a killed task
        return Outcome(task.run, "failed", 0.0, "slurm", f"SLURM task {job.job_id}: {exc}".splitlines()[0])


def queued_jobs() -> set[str] | None:
    """The ids of the jobs and array tasks SLURM holds (squeue), None when squeue cannot say.

    submitit learns that a task ended from its result file or from accounting (sacct); on a cluster
    without accounting a task that ended without a result (its node lost, its start refused) would
    be waited for forever, so a task out of the queue for GONE_SECONDS with no result is failed.
    """
    listed = subprocess.run(["squeue", "--me", "-h", "-r", "-o", "%i"], capture_output=True, text=True, check=False)
    return set(listed.stdout.split()) if listed.returncode == 0 else None


def check_slurm() -> None:
    """Refuse --engine slurm on a machine without SLURM's client, before any run starts."""
    if shutil.which("sbatch") is None:
        raise EngineError("--engine slurm needs SLURM's sbatch, which is not on PATH; run on a cluster's login "
                          "node (docs/sweeps.md), or use --engine local")
    try:
        import submitit  # noqa: F401
    except ImportError:
        raise EngineError("--engine slurm needs submitit, which is not installed; "
                          "pip install 'fmnist-bottleneck[slurm]'") from None
