"""Training dynamics: every image's probability of its true label and correctness, epoch by epoch.

Taken from the forward passes the trainer makes anyway, so they cost no extra pass: the training
images from the training step's logits (augmented, bf16 with `amp`, by the weights of the moment
the image's batch was seen), as dataset cartography (Swayamdipta et al. 2020) and forgetting
events (Toneva et al. 2019) measure them, and the test images from each epoch's test pass (the
last in fp32, the exported model's answers). Rows are in dataset order whatever the batch order.
Kept in the checkpoint, so a resumed run writes the same `RUN/dynamics.npz` at the end of training
(docs/run-folder.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from fmnist_common.artifacts import atomic_path
from trainer.data import Split

# The arrays of `dynamics.npz`, each (epochs, images): float16 probabilities, bool correctness.
ARRAYS = ("train_true_probability", "train_correct", "test_true_probability", "test_correct")


class EpochRecord:
    """One epoch's logits of one split, written in place batch by batch (one indexed copy per step,
    no host sync) and reduced to the per-image values in one vectorised pass when the epoch is done."""

    def __init__(self, split: Split) -> None:
        self.labels = split.labels  # (N,) on the device
        self.logits = torch.empty(len(split.labels), len(split.class_names), device=split.labels.device)  # (N, C)

    def store(self, rows: torch.Tensor | slice, logits: torch.Tensor) -> None:
        """Keep a batch's (B, C) logits at `rows`, its dataset positions (bf16 upcasts exactly to fp32,
        so the argmax is the one the accuracy counted)."""
        self.logits[rows] = logits.detach().float()

    def true_probability(self) -> torch.Tensor:
        """(N,) float16 softmax probability of each image's true label, computed in fp32."""
        return self.logits.softmax(1).gather(1, self.labels[:, None]).squeeze(1).half()

    def correct(self) -> torch.Tensor:
        """(N,) bool: argmax == label."""
        return self.logits.argmax(1) == self.labels


@dataclass
class Dynamics:
    """The epochs recorded so far, on the CPU: each list holds one (N,) tensor per epoch."""

    rows: dict[str, list[torch.Tensor]] = field(default_factory=lambda: {name: [] for name in ARRAYS})

    def append(self, train: EpochRecord, test: EpochRecord) -> None:
        """Keep one finished epoch's per-image values, on the CPU."""
        values = (train.true_probability(), train.correct(), test.true_probability(), test.correct())
        for name, value in zip(ARRAYS, values, strict=True):
            self.rows[name].append(value.cpu())

    def to_checkpoint(self) -> dict[str, torch.Tensor]:
        """(epochs, N) tensors under the `dynamics.npz` names, for `checkpoint.pt`."""
        return {name: torch.stack(values) for name, values in self.rows.items()}

    @classmethod
    def from_checkpoint(cls, checkpoint: dict) -> Dynamics:
        return cls({name: list(checkpoint[name].unbind(0)) for name in ARRAYS})

    def save(self, path: Path) -> None:
        """Write `dynamics.npz` atomically: a reader never sees a partial file."""
        arrays = {name: value.numpy() for name, value in self.to_checkpoint().items()}
        with atomic_path(path) as tmp:
            np.savez(tmp, **arrays)
