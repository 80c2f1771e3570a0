"""What the analysis reads, read once: the model's answers on the test set, and the training
run's snapshots and history when given.

Every subject module receives these objects; none of them opens the model or a run file itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analyzer import metrics
from analyzer.onnx_model import LoadedModel, infer


class RunFileError(ValueError):
    """A training-run file (snapshots, history) is unreadable or belongs to another model."""


@dataclass(frozen=True)
class Evaluation:
    """The test set and the model's outputs on it."""

    class_names: list[str]
    images: np.ndarray  # (N, 28, 28) uint8
    labels: np.ndarray  # (N,) int64 true classes
    logits: np.ndarray  # (N, C) float32
    coords: np.ndarray  # (N, D) float32 bottleneck
    probabilities: np.ndarray  # (N, C) float64 softmax
    predictions: np.ndarray  # (N,) int64
    inference_seconds: float

    @property
    def confidence(self) -> np.ndarray:
        """(N,) probability of the predicted class."""
        return self.probabilities[np.arange(len(self.labels)), self.predictions]

    @property
    def accuracy(self) -> float:
        return float((self.predictions == self.labels).mean())


def evaluate(model: LoadedModel, images: np.ndarray, labels: np.ndarray, batch_size: int) -> Evaluation:
    """Run the model over the test set (onnxruntime) and derive probabilities and predictions."""
    logits, coords, seconds = infer(model, images, batch_size)
    probabilities = metrics.softmax(logits)
    return Evaluation(model.class_names, images, labels, logits, coords, probabilities,
                      probabilities.argmax(axis=1), seconds)


@dataclass(frozen=True)
class Snapshots:
    """The bottleneck of fixed test images at the trainer's snapshot steps (`snapshots.npz`)."""

    indices: np.ndarray  # (P,) test indices of the probe images
    labels: np.ndarray  # (P,)
    steps: np.ndarray  # (F,) optimiser step of each frame
    epochs: np.ndarray  # (F,)
    coords: np.ndarray  # (F, P, D)
    info_labels: np.ndarray | None  # (M,) the information subset, when recorded
    info_coords: np.ndarray | None  # (F, M, D)

    @property
    def probes_per_class(self) -> int:
        return int(np.bincount(self.labels).max())

    @property
    def info_per_class(self) -> int | None:
        return None if self.info_labels is None else int(np.bincount(self.info_labels).max())


def read_snapshots(path: Path, class_names: list[str], dim: int) -> Snapshots:
    """`snapshots.npz`, checked against the model it is analysed with."""
    try:
        with np.load(path) as snap:
            names = [str(n) for n in snap["class_names"]]
            info = "info_coords" in snap.files
            result = Snapshots(
                snap["indices"], snap["labels"], snap["steps"], snap["epochs"], snap["coords"],
                snap["info_labels"] if info else None, snap["info_coords"] if info else None,
            )
    except (OSError, ValueError, KeyError) as exc:
        raise RunFileError(f"{path} is not a snapshots file written by the trainer ({exc})") from exc
    if names != class_names:
        raise RunFileError(f"{path} names classes {names}, the model {class_names}; pass the run's own snapshots")
    if result.coords.ndim != 3 or result.coords.shape[2] != dim or len(result.coords) != len(result.steps):
        raise RunFileError(
            f"{path} holds coordinates of shape {list(result.coords.shape)}; expected [frames, images, {dim}] "
            "for this model's bottleneck"
        )
    return result


def read_history(path: Path) -> list[dict]:
    """`history.json`: one row per epoch with the keys the training curves plot."""
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunFileError(f"{path} is not readable JSON ({exc})") from exc
    wanted = {"epoch", "train_loss", "test_loss", "train_accuracy", "test_accuracy", "seconds"}
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) and wanted <= r.keys() for r in rows):
        raise RunFileError(f"{path} is not a training history (a list of epochs with {sorted(wanted)})")
    return rows
