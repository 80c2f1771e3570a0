"""Nearest training images: is a hard negative a model error, or an image that looks like the
class the model chose?

For every hard negative, its `k` nearest training images in pixel space (Euclidean distance
between the raw pixel vectors, pixels scaled to [0, 1]) and in the bottleneck (the model run over
the training images, see `train_points`). A hard negative whose pixel neighbours are mostly of the
predicted class is marked "ambiguous or possibly mislabelled": a statement of what was measured,
not a verdict. The block lists one row per hard negative, by test index; the hard-negatives page
joins them with its own rows. Thumbnails go under `neighbours/`. Skipped, with a note, when the
training files are not in the data folder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from analyzer import figures, hard_negatives, train_points
from analyzer.inputs import Inputs, Subject, TrainSet, as_vectors

CHUNK = 500  # queries per distance block: 500 x 60,000 float32 = 120 MB


def squared_distances(queries: np.ndarray, base: np.ndarray, base_norms: np.ndarray) -> np.ndarray:
    """(Q, B) squared Euclidean distances (float32 rounding: candidates only, not final values)."""
    block = queries @ base.T  # in place from here on: the block is the largest array of the analysis
    block *= -2.0
    block += (queries**2).sum(axis=1)[:, None]
    block += base_norms[None, :]
    return block


def nearest(queries: np.ndarray, base: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (Q, k) of the k nearest base rows to each query, nearest first (ties by index), and
    their distances recomputed exactly in float64."""
    norms = (base.astype(np.float64) ** 2).sum(axis=1)
    found = []
    for start in range(0, len(queries), CHUNK):
        block = squared_distances(queries[start : start + CHUNK], base, norms.astype(base.dtype))
        if k == 1:
            found.append(block.argmin(axis=1)[:, None])  # a single pass; its distance is recomputed exactly
        else:
            found.append(np.argpartition(block, min(4 * k, block.shape[1] - 1), axis=1)[:, : 4 * k])
    candidates = np.concatenate(found)
    exact = np.sqrt(((queries[:, None, :].astype(np.float64) - base[candidates].astype(np.float64)) ** 2).sum(-1))
    order = np.lexsort((candidates, exact), axis=1)[:, :k]
    return np.take_along_axis(candidates, order, 1), np.take_along_axis(exact, order, 1)


def neighbour_rows(indices: np.ndarray, distances: np.ndarray, train: TrainSet, names: list[str],
                   out: Path) -> list[dict]:
    """One row per neighbour, with its thumbnail written once under `out/neighbours/`."""
    rows = []
    for index, distance in zip(indices.tolist(), distances.tolist(), strict=True):
        relative = f"neighbours/train_{index}.png"
        if not (out / relative).exists():
            figures.thumbnail(train.images[index], out / relative)
        rows.append({"train_index": index, "label": names[train.labels[index]], "distance": distance,
                     "image": relative})
    return rows


def analyse(inputs: Inputs, out: Path) -> Subject:
    """The nearest training images of every hard negative (from the hard negatives' block: their
    test indices), in pixels and in the bottleneck; the thumbnails under `out`."""
    train, ev, k = inputs.train, inputs.evaluation, inputs.config.neighbours
    if train is None:
        return Subject(train_points.absent(inputs.config.data))
    train_coords, seconds = train_points.training_points(inputs.model, train.images, train.sha256,
                                                         inputs.config.batch_size, inputs.previous, out)
    names = ev.class_names
    queries = np.array(hard_negatives.test_indices(inputs.blocks["hard_negatives"]), dtype=np.int64)
    rows = []
    if len(queries):
        by_pixel = nearest(as_vectors(ev.images[queries]), train.vectors, k)
        by_bottleneck = nearest(ev.coords[queries], train_coords, k)
        for row, index in enumerate(queries.tolist()):
            pixel = neighbour_rows(*(a[row] for a in by_pixel), train, names, out)
            agreeing = sum(n["label"] == names[ev.predictions[index]] for n in pixel)
            rows.append({
                "test_index": index,
                "nearest_pixel": pixel,
                "nearest_bottleneck": neighbour_rows(*(a[row] for a in by_bottleneck), train, names, out),
                "pixel_neighbours_of_predicted_class": agreeing,
                "ambiguous": agreeing > k / 2,  # most pixel neighbours carry the predicted class
            })
    return Subject({
        "available": True,
        "k": k,
        "train_images": int(len(train.labels)),
        "train_sha256": train.sha256,
        "train_inference_seconds": seconds,  # null: the points were reused (see train_points)
        "distance": "Euclidean between pixel vectors in [0, 1] (784 values)",
        "ambiguous_rule": f"more than half of the {k} nearest training images in pixel space carry the predicted class",
        "hard_negatives": rows,
    })
