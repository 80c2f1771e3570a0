"""Nearest training images: is a hard negative a model error, or an image that looks like the
class the model chose?

For every hard negative, its `k` nearest training images in pixel space (Euclidean distance
between the raw pixel vectors, pixels scaled to [0, 1]) and in the bottleneck (the model run over
the training images). A hard negative whose pixel neighbours are mostly of the predicted class is
marked "ambiguous or possibly mislabelled": a statement of what was measured, not a verdict.

Near-copies: the distance from a test image to its nearest training image, over a sample of test
images, has one broad mode; test images far closer than that mode are near-copies of a training
image. The threshold is a fixed fraction of the sample's median distance, shown on the page over
the histogram. Every test image is then checked exactly against it, with cheap lower bounds
(4x4 block means: |a - b| >= 4 |pool(a) - pool(b)|, and the norms of those) to skip most pairs.

The model's bottleneck points of the 60,000 training images cost most of the analysis (the
flip-averaged model runs twice per image), so they are kept in `train_points.npz` with the model's
and the training files' sha256, and a rerun into the same folder with the same model and files
reuses them instead of running the model again.

Writes `near_copies.png`, `train_points.npz` and thumbnails under `neighbours/`. Skipped, with a
note, when the training files are not in the data folder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from analyzer import figures
from analyzer.figures import plt, save_figure
from analyzer.inputs import Evaluation
from analyzer.onnx_model import LoadedModel, infer
from fmnist_common.artifacts import atomic_path
from fmnist_common.idx import files_folder, has_train_set, load_train_set

FIGURES = {"near_copies": "near_copies.png"}
TRAIN_POINTS = "train_points.npz"
SAMPLE_EVERY = 10  # the histogram uses every 10th test image (1,000 of 10,000)
THRESHOLD_OF_MEDIAN = 0.25  # near-copy: closer than a quarter of the median nearest distance
CHUNK = 500  # queries per distance block: 500 x 60,000 float32 = 120 MB
POOL = 4  # block size of the lower bound's block means
SHOWN_PAIRS = 6


def as_vectors(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28) uint8 -> (N, 784) float32 in [0, 1]."""
    vectors = images.reshape(len(images), -1).astype(np.float32)
    vectors *= 1 / 255
    return vectors


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


def block_means(vectors: np.ndarray) -> np.ndarray:
    """(N, 784) -> (N, 49): means of 4x4 pixel blocks, a contraction by 1/4 in Euclidean distance."""
    side = 28 // POOL
    return vectors.reshape(-1, side, POOL, side, POOL).mean(axis=(2, 4)).reshape(len(vectors), -1)


def near_copies(test: np.ndarray, train: np.ndarray, threshold: float) -> list[tuple[int, int, float]]:
    """Every (test index, train index, distance) with a training image within `threshold`, exact.

    Two lower bounds on the distance skip most pairs: the 4x4 block means (a contraction by 1/4),
    and, on those, the difference of the norms (triangle inequality). Test images are taken in
    order of their block-mean norm, so each chunk meets only the training images whose norms lie
    within reach of the chunk's own.
    """
    pooled_test, pooled_train = block_means(test), block_means(train)
    reach = threshold / POOL * (1 + 1e-3) + 1e-4  # slack for float32 rounding: never miss a pair
    limit = reach**2
    train_squares = (pooled_train**2).sum(axis=1)  # the distance blocks' norms, float32 like them
    test_norms = np.sqrt((pooled_test.astype(np.float64) ** 2).sum(axis=1))
    train_norms = np.sqrt(train_squares.astype(np.float64))
    test_order, train_order = np.argsort(test_norms), np.argsort(train_norms)
    sorted_train_norms = train_norms[train_order]
    pairs = []
    for start in range(0, len(test), CHUNK):
        rows = test_order[start : start + CHUNK]
        low, high = np.searchsorted(sorted_train_norms, [test_norms[rows[0]] - reach, test_norms[rows[-1]] + reach])
        within = train_order[low:high]
        bound = squared_distances(pooled_test[rows], pooled_train[within], train_squares[within])
        hits, cols = np.nonzero(bound <= limit)
        for hit in np.unique(hits):
            candidates = within[cols[hits == hit]]
            query = int(rows[hit])
            distance = np.sqrt(((train[candidates] - test[query]) ** 2).sum(axis=1, dtype=np.float64))
            best = int(np.lexsort((candidates, distance))[0])  # ties: the lowest training index
            if distance[best] < threshold:
                pairs.append((query, int(candidates[best]), float(distance[best])))
    return sorted(pairs)


def histogram_figure(distances: np.ndarray, threshold: float, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(8, 3.4))
    ax.hist(distances, bins=60, color="#4c72b0")
    ax.axvline(threshold, color="#c44e52", lw=1.5, label=f"near-copy threshold {threshold:.2f}")
    ax.set_yscale("log")
    ax.set(xlabel="distance to the nearest training image (pixels in [0, 1])", ylabel="test images (log scale)",
           title=f"Nearest training image of {len(distances):,} test images")
    ax.legend()
    fig.tight_layout()
    save_figure(fig, path)


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
        _, coords, seconds = infer(model, images, batch_size)
    with atomic_path(out / TRAIN_POINTS) as tmp:
        np.savez(tmp, coords=coords, model_sha256=model.sha256, train_sha256=train_sha256)
    return coords, seconds


def neighbour_rows(indices: np.ndarray, distances: np.ndarray, images: np.ndarray, labels: np.ndarray,
                   names: list[str], out: Path) -> list[dict]:
    """One row per neighbour, with its thumbnail written once under `out/neighbours/`."""
    rows = []
    for index, distance in zip(indices.tolist(), distances.tolist(), strict=True):
        relative = f"neighbours/train_{index}.png"
        if not (out / relative).exists():
            figures.thumbnail(images[index], out / relative)
        rows.append({"train_index": index, "label": names[labels[index]], "distance": distance, "image": relative})
    return rows


def analyse(model: LoadedModel, ev: Evaluation, hard_negatives: dict, k: int, batch_size: int,
            data_dir: str, previous: Path, out: Path) -> dict:
    """Add `nearest_pixel` and `nearest_bottleneck` to every hard negative; the near-copy block.

    `previous` is the analysis folder this one replaces, whose training-set points may be reused.
    """
    if not has_train_set(data_dir):
        return {"available": False,
                "note": f"the training files are not in {files_folder(data_dir)}, so no training image is compared"}
    images, labels, train_sha256 = load_train_set(data_dir)
    train, test = as_vectors(images), as_vectors(ev.images)
    train_coords, seconds = training_points(model, images, train_sha256, batch_size, previous, out)
    names = ev.class_names
    items = [item for cls in hard_negatives["classes"] for item in cls["items"]]
    if items:
        queries = np.array([item["test_index"] for item in items])
        by_pixel = nearest(test[queries], train, k)
        by_bottleneck = nearest(ev.coords[queries], train_coords, k)
        for row, item in enumerate(items):
            item["nearest_pixel"] = neighbour_rows(*(a[row] for a in by_pixel), images, labels, names, out)
            item["nearest_bottleneck"] = neighbour_rows(*(a[row] for a in by_bottleneck), images, labels, names, out)
            agreeing = sum(n["label"] == item["predicted_class"] for n in item["nearest_pixel"])
            item["pixel_neighbours_of_predicted_class"] = agreeing
            item["ambiguous"] = agreeing > k / 2  # most pixel neighbours carry the predicted class

    sample = np.arange(0, len(ev.images), SAMPLE_EVERY)
    _, sample_distance = nearest(test[sample], train, 1)
    median = float(np.median(sample_distance))
    threshold = THRESHOLD_OF_MEDIAN * median
    pairs = near_copies(test, train, threshold)
    histogram_figure(sample_distance[:, 0], threshold, out / FIGURES["near_copies"])
    shown = sorted(pairs, key=lambda pair: (pair[2], pair[0]))[:SHOWN_PAIRS]
    return {
        "available": True,
        "k": k,
        "train_images": int(len(labels)),
        "train_sha256": train_sha256,
        "train_inference_seconds": seconds,  # null: the points were reused (see training_points)
        "distance": "Euclidean between pixel vectors in [0, 1] (784 values)",
        "ambiguous_rule": f"more than half of the {k} nearest training images in pixel space carry the predicted class",
        "near_copies": {
            "sample_every": SAMPLE_EVERY,
            "sample_images": int(len(sample)),
            "sample_median": median,
            "threshold_of_median": THRESHOLD_OF_MEDIAN,
            "threshold": threshold,
            "count": len(pairs),
            "pairs": [
                {"test_index": t, "train_index": n, "distance": d,
                 "test_label": names[ev.labels[t]], "train_label": names[labels[n]],
                 "test_image": write_test_thumbnail(ev.images[t], t, out),
                 "train_image": neighbour_rows(np.array([n]), np.array([d]), images, labels, names, out)[0]["image"]}
                for t, n, d in shown
            ],
        },
    }


def write_test_thumbnail(image: np.ndarray, index: int, out: Path) -> str:
    relative = f"neighbours/test_{index}.png"
    figures.thumbnail(image, out / relative)
    return relative
