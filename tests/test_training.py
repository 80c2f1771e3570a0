"""Training runs: deterministic for a seed, resumable after a kill, safe against overwrites."""

from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
import sys
import time

import pytest
import torch

from tests.conftest import REPO
from trainer import cli, data
from trainer.checkpoint import RunState
from trainer.cli import main
from trainer.config import TrainConfig, resolve
from trainer.dynamics import ARRAYS

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
    # the last step's rate: peak 0.05, decaying linearly over the 28 steps after a 4-step warm-up
    assert history[-1]["learning_rate"] == pytest.approx(0.05 / 28)
    assert checkpoint["complete"] is True and checkpoint["epoch"] == 2
    assert set(checkpoint) >= {"model", "optimizer", "scheduler", "rng", "config", "history"}
    config = json.loads((smoke_run / "config.json").read_text())
    assert config["config"]["preset"] == "smoke" and config["threads"] == 2
    assert config["torch_version"] == torch.__version__
    assert config["config"]["amp"] is True and checkpoint["config"]["amp"] is True
    assert config["config"]["squeeze_activation"] == "relu"


@pytest.mark.slow
def test_same_seed_gives_identical_runs(tmp_path, data_dir):
    for name in ("a", "b"):
        assert main(train_args(tmp_path / name, data_dir, "--epochs", "1")) == 0
    (ca, ha), (cb, hb) = final_state(tmp_path / "a"), final_state(tmp_path / "b")
    assert [r["test_accuracy"] for r in ha] == [r["test_accuracy"] for r in hb]
    assert [r["train_loss"] for r in ha] == [r["train_loss"] for r in hb]
    for key, value in ca["model"].items():
        assert torch.equal(value, cb["model"][key]), key


@pytest.mark.parametrize("device", [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="torch sees no CUDA device")),
])
@pytest.mark.slow
def test_killed_run_resumes_to_the_unbroken_result(tmp_path, data_dir, device):
    unbroken, broken = tmp_path / "unbroken", tmp_path / "broken"
    on_device = ("--device", device)
    assert main(train_args(unbroken, data_dir, *on_device)) == 0
    process = subprocess.Popen(
        [sys.executable, "-m", "trainer", *train_args(broken, data_dir, *on_device)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not (broken / "checkpoint.pt").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = torch.load(broken / "checkpoint.pt", weights_only=True)["epoch"]
    assert killed_at < 3, "the run finished before it could be killed"
    assert not (broken / "snapshots.npz").exists() and not (broken / "dynamics.npz").exists()

    assert main(train_args(broken, data_dir, *on_device)) == 2  # no silent restart over an unfinished run
    assert main(train_args(broken, data_dir, *on_device, "--resume")) == 0
    (ca, ha), (cb, hb) = final_state(unbroken), final_state(broken)
    assert [r["test_accuracy"] for r in hb] == [r["test_accuracy"] for r in ha]
    assert [r["train_loss"] for r in hb] == [r["train_loss"] for r in ha]
    for key, value in ca["model"].items():
        assert torch.equal(value, cb["model"][key]), key
    import numpy as np

    with np.load(unbroken / "snapshots.npz") as a, np.load(broken / "snapshots.npz") as b:
        assert np.array_equal(a["steps"], b["steps"]) and np.array_equal(a["coords"], b["coords"])
    with np.load(unbroken / "dynamics.npz") as a, np.load(broken / "dynamics.npz") as b:
        assert sorted(a.files) == sorted(b.files) == sorted(ARRAYS)
        for name in ARRAYS:  # the epochs before the kill come from the checkpoint
            assert np.array_equal(a[name], b[name]), name


def test_unfinished_run_message(tmp_path, data_dir, capsys, run_copy):
    checkpoint = torch.load(run_copy / "checkpoint.pt", weights_only=True)
    checkpoint.update(complete=False, epoch=1)
    torch.save(checkpoint, run_copy / "checkpoint.pt")
    config_before = (run_copy / "config.json").read_bytes()
    args = ["train", "--run", str(run_copy), "--data-dir", str(data_dir), "--preset", "smoke", "--epochs", "2",
            "--seed", "7"]
    assert main(args) == 2
    assert capsys.readouterr().err == (
        f"error: {run_copy / 'checkpoint.pt'} holds an unfinished run (epoch 1 of 2); add --resume "
        "(make: RESUME=1) to continue it, or delete the run folder to start over\n"
    )
    assert (run_copy / "config.json").read_bytes() == config_before  # the refused seed 7 is not recorded


def test_resume_with_other_settings_is_refused(run_copy, data_dir, capsys):
    config_before = (run_copy / "config.json").read_bytes()
    args = ["train", "--run", str(run_copy), "--data-dir", str(data_dir), "--preset", "smoke",
            "--epochs", "2", "--seed", "7", "--resume"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {run_copy / 'checkpoint.pt'} was trained with another configuration (seed 0 "
                          "there, 7 now); ")
    assert err.endswith("resume with the same preset and flags, or start a fresh run in another --run folder\n")
    assert (run_copy / "config.json").read_bytes() == config_before
    assert json.loads(config_before)["config"]["seed"] == 0


def test_a_file_that_is_no_checkpoint_is_one_line_and_nothing_changes(run_copy, data_dir, capsys):
    (run_copy / "checkpoint.pt").write_text("not a checkpoint")
    before = {name: (run_copy / name).read_bytes() for name in ("config.json", "history.json")}
    args = ["train", "--run", str(run_copy), "--data-dir", str(data_dir), "--preset", "smoke", "--epochs", "2"]
    assert main(args) == 2
    assert capsys.readouterr().err == (
        f'error: {run_copy / "checkpoint.pt"} is not a checkpoint written by "python -m trainer train" (torch.load: '
        "UnpicklingError); move it away, or train into another --run folder\n")
    assert {name: (run_copy / name).read_bytes() for name in before} == before


def test_ctrl_c_says_how_to_go_on_in_one_line(run_copy, data_dir, capsys, monkeypatch):
    def interrupted(_args):
        raise KeyboardInterrupt
    monkeypatch.setattr(cli, "run_train", interrupted)
    assert main(["train", "--run", str(run_copy), "--data-dir", str(data_dir), "--preset", "smoke"]) == 130
    assert capsys.readouterr().err == (f"interrupted: {run_copy}/checkpoint.pt keeps every finished epoch; add "
                                       "--resume (make: RESUME=1) to continue\n")


def test_unknown_key_in_a_checkpoint_config_is_one_line(run_copy, data_dir, capsys):
    checkpoint = torch.load(run_copy / "checkpoint.pt", weights_only=True)
    checkpoint["config"]["dropout"] = 0.5  # written by some other version of the trainer
    torch.save(checkpoint, run_copy / "checkpoint.pt")
    args = ["train", "--run", str(run_copy), "--data-dir", str(data_dir), "--preset", "smoke", "--resume"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown configuration keys ['dropout']; known: amp, auxiliary_weight, batch_size, ")
    assert err.count("\n") == 1


def test_unexpected_error_keeps_its_traceback(tmp_path, monkeypatch, capsys):
    def broken_prepare(*args):
        raise ValueError("a bug, not a bad input")

    monkeypatch.setattr(data, "prepare", broken_prepare)
    with pytest.raises(ValueError, match="a bug, not a bad input"):
        main(["data", "--data-dir", str(tmp_path)])
    assert capsys.readouterr().err == ""


def test_unknown_preset_is_rejected(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--preset", "huge"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.endswith(
        "python -m trainer train: error: argument --preset: invalid choice: 'huge' "
        "(choose from 'default', 'fast', 'smoke')\n"
    )


def test_every_config_field_is_a_flag_that_overrides_the_preset():
    from trainer.cli import build_parser, overrides

    parser = build_parser()
    train_cmd = next(a for a in parser._actions if a.dest == "command").choices["train"]
    flags = {a.dest for a in train_cmd._actions} - {"help", "data_dir", "local_dir", "run", "resume"}
    assert flags == set(TrainConfig.__dataclass_fields__)
    args = parser.parse_args(["train", "--preset", "smoke", "--widths", "8", "8", "16", "--no-flip",
                              "--label-smoothing", "0.1", "--batch-size", "64", "--no-amp",
                              "--squeeze-activation", "tanh"])
    config = resolve(args.preset, **overrides(args))
    assert config == dataclasses.replace(resolve("smoke"), widths=(8, 8, 16), flip=False, label_smoothing=0.1,
                                         batch_size=64, amp=False, squeeze_activation="tanh")
    assert resolve("default", **overrides(parser.parse_args(["train"]))) == resolve("default")


@pytest.mark.parametrize("amp, dtype", [(True, torch.bfloat16), (False, torch.float32)])
def test_amp_sets_the_training_precision(amp, dtype):
    from trainer.data import Split
    from trainer.train import set_up, train_step

    config = resolve("smoke", amp=amp, device="cpu")
    images = torch.randint(0, 256, (8, 1, 28, 28), dtype=torch.uint8)
    split = Split(images, torch.arange(8) % 2, ["even", "odd"])
    setup = set_up(config, split, split, model=None)
    state = RunState()
    loss, logits = train_step(setup, state, images.float() / 255, split.labels)
    assert logits.dtype == dtype and loss.dtype == torch.float32 and state.step == 1
