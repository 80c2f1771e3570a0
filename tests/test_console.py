"""What training prints: two configuration lines, one fixed-format line per epoch, a bar only on a terminal."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys

import pytest
import torch

from tests.conftest import REPO
from trainer.console import RunClock, StepBar, duration, epoch_line

EPOCH_LINE = re.compile(
    r"epoch (\d+)/2  loss \d+\.\d{3}  train_acc \d\.\d{4}  test_acc (\d\.\d{4})  [\d,]+ img/s  \d+\.\d s  "
    r"elapsed \d+:\d\d  left (\d+:\d\d|\?)"
)
ROW = {"epoch": 3, "train_loss": 0.41234, "train_accuracy": 0.889, "test_accuracy": 0.91234,
       "images_per_second": 2950.4, "seconds": 20.31}


@pytest.mark.slow
def test_a_logged_run_prints_its_configuration_and_one_line_per_epoch(tmp_path, data_dir):
    run = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "trainer", "train", "--run", str(run), "--preset", "smoke", "--epochs", "2",
         "--data-dir", str(data_dir)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert "\r" not in result.stdout + result.stderr  # no bar frames in a log
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert len(lines) == 5, lines
    assert lines[0].startswith(f"training into {run} on cpu (") and lines[0].endswith(f"in {run / 'config.json'}")
    assert lines[1] == (
        "config: preset=smoke epochs=2 batch_size=128 lr=0.05 momentum=0.9 weight_decay=0.0005 warmup_epochs=0.25 "
        "label_smoothing=0.0 widths=8,16,16 bottleneck_dim=2 squeeze_hidden=128 squeeze_activation=relu "
        "auxiliary_weight=0.5 flip=True translate=2 tta_flip=True train_subset=2000 snapshot_frames=12 amp=True seed=0 "
        "device=auto"
    )
    history = json.loads((run / "history.json").read_text())
    matches = [EPOCH_LINE.fullmatch(line) for line in lines[2:4]]
    assert all(matches), lines[2:4]
    assert [(m[1], m[2]) for m in matches] == [(str(r["epoch"]), f"{r['test_accuracy']:.4f}") for r in history]
    assert [m[3] for m in matches] == ["?", "0:00"]
    assert lines[4] == f"done: test accuracy {history[-1]['test_accuracy']:.4f}; outputs in {run}"


@pytest.mark.parametrize("seconds, text", [(0.4, "0:00"), (59.6, "1:00"), (61, "1:01"), (3599, "59:59"),
                                           (3723, "1:02:03"), (36000, "10:00:00")])
def test_durations_read_as_clock_times(seconds, text):
    assert duration(seconds) == text


def test_the_time_left_comes_from_the_steady_epochs_after_the_first():
    clock = RunClock(total_epochs=24, started=100.0)
    # the first epoch takes 50 s with its start-up, the next two 20 s each: 21 to go at 20 s
    assert epoch_line(dict(ROW, epoch=1), clock, now=150.0).endswith("elapsed 0:50  left ?")
    epoch_line(dict(ROW, epoch=2), clock, now=170.0)
    assert epoch_line(ROW, clock, now=190.0) == (
        "epoch 3/24  loss 0.412  train_acc 0.8890  test_acc 0.9123  2,950 img/s  20.3 s  elapsed 1:30  left 7:00"
    )


def test_a_one_epoch_run_has_nothing_left():
    assert epoch_line(dict(ROW, epoch=1), RunClock(total_epochs=1, started=0.0), now=50.0).endswith("left 0:00")


def test_a_resumed_run_counts_earlier_epochs_in_elapsed_but_estimates_from_its_own():
    # 10 epochs took 600 s elsewhere; this process trained 3 more, the first in 30 s, then 2 in 40 s
    clock = RunClock(total_epochs=24, first_epoch=10, earlier_seconds=600.0, started=1000.0)
    assert epoch_line(dict(ROW, epoch=11), clock, now=1030.0).endswith("left ?")
    line = epoch_line(dict(ROW, epoch=13), clock, now=1070.0)
    assert line.endswith("20.3 s  elapsed 11:10  left 3:40")


class Stream(io.StringIO):
    def __init__(self, terminal: bool) -> None:
        super().__init__()
        self.terminal = terminal

    def isatty(self) -> bool:
        return self.terminal


@pytest.mark.parametrize("terminal", [True, False])
def test_the_step_bar_draws_only_on_a_terminal(monkeypatch, terminal):
    stream = Stream(terminal)
    monkeypatch.setattr(sys, "stderr", stream)
    bar = StepBar(3, "epoch 1/2")
    for step in range(3):
        bar.update(step, (step + 1) * 10, torch.tensor(5.0), torch.tensor(7))
    bar.close()
    text = stream.getvalue()
    if terminal:
        assert "\r" in text and "epoch 1/2" in text and "acc=0.700" in text and "loss=0.500" in text
    else:
        assert text == ""
