"""Training dynamics: each image's true-label probability and correctness per epoch, in dataset order."""

from __future__ import annotations

import json

import numpy as np
import torch

from trainer.checkpoint import RunState
from trainer.cli import main
from trainer.config import resolve
from trainer.data import Split
from trainer.dynamics import ARRAYS, EpochRecord
from trainer.train import run_epoch, set_up


def test_dynamics_file_schema_and_the_history_it_agrees_with(smoke_run):
    history = json.loads((smoke_run / "history.json").read_text())
    checkpoint = torch.load(smoke_run / "checkpoint.pt", map_location="cpu", weights_only=True)
    with np.load(smoke_run / "dynamics.npz") as dynamics:
        assert sorted(dynamics.files) == sorted(ARRAYS)
        shapes = {name: (dynamics[name].shape, dynamics[name].dtype) for name in ARRAYS}
        assert shapes == {  # 2 epochs of the smoke preset's 2,000 training images, and the test set
            "train_true_probability": ((2, 2000), np.float16),
            "train_correct": ((2, 2000), np.bool_),
            "test_true_probability": ((2, 10000), np.float16),
            "test_correct": ((2, 10000), np.bool_),
        }
        for name in ("train_true_probability", "test_true_probability"):
            assert np.all((dynamics[name] >= 0) & (dynamics[name] <= 1)), name
        # the same counts as the history's accuracies; the last row is the exported (fp32) model's
        assert dynamics["test_correct"][-1].mean() == history[-1]["test_accuracy"]
        assert dynamics["test_correct"].mean(1).tolist() == [row["test_accuracy"] for row in history]
        assert dynamics["train_correct"].mean(1).tolist() == [row["train_accuracy"] for row in history]
        for name in ARRAYS:  # kept in the checkpoint, for a resumed run to write the same file
            assert np.array_equal(checkpoint[name].numpy(), dynamics[name]), name


def test_batches_in_shuffled_order_land_at_their_dataset_positions():
    torch.manual_seed(0)
    logits, labels = torch.randn(50, 4).bfloat16(), torch.randint(0, 4, (50,))
    record = EpochRecord(Split(torch.zeros(50, 1, 28, 28, dtype=torch.uint8), labels, ["a", "b", "c", "d"]))
    order = torch.randperm(50)
    for start in range(0, 50, 16):  # batches of 16, the last one short, as the training loop slices
        rows = order[start : start + 16]
        record.store(rows, logits[rows])
    expected = logits.float().softmax(1)[torch.arange(50), labels].half()
    assert torch.equal(record.true_probability(), expected)
    assert torch.equal(record.correct(), logits.argmax(1) == labels)


def test_a_model_that_always_answers_one_class_is_correct_exactly_on_that_class():
    config = resolve("smoke", epochs=1, lr=0.0, device="cpu")  # lr 0: the weights stay as set
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (300, 1, 28, 28), dtype=torch.uint8, generator=generator)
    labels = torch.randint(0, 10, (300,), generator=generator)
    split = Split(images, labels, [str(c) for c in range(10)])
    setup = set_up(config, split, split, model=None)
    bias = torch.zeros(10)
    bias[3] = 2.0
    with torch.no_grad():  # logits = 0 @ z + bias: class 3 for every image
        setup.model.classifier.weight.zero_()
        setup.model.classifier.bias.copy_(bias)
    state = RunState()

    class NoProbes:
        def record(self, setup, state) -> None:
            pass

    row = run_epoch(setup, state, NoProbes(), epoch=0)
    rows = state.dynamics.to_checkpoint()
    expected = bias.softmax(0)[labels].half()  # (300,) in dataset order
    for split_name in ("train", "test"):  # the shuffled training pass, then the ordered test pass
        assert torch.equal(rows[f"{split_name}_correct"][0], labels == 3), split_name
        torch.testing.assert_close(rows[f"{split_name}_true_probability"][0], expected, rtol=1e-3, atol=0)
    assert row["test_accuracy"] == row["train_accuracy"] == int((labels == 3).sum()) / 300


def test_resuming_a_checkpoint_without_dynamics_is_refused(run_copy, data_dir, capsys):
    checkpoint = torch.load(run_copy / "checkpoint.pt", weights_only=True)
    for name in ARRAYS:
        del checkpoint[name]
    checkpoint.update(complete=False, epoch=1)
    torch.save(checkpoint, run_copy / "checkpoint.pt")
    args = ["train", "--run", str(run_copy), "--data-dir", str(data_dir), "--preset", "smoke", "--epochs", "2",
            "--resume"]
    assert main(args) == 2
    assert capsys.readouterr().err == (
        f"error: {run_copy / 'checkpoint.pt'} lacks {list(ARRAYS)}: an older trainer wrote it, and the epochs "
        "it trained cannot be recorded now; start a fresh run in another --run folder\n"
    )
