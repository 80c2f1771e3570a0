"""The training loop: SGD with warm-up and linear decay, bf16 autocast, per-epoch evaluation.

The model is evaluated in eval mode (flip test-time averaging when `tta_flip`). Per-epoch test
passes run in bf16 (with `amp`); the last one in fp32, as the exported graph computes, because the
exporter compares the two accuracies exactly: fp32 means fp32 on a GPU too (no TF32).

Reads the in-memory dataset, which moves to the device once: on a GPU, the batch order, the
batches and their augmentation are made there. Writes into the run folder, atomically:
`config.json` once the run is accepted (a refused run leaves the folder as it was), then after
every epoch `history.json` (one row per epoch), `checkpoint.pt` (everything needed to resume) and,
when the last epoch is done, `dynamics.npz`, then `snapshots.npz`. Each epoch's batch order and
augmentation come from a generator seeded with (seed, epoch), and CUDA kernels are deterministic,
so a resumed run repeats an unbroken one exactly on the same device.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from fmnist_common.artifacts import atomic_path, write_json
from trainer import snapshots
from trainer.augment import flip_and_shift
from trainer.checkpoint import RunState, TrainError, save_checkpoint, start_state
from trainer.config import TrainConfig
from trainer.console import RunClock, StepBar, epoch_line
from trainer.data import Split
from trainer.dynamics import EpochRecord
from trainer.model import EVAL_BATCH, BottleneckCNN, build_model


def pick_device(name: str) -> torch.device:
    """The device `--device` names; `auto` is CUDA when torch sees one."""
    # cuBLAS reads its workspace setting when it starts: this one makes its matmuls deterministic
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise TrainError("--device cuda asked for, but torch sees no CUDA device; use --device cpu")
    return torch.device(name)


def configure_backends(device: torch.device) -> None:
    """Exact fp32 everywhere, reproducible kernels on CUDA (no effect on CPU results).

    TF32 would round fp32 matmuls and convolutions to 10-bit mantissas on a GPU, and the exporter
    requires the last (fp32) test accuracy to equal onnxruntime's to the image. The network's global
    max pool (`AdaptiveMaxPool2d(1)`) has a backward torch flags as nondeterministic, though with a
    1x1 output every input receives at most one gradient, so its atomic adds cannot reorder: hence
    warn_only, and that one warning silenced.
    """
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = False  # the fastest kernel found by timing may differ run to run
    torch.use_deterministic_algorithms(device.type == "cuda", warn_only=True)
    warnings.filterwarnings("ignore", message=r"adaptive_max_pool2d_backward\w* does not have a deterministic")


def learning_rate(config: TrainConfig, step: int, total_steps: int, steps_per_epoch: int) -> float:
    """Linear warm-up to `config.lr`, then linear decay to zero at the last step."""
    warmup = max(1, round(config.warmup_epochs * steps_per_epoch))
    if step < warmup:
        return config.lr * (step + 1) / warmup
    return config.lr * max(0.0, (total_steps - step) / max(1, total_steps - warmup))


def make_optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """Nesterov SGD; weight decay only on conv and linear weights, not on norms or biases."""
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum, nesterov=True)


def autocast(device: torch.device, enabled: bool = True):
    """bf16 autocast: on this CPU oneDNN then uses AMX, about twice the fp32 throughput."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=enabled)


def to_float(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    """uint8 (B, 1, 28, 28) -> float in [0, 1], channels-last, on `device`."""
    x = images.to(device, non_blocking=True).float().div_(255)
    return x.contiguous(memory_format=torch.channels_last)


@torch.no_grad()
def evaluate(model: BottleneckCNN, split: Split, device: torch.device,
             bf16: bool) -> tuple[float, float, EpochRecord, torch.Tensor]:
    """Mean cross-entropy, accuracy, per-image record and (N, D) bottleneck points on a split, in bf16
    or in fp32 as exported."""
    model.eval()
    loss_sum, correct, record, coords = 0.0, 0, EpochRecord(split), []
    for start in range(0, len(split.labels), EVAL_BATCH):
        x = to_float(split.images[start : start + EVAL_BATCH], device)
        y = split.labels[start : start + EVAL_BATCH].to(device)
        with autocast(device, enabled=bf16):
            logits, z = model(x)
        loss_sum += F.cross_entropy(logits.float(), y, reduction="sum").item()
        correct += (logits.argmax(1) == y).sum().item()
        record.store(slice(start, start + len(y)), logits)
        coords.append(z.float())
    model.train()
    return loss_sum / len(split.labels), correct / len(split.labels), record, torch.cat(coords)


@torch.no_grad()
def bottleneck_of(model: BottleneckCNN, images: torch.Tensor, device: torch.device, bf16: bool) -> torch.Tensor:
    """Bottleneck points (N, D) of uint8 images as given (no mirror view: half the cost of the
    flip-averaged points, and a snapshot is a picture), model in eval mode."""
    model.eval()
    with autocast(device, enabled=bf16):
        z = torch.cat([model.embed(to_float(images[start : start + EVAL_BATCH], device)).float()
                       for start in range(0, len(images), EVAL_BATCH)])
    model.train()
    return z.cpu()


@dataclass
class Setup:
    """What every step of a run shares: the model and optimiser on the device, and the data there."""

    config: TrainConfig
    device: torch.device
    model: BottleneckCNN
    optimizer: torch.optim.Optimizer
    train: Split  # the training images used (train_subset), on the device
    test: Split  # on the device

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.train.labels) / self.config.batch_size)

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.config.epochs


def set_up(config: TrainConfig, train_split: Split, test_split: Split, model: BottleneckCNN | None) -> Setup:
    """Device, backends, seeded weights (`model` when given) and optimiser; the data on the device."""
    device = pick_device(config.device)
    configure_backends(device)
    torch.manual_seed(config.seed)
    model = model or build_model(config, len(train_split.class_names))
    model = model.to(device).to(memory_format=torch.channels_last)
    return Setup(config, device, model, make_optimizer(model, config),
                 train_split.head(config.train_subset).to(device), test_split.to(device))


@dataclass
class Probes:
    """The test images whose bottleneck points are recorded at the snapshot steps: the information
    subset (1,000 images), of which the probe set (100) is a part."""

    indices: torch.Tensor  # (100,) the probe set's test indices
    info: torch.Tensor  # (1000,) the information subset's test indices
    images: torch.Tensor  # (1000, 1, 28, 28) uint8, the information subset on the device
    rows: torch.Tensor  # (100,) the probe set's rows in the information subset
    steps: set[int]  # optimiser steps to record

    @classmethod
    def choose(cls, setup: Setup) -> Probes:
        labels, classes = setup.test.labels.cpu(), len(setup.test.class_names)
        probe = snapshots.probe_indices(labels, classes)
        info = snapshots.probe_indices(labels, classes, snapshots.INFO_PER_CLASS)
        steps = set(snapshots.snapshot_steps(setup.total_steps, setup.config.snapshot_frames))
        return cls(probe, info, setup.test.images[info.to(setup.device)], snapshots.rows_of(probe, info), steps)

    def record(self, setup: Setup, state: RunState) -> None:
        """Record the points if this step is wanted and not yet recorded (a resumed run's step 0)."""
        if state.step in self.steps and state.step not in state.snapshot_steps:
            state.snapshot_steps.append(state.step)
            # one pass (bf16 with amp, which a resumed run reproduces bit for bit): binning, KDE and
            # the GIF's points need no more precision, and the probe images are rows of the subset
            state.info_coords.append(bottleneck_of(setup.model, self.images, setup.device, bf16=setup.config.amp))

    def coords(self, state: RunState) -> torch.Tensor:
        """(frames, 100, D): the probe images' rows of every information-subset snapshot."""
        return torch.stack(state.info_coords)[:, self.rows]


def train_step(setup: Setup, state: RunState, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One SGD step on a batch at the schedule's rate; returns (the bottleneck loss, the logits)."""
    config, optimizer = setup.config, setup.optimizer
    for group in optimizer.param_groups:
        group["lr"] = learning_rate(config, state.step, setup.total_steps, setup.steps_per_epoch)
    with autocast(setup.device, enabled=config.amp):
        logits, auxiliary = setup.model.training_logits(x)
    loss = F.cross_entropy(logits.float(), y, label_smoothing=config.label_smoothing)
    objective = loss  # the history reports the bottleneck's loss, comparable with the test loss
    if auxiliary is not None:
        objective = loss + config.auxiliary_weight * F.cross_entropy(
            auxiliary.float(), y, label_smoothing=config.label_smoothing)
    optimizer.zero_grad(set_to_none=True)
    objective.backward()
    optimizer.step()
    state.step += 1
    return loss.detach(), logits


def train_epoch(setup: Setup, state: RunState, probes: Probes, epoch: int) -> tuple[float, float, EpochRecord]:
    """One pass over the training images in the order of `epoch`'s generator; returns the mean
    bottleneck loss, the accuracy and every image's record, all on the augmented batches."""
    config, device, (images, labels) = setup.config, setup.device, (setup.train.images, setup.train.labels)
    generator = torch.Generator(device=device).manual_seed(config.seed * 100_003 + epoch)
    order = torch.randperm(len(labels), generator=generator, device=device)
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    record = EpochRecord(setup.train)
    bar = StepBar(setup.steps_per_epoch, f"epoch {epoch + 1}/{config.epochs}")
    for i in range(setup.steps_per_epoch):
        idx = order[i * config.batch_size : (i + 1) * config.batch_size]  # (B,) on the device
        x = flip_and_shift(images[idx].float().div_(255), config.translate, config.flip, generator)
        x = x.contiguous(memory_format=torch.channels_last)
        y = labels[idx]
        loss, logits = train_step(setup, state, x, y)
        loss_sum += loss * len(y)
        correct += (logits.argmax(1) == y).sum()
        record.store(idx, logits)  # rows by dataset position, whatever the batch order
        probes.record(setup, state)
        bar.update(i, min((i + 1) * config.batch_size, len(labels)), loss_sum, correct)
    bar.close()
    return loss_sum.item() / len(labels), correct.item() / len(labels), record


def run_epoch(setup: Setup, state: RunState, probes: Probes, epoch: int) -> dict:
    """Train one epoch and test it (fp32 after the last); returns its history row."""
    config = setup.config
    started = time.perf_counter()
    train_loss, train_accuracy, train_record = train_epoch(setup, state, probes, epoch)
    train_seconds = time.perf_counter() - started
    bf16 = config.amp and epoch + 1 < config.epochs
    test_loss, test_accuracy, test_record, test_coords = evaluate(setup.model, setup.test, setup.device, bf16=bf16)
    state.dynamics.append(train_record, test_record)
    if epoch + 1 == config.epochs:  # the fp32 answers the exporter checks its graph against
        state.test_outputs = {"test_logits": test_record.logits.cpu(), "test_bottleneck": test_coords.cpu()}
    state.epoch = epoch + 1
    return {
        "epoch": state.epoch,
        "step": state.step,
        "train_loss": train_loss,
        "train_accuracy": train_accuracy,
        "test_loss": test_loss,
        "test_accuracy": test_accuracy,
        "learning_rate": setup.optimizer.param_groups[0]["lr"],
        "seconds": time.perf_counter() - started,
        "images_per_second": len(setup.train.labels) / train_seconds,
    }


def save_snapshots(path: Path, setup: Setup, probes: Probes, state: RunState) -> None:
    """Write `snapshots.npz` (docs/run-folder.md) once the last epoch is done."""
    labels = setup.test.labels.cpu()
    with atomic_path(path) as tmp:
        snapshots.save(
            tmp,
            indices=probes.indices,
            labels=labels[probes.indices],
            steps=state.snapshot_steps,
            epochs=[s / setup.steps_per_epoch for s in state.snapshot_steps],
            coords=probes.coords(state),
            class_names=setup.test.class_names,
            info_indices=probes.info,
            info_labels=labels[probes.info],
            info_coords=torch.stack(state.info_coords),
        )


def train(
    config: TrainConfig,
    train_split: Split,
    test_split: Split,
    run: Path,
    resume: bool,
    record: dict,
    model: BottleneckCNN | None = None,
) -> dict:
    """Train (or resume) into `run`; return the last history row.

    `record` (the resolved configuration and environment) becomes `config.json` only once the
    resume checks pass; `model` defaults to the network `config` describes (the benchmark passes
    its control variants).
    """
    setup = set_up(config, train_split, test_split, model)
    checkpoint_path = run / "checkpoint.pt"
    state = start_state(checkpoint_path, resume, config, setup.model, setup.optimizer)
    write_json(run / "config.json", record)
    probes = Probes.choose(setup)
    extra = {"class_names": train_split.class_names, "probe_indices": probes.indices}
    clock = RunClock(config.epochs, state.epoch, sum(row["seconds"] for row in state.history))
    probes.record(setup, state)
    for epoch in range(state.epoch, config.epochs):
        row = run_epoch(setup, state, probes, epoch)
        state.history.append(row)
        write_json(run / "history.json", state.history)
        save_checkpoint(checkpoint_path, setup.model, setup.optimizer, config, state,
                        {**extra, "snapshot_coords": probes.coords(state)})
        print(epoch_line(row, clock, time.perf_counter()), flush=True)
    state.dynamics.save(run / "dynamics.npz")
    save_snapshots(run / "snapshots.npz", setup, probes, state)  # last: the file make's train target names
    return state.history[-1]
