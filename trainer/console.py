"""What training prints: the configuration in two lines, a bar on a terminal, one line per epoch.

A log (stderr not a terminal) gets no progress bar at all, only fixed-format lines: tqdm's
carriage-return frames would fill a log file with redraws (129 KB for one default run). Each epoch
line carries the whole run's elapsed time and an estimate of the time left, from the mean steady
epoch of this process: its first epoch pays the start-up (measured: 50 s against 40 s for the next
ones, a 2x overestimate of a default run's time left), so that line says `left ?`; a resumed run's
earlier epochs ran elsewhere, perhaps on other hardware.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

BAR_EVERY = 20  # steps between the bar's loss/accuracy readings (each one waits for the device)


def duration(seconds: float) -> str:
    """`m:ss`, or `h:mm:ss` from an hour on: 61 -> `1:01`, 3723 -> `1:02:03`."""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def value_text(value) -> str:
    """A configuration value without spaces, so that each `key=value` stays one word."""
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def start_lines(record: dict, run: Path) -> list[str]:
    """The resolved configuration and environment in two lines (`record` is what config.json holds)."""
    settings = " ".join(f"{key}={value_text(value)}" for key, value in record["config"].items())
    return [
        f"training into {run} on {record['device']} ({record['device_name']}), {record['threads']} threads, "
        f"torch {record['torch_version']}, torchvision {record['torchvision_version']}, "
        f"Python {record['python_version']}; all of it in {run / 'config.json'}",
        f"config: {settings}",
    ]


@dataclass
class RunClock:
    """Elapsed and remaining time of a whole run, of which this process trains the epochs after
    `first_epoch`; `earlier_seconds` is what the history records for the epochs before them."""

    total_epochs: int
    first_epoch: int = 0
    earlier_seconds: float = 0.0
    started: float = field(default_factory=time.perf_counter)
    steady_since: float | None = None  # when this process's first epoch ended

    def elapsed(self, now: float) -> float:
        return self.earlier_seconds + now - self.started

    def left(self, epochs_done: int, now: float) -> str:
        """The mean steady epoch of this process times the epochs still to train; `?` after this
        process's first epoch, whose start-up says nothing of the epochs to come."""
        remaining = self.total_epochs - epochs_done
        if self.steady_since is None:
            self.steady_since = now
            return duration(0) if not remaining else "?"
        return duration((now - self.steady_since) / (epochs_done - self.first_epoch - 1) * remaining)


def epoch_line(row: dict, clock: RunClock, now: float) -> str:
    """`epoch 3/24  loss 0.412  train_acc 0.8900  test_acc 0.9123  2,950 img/s  20.3 s  elapsed 1:01  left 7:12`."""
    return (
        f"epoch {row['epoch']}/{clock.total_epochs}  loss {row['train_loss']:.3f}  "
        f"train_acc {row['train_accuracy']:.4f}  test_acc {row['test_accuracy']:.4f}  "
        f"{row['images_per_second']:,.0f} img/s  {row['seconds']:.1f} s  "
        f"elapsed {duration(clock.elapsed(now))}  left {clock.left(row['epoch'], now)}"
    )


class StepBar:
    """A tqdm bar over one epoch's steps when stderr is a terminal; otherwise nothing at all."""

    def __init__(self, steps: int, description: str) -> None:
        self.bar = tqdm(total=steps, desc=description, leave=False) if sys.stderr.isatty() else None
        self.started = time.perf_counter()

    def update(self, step: int, seen: int, loss_sum, correct) -> None:
        """After `step` (0-based) of the epoch, `seen` images in: move the bar, every BAR_EVERY steps
        show the running loss and accuracy (`loss_sum`, `correct`: device tensors, read only then)."""
        if self.bar is None:
            return
        if step % BAR_EVERY == 0:
            self.bar.set_postfix(
                loss=f"{loss_sum.item() / seen:.3f}",
                acc=f"{correct.item() / seen:.3f}",
                img_s=f"{seen / (time.perf_counter() - self.started):,.0f}",
            )
        self.bar.update()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
