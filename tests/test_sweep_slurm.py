"""The sweep through a real SLURM: a one-node cluster (munge, slurmctld, slurmd from Debian's
packages, installed by tests/install_slurm.sh when missing) started here for localhost; the tiny
grid submitted as one job array gives the local engine's results, each run recording its task."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.sweep_runs import POINTS, comparison, run_tiny

pytestmark = pytest.mark.slow

DAEMONS = ("munged", "slurmctld", "slurmd")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def slurm_conf(folder: Path) -> str:
    """A one-node cluster on this machine: no cgroups, no accounting, every core schedulable."""
    node = socket.gethostname().split(".")[0]
    return f"""ClusterName=sweeptest
SlurmctldHost={node}
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket={folder}/munge.sock
CredType=cred/munge
StateSaveLocation={folder}/state
SlurmdSpoolDir={folder}/spool
SlurmctldPidFile={folder}/slurmctld.pid
SlurmdPidFile={folder}/slurmd.pid
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
SlurmctldLogFile={folder}/slurmctld.log
SlurmdLogFile={folder}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
NodeName={node} CPUs={os.cpu_count()} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""


@pytest.fixture(scope="module")
def slurm_cluster(tmp_path_factory):
    """SLURM_CONF pointing at a running one-node cluster; its daemons stopped afterwards."""
    if os.geteuid() != 0:
        pytest.skip("starting a SLURM cluster needs root (slurmd runs jobs as their user)")
    subprocess.run([str(REPO / "tests/install_slurm.sh")], check=True)
    folder = tmp_path_factory.mktemp("slurm")
    (folder / "state").mkdir()
    (folder / "spool").mkdir()
    (folder / "munge.key").write_bytes(os.urandom(1024))
    (folder / "munge.key").chmod(0o400)
    (folder / "slurm.conf").write_text(slurm_conf(folder))
    previous = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = str(folder / "slurm.conf")  # for sbatch, and submitit's calls of it
    try:
        subprocess.run(["munged", f"--socket={folder}/munge.sock", f"--key-file={folder}/munge.key",
                        f"--pid-file={folder}/munged.pid", f"--log-file={folder}/munged.log",
                        f"--seed-file={folder}/munge.seed", "--force"], check=True)
        subprocess.run(["slurmctld", "-f", str(folder / "slurm.conf")], check=True)
        subprocess.run(["slurmd", "-f", str(folder / "slurm.conf")], check=True)
        for _ in range(60):  # the node registers within seconds
            state = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True).stdout.strip()
            if state == "idle":
                break
            time.sleep(0.5)
        assert state == "idle", (folder / "slurmctld.log").read_text()[-2000:]
        yield folder
    finally:
        for daemon in reversed(DAEMONS):
            pid_file = folder / f"{daemon}.pid"
            if pid_file.is_file():
                os.kill(int(pid_file.read_text().split()[0]), signal.SIGTERM)
        if previous is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = previous


def test_slurm_sweep_equals_the_local_one(slurm_cluster, local_sweep, data_dir, tmp_path, capsys):
    assert shutil.which("sbatch")
    status, sweep = run_tiny(tmp_path, data_dir, "--engine", "slurm", "--cpus-per-task", "2", "--time", "30")
    out = capsys.readouterr().out
    assert status == 0, out
    assert "submitted 2 tasks as SLURM job array " in out
    local = comparison(local_sweep[1])
    remote = comparison(sweep)
    assert (remote["engine"], remote["finished"]) == ("slurm", 2)
    for ours, theirs in zip(remote["points"], local["points"], strict=True):
        assert (ours["name"], ours["seed"], ours["test_accuracy"], ours["ece"]) == (
            theirs["name"], theirs["seed"], theirs["test_accuracy"], theirs["ece"])
    job_ids = set()
    for index, name in enumerate(POINTS):
        record = json.loads((sweep / name / "sweep_point.json").read_text())
        assert (record["status"], record["engine"], record["slurm_array_index"]) == ("finished", "slurm", str(index))
        job_ids.add(record["slurm_job_id"])
        histories = [json.loads((folder / name / "history.json").read_text()) for folder in (sweep, local_sweep[1])]
        assert [[row["train_loss"] for row in history] for history in histories] == [
            [row["train_loss"] for row in histories[1]]] * 2
    assert len(job_ids) == 1 and job_ids.pop().isdigit()  # one array


def test_a_preempted_task_is_requeued_and_resumes(slurm_cluster, data_dir, tmp_path):
    """SLURM's warning signal (USR2, as before a time limit or a preemption) during a point's
    training: submitit requeues the task, which continues the training from its checkpoint."""
    grid = tmp_path / "two.toml"
    grid.write_text('preset = "smoke"\n[set]\nepochs = 2\ntrain_subset = 500\n[vary]\nseed = [3]\n')
    run = tmp_path / "sweeps/two/seed-3"
    sweep = subprocess.Popen([sys.executable, "-m", "sweep", "--grid", str(grid), "--out", str(tmp_path / "sweeps"),
                              "--data-dir", str(data_dir), "--engine", "slurm", "--cpus-per-task", "2"],
                             cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 300
    while not (run / "checkpoint.pt").is_file() and time.monotonic() < deadline and sweep.poll() is None:
        time.sleep(0.02)
    assert not (run / "snapshots.npz").exists(), "the training ended before the signal"
    array = subprocess.run(["squeue", "-h", "-o", "%F"], capture_output=True, text=True, check=True).stdout.split()
    subprocess.run(["scancel", "--signal", "USR2", array[0]], check=True)
    for _ in range(300):  # SLURM holds a requeued job for two minutes; start it sooner, as an admin may
        state = subprocess.run(["squeue", "-h", "-j", array[0], "-o", "%T %r"], capture_output=True, text=True).stdout
        if state.split() == ["PENDING", "BeginTime"]:
            time.sleep(5)  # once the killed instance is cleaned up: an earlier start is refused
            subprocess.run(["scontrol", "update", f"JobId={array[0]}", "StartTime=now"], check=True)
            break
        time.sleep(0.1)
    out, _ = sweep.communicate(timeout=600)
    assert sweep.returncode == 0, out
    trainings = [line for line in (run / "sweep.log").read_text().splitlines() if line.startswith("== train")]
    assert len(trainings) == 2 and trainings[1].endswith(" --resume"), trainings
    assert [row["epoch"] for row in json.loads((run / "history.json").read_text())] == [1, 2]
    record = json.loads((run / "sweep_point.json").read_text())
    assert (record["status"], record["engine"]) == ("finished", "slurm")
    assert array[0] in (record["slurm_job_id"], record["slurm_task_job_id"])  # a one-task submission is no array
    logs = "".join(p.read_text() for p in (tmp_path / "sweeps/two/.slurm").glob("*_log.err"))
    assert "Caught signal SIGUSR2" in logs and "DUE TO JOB REQUEUE" in logs
