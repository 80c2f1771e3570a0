"""Building one point: the stages of `make all` with its arguments, skipping what is done, resuming a
killed training, a failed stage as one line that stops only its own point (fake stages, no training)."""

from __future__ import annotations

import json
import shlex
import subprocess

from sweep import point
from sweep.engines import Local
from sweep.point import Outcome, Task, build, stages
from sweep.runner import progress
from tests.conftest import REPO


def task(run, **changes) -> Task:
    values = {"run": str(run), "preset": "smoke", "train_flags": ("--seed", "1"), "data_dir": "data",
              "local_dir": None, "threads": 2, "engine": "local", **changes}
    return Task(**values)


def make_all_commands(run, *variables: str) -> list[list[str]]:
    """The stage commands `make all` would run for RUN=run (make -n -B), each as argv after `python -m`."""
    text = subprocess.run(["make", "-n", "-B", f"RUN={run}", "PRESET=smoke", "DATA_DIR=data", *variables, "all"],
                          cwd=REPO, capture_output=True, text=True, check=True).stdout.replace("\\\n", " ")
    commands = [shlex.split(line) for line in text.splitlines() if " -m " in line]
    return [words[2:] for words in commands if words[2] in ("trainer", "exporter", "analyzer", "site_renderer")
            and words[2:4] != ["trainer", "data"]]


def test_stages_are_make_alls_with_its_arguments(tmp_path):
    """The sweep's commands are make all's, plus the point's training flags and the analyzer's threads."""
    run = tmp_path / "p"
    listed = stages(task(run, train_flags=()))
    assert [(name, done) for name, done, _ in listed] == [
        ("train", "snapshots.npz"), ("export", "model.onnx"), ("analyze", "analysis/results.json"),
        ("site", "site/index.html")]
    with_threads = make_all_commands(run)
    with_threads[2] += ["--threads", "2"]
    assert [args for _, _, args in listed] == with_threads
    assert stages(task(run))[0][2] == [*with_threads[0], "--seed", "1"]
    run.mkdir()
    (run / "checkpoint.pt").write_bytes(b"")  # a killed training: continued, as make train RESUME=1
    assert stages(task(run, train_flags=()))[0][2] == make_all_commands(run, "RESUME=1")[0]


def fake_stages(commands):
    return lambda task: [(name, done, args) for name, done, args in commands]


def test_failed_stage_is_one_line_and_stops_only_its_point(tmp_path, monkeypatch, capsys):
    good, bad = tmp_path / "good", tmp_path / "bad"
    monkeypatch.setattr(point, "stages", lambda t: [
        ("train", "done", ["json.tool", "--help"]) if t.run == str(good) else
        ("analyze", "done", ["sweep.no_such_stage"])])
    outcomes = []
    report = progress(2, 1)
    Local(jobs=1).run([task(bad), task(good)], lambda o: (outcomes.append(o), report(o)))
    assert sorted(o.status for o in outcomes) == ["failed", "finished"]
    failed = next(o for o in outcomes if o.status == "failed")
    assert (failed.stage, failed.error) == ("analyze", f"{point.sys.executable}: No module named sweep.no_such_stage")
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"[1/2] bad failed at analyze: {failed.error} (log: {bad}/sweep.log)")
    assert lines[1].startswith("[2/2] good finished in 0:00:0")
    record = json.loads((bad / "sweep_point.json").read_text())
    assert record["status"] == "failed" and record["engine"] == "local" and record["slurm_job_id"] is None
    assert "== analyze: python -m sweep.no_such_stage" in (bad / "sweep.log").read_text()


def test_done_stages_are_skipped(tmp_path, monkeypatch):
    run = tmp_path / "p"
    run.mkdir()
    (run / "first").write_text("")
    monkeypatch.setattr(point, "stages", fake_stages([("train", "first", ["sweep.no_such_stage"]),
                                                      ("site", "second", ["json.tool", "--help"])]))
    assert build(task(run)).status == "finished"
    assert "== train" not in (run / "sweep.log").read_text()


def test_progress_line_estimates_the_time_left(capsys):
    report = progress(5, 2)
    report(Outcome("runs/sweeps/x/a", "finished", 120.0))
    report(Outcome("runs/sweeps/x/b", "finished", 60.0))
    assert capsys.readouterr().out == (
        "[1/5] a finished in 0:02:00; 4 left, about 0:04:00\n"  # two rounds of two at 120 s
        "[2/5] b finished in 0:01:00; 3 left, about 0:03:00\n")  # two rounds at the mean, 90 s


def test_a_slurm_task_that_left_the_queue_without_a_result_is_failed(tmp_path, monkeypatch):
    """Without accounting submitit would wait forever for a task that died before writing its result."""
    import submitit

    from sweep import engines

    class Job:
        job_id = "7_0"

        def done(self) -> bool:
            return False

    class Executor:
        def __init__(self, folder, cluster):
            pass

        def update_parameters(self, **options):
            pass

        def map_array(self, function, tasks):
            return [Job() for _ in tasks]

    monkeypatch.setattr(submitit, "AutoExecutor", Executor)
    monkeypatch.setattr(engines, "queued_jobs", set)
    monkeypatch.setattr(engines, "GONE_SECONDS", 0.0)
    outcomes = []
    engines.Slurm(tmp_path, None, 10, 1, 0, 1).run([task(tmp_path / "p")], outcomes.append)
    assert outcomes == [Outcome(str(tmp_path / "p"), "failed", 0.0, "slurm", "SLURM task 7_0 left the queue without "
                                f"a result (log: {tmp_path}/7_0_0_log.err)")]
