"""The training loop: SGD with warm-up and linear decay, bf16 autocast, per-epoch evaluation.

The model is evaluated in eval mode (flip test-time averaging when `tta_flip`). Per-epoch test
passes run in bf16; the last one in fp32, as the exported graph computes, because the exporter
compares the two accuracies exactly.

Reads the in-memory dataset; writes into the run folder, atomically: `config.json` once the run
is accepted (a refused run leaves the folder as it was), then after every epoch
`history.json` (one row per epoch), `checkpoint.pt` (everything needed to resume) and, when the
last epoch is done, `snapshots.npz`. Each epoch's batch order and augmentation come from a
generator seeded with (seed, epoch), so a resumed run repeats an unbroken one exactly.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from analyzer.artifacts import atomic_path, write_json
from trainer import snapshots
from trainer.augment import flip_and_shift
from trainer.config import TrainConfig
from trainer.data import Split
from trainer.model import EVAL_BATCH, BottleneckCNN, build_model


class TrainError(RuntimeError):
    """A run that cannot start or continue: no such device, or a checkpoint that cannot be resumed
    or must not be overwritten."""


@dataclass
class RunState:
    """What a checkpoint holds beyond the model and optimiser weights."""

    epoch: int = 0  # epochs completed
    step: int = 0  # optimiser steps taken
    history: list[dict] = field(default_factory=list)
    snapshot_steps: list[int] = field(default_factory=list)
    info_coords: list[torch.Tensor] = field(default_factory=list)  # each (1000, D); the probe's are rows of them


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise TrainError("--device cuda asked for, but torch sees no CUDA device; use --device cpu")
    return torch.device(name)


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
def evaluate(model: BottleneckCNN, split: Split, device: torch.device, bf16: bool) -> tuple[float, float]:
    """Mean cross-entropy and accuracy on a split, in bf16 or in fp32 as the exported model computes."""
    model.eval()
    loss_sum, correct = 0.0, 0
    for start in range(0, len(split.labels), EVAL_BATCH):
        x = to_float(split.images[start : start + EVAL_BATCH], device)
        y = split.labels[start : start + EVAL_BATCH].to(device)
        with autocast(device, enabled=bf16):
            logits, _ = model(x)
        loss_sum += F.cross_entropy(logits.float(), y, reduction="sum").item()
        correct += (logits.argmax(1) == y).sum().item()
    model.train()
    return loss_sum / len(split.labels), correct / len(split.labels)


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


def save_checkpoint(path: Path, model, optimizer, config: TrainConfig, state: RunState, extra: dict):
    """Everything needed to resume, as tensors and plain types (loads with weights_only=True)."""
    payload = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": {"step": state.step},
        "rng": {"torch": torch.get_rng_state()},
        "epoch": state.epoch,
        "step": state.step,
        "complete": state.epoch >= config.epochs,
        "config": config.to_json(),
        "history": state.history,
        "snapshot_steps": state.snapshot_steps,
        "info_coords": torch.stack(state.info_coords),
        **extra,
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_checkpoint(path: Path, config: TrainConfig, model, optimizer) -> RunState:
    """Restore model, optimiser and run state from `path`, refusing another configuration."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    saved = dict(checkpoint["config"], device=config.device)
    if TrainConfig.from_json(saved) != config:
        raise TrainError(
            f"{path} was trained with another configuration ({checkpoint['config']}); resume "
            "with the same preset and flags, or start a fresh run in another --run folder"
        )
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    torch.set_rng_state(checkpoint["rng"]["torch"])
    return RunState(
        epoch=checkpoint["epoch"],
        step=checkpoint["step"],
        history=list(checkpoint["history"]),
        snapshot_steps=list(checkpoint["snapshot_steps"]),
        info_coords=list(checkpoint["info_coords"].unbind(0)),
    )


def check_fresh_start(path: Path) -> None:
    """Refuse to overwrite an unfinished run silently: the user must resume or remove it."""
    if not path.is_file():
        return
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    if not checkpoint.get("complete", False):
        raise TrainError(
            f"{path} holds an unfinished run (epoch {checkpoint['epoch']} of "
            f"{checkpoint['config']['epochs']}); add --resume (make: RESUME=1) to continue it, "
            "or delete the run folder to start over"
        )


def summary_line(row: dict, epochs: int) -> str:
    return (
        f"epoch {row['epoch']}/{epochs}  loss {row['train_loss']:.3f}  "
        f"train_acc {row['train_accuracy']:.4f}  test_acc {row['test_accuracy']:.4f}  "
        f"{row['images_per_second']:,.0f} img/s  {row['seconds']:.1f} s"
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
    device = pick_device(config.device)
    torch.manual_seed(config.seed)
    model = model or build_model(config, len(train_split.class_names))
    model = model.to(device).to(memory_format=torch.channels_last)
    optimizer = make_optimizer(model, config)
    checkpoint_path = run / "checkpoint.pt"
    state = RunState()
    if resume and checkpoint_path.is_file():
        state = load_checkpoint(checkpoint_path, config, model, optimizer)
        print(f"resuming {checkpoint_path} after epoch {state.epoch}")
    elif not resume:
        check_fresh_start(checkpoint_path)
    write_json(run / "config.json", record)

    images, labels = train_split.images, train_split.labels
    if config.train_subset:
        images, labels = images[: config.train_subset], labels[: config.train_subset]
    steps_per_epoch = math.ceil(len(labels) / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    probe = snapshots.probe_indices(test_split.labels, len(test_split.class_names))
    info = snapshots.probe_indices(test_split.labels, len(test_split.class_names), snapshots.INFO_PER_CLASS)
    info_images, probe_rows = test_split.images[info], snapshots.rows_of(probe, info)
    wanted_steps = set(snapshots.snapshot_steps(total_steps, config.snapshot_frames))
    extra = {"class_names": train_split.class_names, "probe_indices": probe}

    def record_snapshot() -> None:
        if state.step in wanted_steps and state.step not in state.snapshot_steps:
            state.snapshot_steps.append(state.step)
            # one bf16 pass (a resumed run reproduces it bit for bit): binning, KDE and the GIF's
            # points need no more precision, and the probe images are rows of the information subset
            state.info_coords.append(bottleneck_of(model, info_images, device, bf16=True))

    def probe_coords() -> torch.Tensor:
        """(frames, 100, D): the probe images' rows of every information-subset snapshot."""
        return torch.stack(state.info_coords)[:, probe_rows]

    record_snapshot()
    for epoch in range(state.epoch, config.epochs):
        generator = torch.Generator().manual_seed(config.seed * 100_003 + epoch)
        order = torch.randperm(len(labels), generator=generator)
        started = time.perf_counter()
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch + 1}/{config.epochs}", leave=False)
        for i in bar:
            idx = order[i * config.batch_size : (i + 1) * config.batch_size]
            x = flip_and_shift(images[idx].float().div_(255), config.translate, config.flip, generator)
            x = x.to(device).contiguous(memory_format=torch.channels_last)
            y = labels[idx].to(device)
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(config, state.step, total_steps, steps_per_epoch)
            with autocast(device):
                logits, auxiliary = model.training_logits(x)
            loss = F.cross_entropy(logits.float(), y, label_smoothing=config.label_smoothing)
            objective = loss  # the history reports the bottleneck's loss, comparable with the test loss
            if auxiliary is not None:
                objective = loss + config.auxiliary_weight * F.cross_entropy(
                    auxiliary.float(), y, label_smoothing=config.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            objective.backward()
            optimizer.step()
            state.step += 1
            loss_sum += loss.detach() * len(y)
            correct += (logits.argmax(1) == y).sum()
            record_snapshot()
            if i % 20 == 0:
                seen = min((i + 1) * config.batch_size, len(labels))
                bar.set_postfix(
                    loss=f"{loss_sum.item() / seen:.3f}",
                    acc=f"{correct.item() / seen:.3f}",
                    img_s=f"{seen / (time.perf_counter() - started):,.0f}",
                )
        train_seconds = time.perf_counter() - started
        test_loss, test_accuracy = evaluate(model, test_split, device, bf16=epoch + 1 < config.epochs)
        state.epoch = epoch + 1
        row = {
            "epoch": state.epoch,
            "step": state.step,
            "train_loss": loss_sum.item() / len(labels),
            "train_accuracy": correct.item() / len(labels),
            "test_loss": test_loss,
            "test_accuracy": test_accuracy,
            "learning_rate": optimizer.param_groups[0]["lr"],
            "seconds": time.perf_counter() - started,
            "images_per_second": len(labels) / train_seconds,
        }
        state.history.append(row)
        write_json(run / "history.json", state.history)
        save_checkpoint(checkpoint_path, model, optimizer, config, state, {**extra, "snapshot_coords": probe_coords()})
        print(summary_line(row, config.epochs), flush=True)

    with atomic_path(run / "snapshots.npz") as tmp:
        snapshots.save(
            tmp,
            indices=probe,
            labels=test_split.labels[probe],
            steps=state.snapshot_steps,
            epochs=[s / steps_per_epoch for s in state.snapshot_steps],
            coords=probe_coords(),
            class_names=test_split.class_names,
            info_indices=info,
            info_labels=test_split.labels[info],
            info_coords=torch.stack(state.info_coords),
        )
    return state.history[-1]
