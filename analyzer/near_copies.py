"""Near-copies: test images that are almost a training image.

The distance from a test image to its nearest training image, over a sample of test images, has
one broad mode; test images far closer than that mode are near-copies of a training image. The
threshold is a fixed fraction of the sample's median distance, shown on the page over the
histogram. Every test image is then checked exactly against it, with cheap lower bounds (4x4
block means: |a - b| >= 4 |pool(a) - pool(b)|, and the norms of those) to skip most pairs.

The sample's nearest training images (`--neighbours` of them) also give the base rate of the
hard negatives' flag (see `neighbours.flag_rule`): for each correctly classified sample image, the
largest number of them sharing one class other than its own, as a histogram in the block.

Writes `near_copies.png` and the thumbnails of the closest pairs under `neighbours/`. Skipped,
with a note, when the training files are not in the data folder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from analyzer import figures, train_points
from analyzer.figures import plt, save_figure
from analyzer.inputs import Inputs, Subject, as_vectors
from analyzer.neighbours import CHUNK, most_of_one_other_class, nearest, neighbour_rows, squared_distances

FIGURES = {"near_copies": "near_copies.png"}
SAMPLE_EVERY = 10  # the histogram uses every 10th test image (1,000 of 10,000)
THRESHOLD_OF_MEDIAN = 0.25  # near-copy: closer than a quarter of the median nearest distance
POOL = 4  # block size of the lower bound's block means
SHOWN_PAIRS = 6


def block_means(vectors: np.ndarray) -> np.ndarray:
    """(N, 784) -> (N, 49): means of 4x4 pixel blocks, a contraction by 1/4 in Euclidean distance."""
    side = 28 // POOL
    return vectors.reshape(-1, side, POOL, side, POOL).mean(axis=(2, 4)).reshape(len(vectors), -1)


def pairs_within(test: np.ndarray, train: np.ndarray, threshold: float) -> list[tuple[int, int, float]]:
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


def write_test_thumbnail(image: np.ndarray, index: int, out: Path) -> str:
    relative = f"neighbours/test_{index}.png"
    figures.thumbnail(image, out / relative)
    return relative


def analyse(inputs: Inputs, out: Path) -> Subject:
    """The histogram and the closest pairs' thumbnails under `out`; the near-copy block."""
    train, ev = inputs.train, inputs.evaluation
    if train is None:
        return Subject(train_points.absent(inputs.config.data))
    names = ev.class_names
    train_vectors, test = train.vectors, as_vectors(ev.images)
    sample = np.arange(0, len(ev.images), SAMPLE_EVERY)
    k = inputs.config.neighbours
    sample_nearest, sample_distance = nearest(test[sample], train_vectors, k)  # (S, k), nearest first
    sample_distance = sample_distance[:, :1]
    right = ev.predictions[sample] == ev.labels[sample]
    other = most_of_one_other_class(train.labels[sample_nearest[right]], ev.labels[sample[right]], len(names))
    median = float(np.median(sample_distance))
    threshold = THRESHOLD_OF_MEDIAN * median
    pairs = pairs_within(test, train_vectors, threshold)
    histogram_figure(sample_distance[:, 0], threshold, out / FIGURES["near_copies"])
    shown = sorted(pairs, key=lambda pair: (pair[2], pair[0]))[:SHOWN_PAIRS]
    return Subject({
        "available": True,
        "train_images": int(len(train.labels)),
        "distance": "Euclidean between pixel vectors in [0, 1] (784 values)",
        "sample_every": SAMPLE_EVERY,
        "sample_images": int(len(sample)),
        "sample_median": median,
        "threshold_of_median": THRESHOLD_OF_MEDIAN,
        "threshold": threshold,
        "count": len(pairs),
        "sample_neighbours": {  # the base rate of the hard negatives' flag (neighbours.flag_rule)
            "k": k,
            "sample_every": SAMPLE_EVERY,
            "correct": int(right.sum()),
            # [n]: the correct sample images whose k pixel neighbours hold n, and no more, of one
            # class other than the image's own
            "other_class_counts": np.bincount(other, minlength=k + 1).tolist(),
        },
        "pairs": [
            {"test_index": t, "train_index": n, "distance": d,
             "test_label": names[ev.labels[t]], "train_label": names[train.labels[n]],
             "test_image": write_test_thumbnail(ev.images[t], t, out),
             "train_image": neighbour_rows(np.array([n]), np.array([d]), train, names, out)[0]["image"]}
            for t, n, d in shown
        ],
    }, FIGURES)
