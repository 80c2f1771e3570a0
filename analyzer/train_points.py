"""The bottleneck points of the training images, kept between analyses.

The model's points of the 60,000 training images cost most of the analysis (the flip-averaged
model runs twice per image), so they are kept in `train_points.npz` with the model's and the
training files' sha256, and a rerun into the same folder with the same model and files reuses
them instead of running the model again. Also the block of a subject that compares test images
with training images when the training files are absent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from analyzer.onnx_model import LoadedModel, infer
from fmnist_common.artifacts import atomic_path
from fmnist_common.idx import files_folder

TRAIN_POINTS = "train_points.npz"


def training_points(model: LoadedModel, images: np.ndarray, train_sha256: str, batch_size: int,
                    previous: Path, out: Path) -> tuple[np.ndarray, float | None]:
    """The bottleneck points (N, D) of the training images and the seconds spent computing them
    (None when reused from `previous/train_points.npz`, written by an analysis of the same model
    and training files); written to `out/train_points.npz` either way."""
    coords, seconds = None, None
    try:
        with np.load(previous / TRAIN_POINTS) as cached:
            if (str(cached["model_sha256"]) == model.sha256 and str(cached["train_sha256"]) == train_sha256
                    and cached["coords"].shape == (len(images), model.bottleneck_dim)):
                coords = cached["coords"]
    except (OSError, KeyError, ValueError):  # absent or unreadable: compute them
        pass
    if coords is None:
        _, coords, seconds = infer(model, images, batch_size, "training images", "training image {}".format)
    with atomic_path(out / TRAIN_POINTS) as tmp:
        np.savez(tmp, coords=coords, model_sha256=model.sha256, train_sha256=train_sha256)
    return coords, seconds


def absent(data_dir: str) -> dict:
    """The block of a subject that needs the training files, when they are not in the data folder."""
    return {"available": False,
            "note": f"the training files are not in {files_folder(data_dir)}, so no training image is compared"}
