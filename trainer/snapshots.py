"""Which test images are tracked in the bottleneck over training, and when.

The probe set is the first 10 test images of each class in test-set order: 100 images whose
bottleneck coordinates are recorded at step 0 and at the steps of `snapshot_steps`. Frames are
denser early, where the points move most: half of them are spaced geometrically from step 1, half
evenly over the run. At the same steps the information subset, the first 100 test images of each
class (1,000 images), is recorded too, for the information-plane estimates; it holds the probe
set, so one bf16 forward pass per snapshot gives both. The result,
`RUN/snapshots.npz`, feeds the analyzer's GIF, explorer replay and information plane.
"""

from __future__ import annotations

import numpy as np
import torch

PER_CLASS = 10
INFO_PER_CLASS = 100  # the information subset: the first 100 test images of each class


def probe_indices(labels: torch.Tensor, num_classes: int, per_class: int = PER_CLASS) -> torch.Tensor:
    """Test indices of the first `per_class` images of each class, grouped by class (0..9)."""
    chosen = []
    for label in range(num_classes):
        hits = torch.nonzero(labels == label).flatten()[:per_class]
        if len(hits) < per_class:
            raise ValueError(f"class {label} has only {len(hits)} test images, need {per_class}")
        chosen.append(hits)
    return torch.cat(chosen)


def rows_of(indices: torch.Tensor, within: torch.Tensor) -> torch.Tensor:
    """Positions in `within` of each of `indices` (all present): the probe set's rows in the
    information subset, which holds it."""
    position = {int(index): row for row, index in enumerate(within)}
    return torch.tensor([position[int(index)] for index in indices])


def snapshot_steps(total_steps: int, frames: int) -> list[int]:
    """About `frames` distinct steps in [0, total_steps]: half geometric from 1, half even."""
    half = max(frames // 2, 1)
    early = np.geomspace(1, max(total_steps, 1), half)
    even = np.linspace(0, total_steps, frames - half + 1)
    steps = np.unique(np.round(np.concatenate([[0], early, even])).astype(int))
    return [int(s) for s in steps if 0 <= s <= total_steps]


def save(path, *, indices, labels, steps, epochs, coords, class_names, info_indices, info_labels, info_coords) -> None:
    """Write the snapshot arrays (see docs/run-folder.md) to an open temp path."""
    np.savez(
        path,
        indices=np.asarray(indices, dtype=np.int64),  # (100,) test-set indices
        labels=np.asarray(labels, dtype=np.int64),  # (100,) true classes
        steps=np.asarray(steps, dtype=np.int64),  # (F,) global optimiser step of each frame
        epochs=np.asarray(epochs, dtype=np.float64),  # (F,) step / steps per epoch
        coords=np.asarray(coords, dtype=np.float32),  # (F, 100, D) bottleneck coordinates, bf16 forward
        class_names=np.asarray(class_names, dtype=str),  # (10,) in index order
        info_indices=np.asarray(info_indices, dtype=np.int64),  # (1000,) class-balanced test subset
        info_labels=np.asarray(info_labels, dtype=np.int64),  # (1000,)
        info_coords=np.asarray(info_coords, dtype=np.float32),  # (F, 1000, D), bf16 forward
    )
