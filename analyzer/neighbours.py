"""Nearest training images: is a hard negative a model error, or an image that looks like the
class the model chose?

For every hard negative, its `k` nearest training images in pixel space (Euclidean distance
between the raw pixel vectors, pixels scaled to [0, 1]) and in the bottleneck (the model run over
the training images, see `train_points`). A hard negative is flagged "ambiguous or possibly
mislabelled" when at least `threshold` of its k pixel neighbours carry the predicted class: a
statement of what was measured, not a verdict. The threshold is chosen against a base rate: the
same rule on correctly classified test images (at least `threshold` pixel neighbours sharing one
class other than the image's own) fires for at most BASE_RATE_LIMIT of them. That base rate is
measured on the near-copy subject's sample (every 10th test image, whose neighbours it finds
anyway; see `near_copies`). The block lists one row per hard negative, by test index; the
hard-negatives page joins them with its own rows. Thumbnails go under `neighbours/`. Skipped,
with a note, when the training files are not in the data folder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from analyzer import figures, hard_negatives, train_points
from analyzer.inputs import Inputs, Subject, TrainSet, as_vectors

CHUNK = 500  # queries per distance block: 500 x 60,000 float32 = 120 MB
MAX_K = 10  # the most neighbours per image: a page row of thumbnails (and 4k exact candidates per query)
BASE_RATE_LIMIT = 0.01  # the flag's threshold: the smallest count firing for at most 1% of correct images


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


def most_of_one_other_class(neighbour_labels: np.ndarray, own: np.ndarray, classes: int) -> np.ndarray:
    """(Q,) the largest number of each row's k neighbour labels (Q, k) that share one class other
    than the row's own label `own` (Q,)."""
    counts = np.zeros((len(own), classes), np.int64)
    np.add.at(counts, (np.repeat(np.arange(len(own)), neighbour_labels.shape[1]), neighbour_labels.ravel()), 1)
    counts[np.arange(len(own)), own] = 0
    return counts.max(axis=1)


def base_rates(other_class_counts: list[int]) -> list[float | None]:
    """For t = 1 ... k, the share of correct sample images with at least t pixel neighbours of one
    other class, from the histogram of those counts (index 0 ... k); None when the sample has none."""
    histogram = np.array(other_class_counts, dtype=np.int64)
    total = int(histogram.sum())
    return [float(histogram[t:].sum() / total) if total else None for t in range(1, len(histogram))]


def flag_rule(sample: dict, k: int) -> dict:
    """The threshold count and its base rate, from the near-copy subject's `sample_neighbours`."""
    rates = base_rates(sample["other_class_counts"])
    threshold = next((t for t, rate in enumerate(rates, start=1) if rate is not None and rate <= BASE_RATE_LIMIT), k)
    return {
        "rule": f"at least {threshold} of the {k} nearest training images in pixel space carry the predicted class",
        "threshold": threshold,
        "base_rate": rates[threshold - 1],
        "base_rate_limit": BASE_RATE_LIMIT,
        "base_rate_rule": f"at least {threshold} of the {k} share one class other than the image's own label",
        "base_rate_count": int(sum(sample["other_class_counts"][threshold:])),
        "base_rate_images": int(sum(sample["other_class_counts"])),  # correctly classified, in the sample
        "sample_every": sample["sample_every"],
        "base_rate_by_threshold": rates,  # t = 1 ... k
        "majority": k // 2 + 1,
    }


def analyse(inputs: Inputs, out: Path) -> Subject:
    """The nearest training images of every hard negative (from the hard negatives' block: their
    test indices), in pixels and in the bottleneck; the thumbnails under `out`."""
    train, ev, k = inputs.train, inputs.evaluation, inputs.config.neighbours
    if train is None:
        return Subject(train_points.absent(inputs.config.data))
    train_coords, seconds = train_points.training_points(inputs.model, train.images, train.sha256,
                                                         inputs.config.batch_size, inputs.previous, out)
    names = ev.class_names
    flag = flag_rule(inputs.blocks["near_copies"]["sample_neighbours"], k)
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
                "ambiguous": agreeing >= flag["threshold"],  # stands out against the base rate
                "majority": agreeing > k / 2,  # the older, looser rule, for comparison
            })
    flag["flagged"] = sum(row["ambiguous"] for row in rows)
    flag["majority_flagged"] = sum(row["majority"] for row in rows)
    return Subject({
        "available": True,
        "k": k,
        "train_images": int(len(train.labels)),
        "train_sha256": train.sha256,
        "train_inference_seconds": seconds,  # null: the points were reused (see train_points)
        "distance": "Euclidean between pixel vectors in [0, 1] (784 values)",
        "ambiguous_rule": flag["rule"],
        "flag": flag,
        "hard_negatives": rows,
    })
