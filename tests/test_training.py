"""Training runs: deterministic for a seed, resumable after a kill, safe against overwrites."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest
import torch

from tests.conftest import REPO
from trainer.cli import main

SMALL = ["--preset", "smoke", "--epochs", "3", "--train-subset", "2500"]


def train_args(run, data_dir, *extra):
    return ["train", "--run", str(run), "--data-dir", str(data_dir), *SMALL, *extra]


def final_state(run):
    checkpoint = torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=True)
    return checkpoint, json.loads((run / "history.json").read_text())


def test_history_checkpoint_and_config(smoke_run):
    checkpoint, history = final_state(smoke_run)
    assert [row["epoch"] for row in history] == [1, 2]
    assert set(history[0]) == {"epoch", "step", "train_loss", "train_accuracy", "test_loss",
                               "test_accuracy", "learning_rate", "seconds", "images_per_second"}
    assert history[-1]["step"] == 32  # 2,000 images in batches of 128, two epochs
    assert history[-1]["learning_rate"] == pytest.approx(0.1 / 16)  # the last step's rate
    assert checkpoint["complete"] is True and checkpoint["epoch"] == 2
    assert set(checkpoint) >= {"model", "optimizer", "scheduler", "rng", "config", "history"}
    config = json.loads((smoke_run / "config.json").read_text())
    assert config["config"]["preset"] == "smoke" and config["threads"] == 2
    assert config["torch_version"] == torch.__version__


def test_same_seed_gives_identical_runs(tmp_path, data_dir):
    for name in ("a", "b"):
        assert main(train_args(tmp_path / name, data_dir, "--epochs", "1")) == 0
    (ca, ha), (cb, hb) = final_state(tmp_path / "a"), final_state(tmp_path / "b")
    assert [r["test_accuracy"] for r in ha] == [r["test_accuracy"] for r in hb]
    assert [r["train_loss"] for r in ha] == [r["train_loss"] for r in hb]
    for key, value in ca["model"].items():
        assert torch.equal(value, cb["model"][key]), key


def test_killed_run_resumes_to_the_unbroken_result(tmp_path, data_dir):
    unbroken, broken = tmp_path / "unbroken", tmp_path / "broken"
    assert main(train_args(unbroken, data_dir)) == 0
    process = subprocess.Popen(
        [sys.executable, "-m", "trainer", *train_args(broken, data_dir)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not (broken / "checkpoint.pt").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = torch.load(broken / "checkpoint.pt", weights_only=True)["epoch"]
    assert killed_at < 3, "the run finished before it could be killed"
    assert not (broken / "snapshots.npz").exists()

    assert main(train_args(broken, data_dir)) == 1  # no silent restart over an unfinished run
    assert main(train_args(broken, data_dir, "--resume")) == 0
    (ca, ha), (cb, hb) = final_state(unbroken), final_state(broken)
    assert [r["test_accuracy"] for r in hb] == [r["test_accuracy"] for r in ha]
    assert [r["train_loss"] for r in hb] == [r["train_loss"] for r in ha]
    for key, value in ca["model"].items():
        assert torch.equal(value, cb["model"][key]), key
    import numpy as np

    with np.load(unbroken / "snapshots.npz") as a, np.load(broken / "snapshots.npz") as b:
        assert np.array_equal(a["steps"], b["steps"]) and np.array_equal(a["coords"], b["coords"])


def test_unfinished_run_message(tmp_path, data_dir, capsys, run_copy):
    checkpoint = torch.load(run_copy / "checkpoint.pt", weights_only=True)
    checkpoint.update(complete=False, epoch=1)
    torch.save(checkpoint, run_copy / "checkpoint.pt")
    args = ["train", "--run", str(run_copy), "--data-dir", str(data_dir), "--preset", "smoke", "--epochs", "2"]
    assert main(args) == 1
    assert capsys.readouterr().err == (
        f"error: {run_copy / 'checkpoint.pt'} holds an unfinished run (epoch 1 of 2); add --resume "
        "(make: RESUME=1) to continue it, or delete the run folder to start over\n"
    )


def test_resume_with_other_settings_is_refused(run_copy, data_dir, capsys):
    args = ["train", "--run", str(run_copy), "--data-dir", str(data_dir), "--preset", "smoke",
            "--epochs", "2", "--seed", "7", "--resume"]
    assert main(args) == 1
    assert "was trained with another configuration" in capsys.readouterr().err


def test_unknown_preset_is_rejected():
    with pytest.raises(SystemExit):
        main(["train", "--preset", "huge"])
