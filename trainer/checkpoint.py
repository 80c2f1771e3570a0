"""The run's checkpoint: what it holds, writing it, resuming from it, refusing to overwrite it.

`RUN/checkpoint.pt` is rewritten atomically after every epoch with the model and optimiser
weights, the step, the RNG state, the configuration, the history, the snapshots and the training
dynamics so far, as tensors and plain types, so that it loads with `torch.load(weights_only=True)`
and a resumed run repeats an unbroken one exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from fmnist_common.artifacts import atomic_path
from trainer.config import TrainConfig
from trainer.dynamics import ARRAYS, Dynamics


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
    dynamics: Dynamics = field(default_factory=Dynamics)  # one row per completed epoch
    # the last epoch's fp32 test pass, (N, C) `test_logits` and (N, D) `test_bottleneck`: the exporter's
    # parity check compares onnxruntime with them instead of running the model a second time
    test_outputs: dict[str, torch.Tensor] = field(default_factory=dict)


def save_checkpoint(path: Path, model, optimizer, config: TrainConfig, state: RunState, extra: dict) -> None:
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
        **state.dynamics.to_checkpoint(),
        **state.test_outputs,
        **extra,
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def read_checkpoint(path: Path) -> dict:
    """The checkpoint at `path` as saved, or one clear error for a file the trainer did not write
    (torch's own message for such a file runs to lines, and suggests loading it unsafely)."""
    advice = "move it away, or train into another --run folder"
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any unreadable or foreign file gets the same advice
        raise TrainError(f"{path} is not a checkpoint written by \"python -m trainer train\" (torch.load: "
                         f"{type(exc).__name__}); {advice}") from exc
    if not (isinstance(checkpoint, dict) and "epoch" in checkpoint and isinstance(checkpoint.get("config"), dict)):
        raise TrainError(f"{path} is not a checkpoint written by \"python -m trainer train\" (it holds no epoch "
                         f"and configuration); {advice}")
    return checkpoint


def load_checkpoint(path: Path, config: TrainConfig, model, optimizer) -> RunState:
    """Restore model, optimiser and run state from `path`, refusing another configuration (the
    device aside: a run may continue on other hardware)."""
    checkpoint = read_checkpoint(path)
    there = TrainConfig.from_json(dict(checkpoint["config"], device=config.device)).to_json()
    here = config.to_json()
    differ = [f"{name} {there[name]!r} there, {value!r} now" for name, value in here.items() if there[name] != value]
    if differ:
        raise TrainError(
            f"{path} was trained with another configuration ({'; '.join(differ)}); resume "
            "with the same preset and flags, or start a fresh run in another --run folder"
        )
    missing = [name for name in ARRAYS if name not in checkpoint]
    if missing:
        raise TrainError(
            f"{path} lacks {missing}: an older trainer wrote it, and the epochs it trained cannot be "
            "recorded now; start a fresh run in another --run folder"
        )
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])  # moves the momenta to the parameters' device
    torch.set_rng_state(checkpoint["rng"]["torch"])
    return RunState(
        epoch=checkpoint["epoch"],
        step=checkpoint["step"],
        history=list(checkpoint["history"]),
        snapshot_steps=list(checkpoint["snapshot_steps"]),
        info_coords=list(checkpoint["info_coords"].unbind(0)),
        dynamics=Dynamics.from_checkpoint(checkpoint),
    )


def check_fresh_start(path: Path) -> None:
    """Refuse to overwrite an unfinished run silently: the user must resume or remove it."""
    if not path.is_file():
        return
    checkpoint = read_checkpoint(path)
    if not checkpoint.get("complete", False):
        raise TrainError(
            f"{path} holds an unfinished run (epoch {checkpoint['epoch']} of "
            f"{checkpoint['config']['epochs']}); add --resume (make: RESUME=1) to continue it, "
            "or delete the run folder to start over"
        )


def start_state(path: Path, resume: bool, config: TrainConfig, model, optimizer) -> RunState:
    """The resume policy: continue the checkpoint when asked to and it exists, refuse to start over
    an unfinished one when not asked to, else start fresh."""
    if resume and path.is_file():
        state = load_checkpoint(path, config, model, optimizer)
        print(f"resuming {path} after epoch {state.epoch}")
        return state
    if not resume:
        check_fresh_start(path)
    return RunState()
