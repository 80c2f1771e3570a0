"""The confusion page's subject: the matrix, per-class metrics, the most confused pairs, the
matrix figure, and which test images fill each cell.

Conventions follow scikit-learn: rows = true class, columns = predicted class; precision, recall
and F1 are 0 where their denominator is 0. Writes `confusion_matrix.png` and `confusion/cells.js`
(one `window.CONFUSION_CELLS = {...}` assignment: the class names, the test indices of every cell,
each image's top-3 classes and, with `--dynamics`, its history over training, for the page's cell
gallery; a script file so the page also works from the file system).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from matplotlib.colors import LinearSegmentedColormap

from analyzer import metrics
from analyzer.figures import DARK_BG, plain, plt, readable_on, save_figure
from analyzer.inputs import Dynamics, Inputs, Subject, history_summary
from fmnist_common.artifacts import write_bytes

FIGURES = {"confusion_matrix": "confusion_matrix.png"}
CELLS = "confusion/cells.js"
TOP = 3  # classes listed per image in the gallery
# the full colour of each scale in the dark variant: the dark scheme's colours of the page's table
# (report.css), bright enough that black counts stand out on the strongest cells
DARK_FULL = {"diagonal": "#6baed6", "errors": "#fd8d3c"}


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> np.ndarray:
    """(C, C) int64 counts; entry [t, p] counts images of true class t predicted as p."""
    flat = labels.astype(np.int64) * num_classes + predictions.astype(np.int64)
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def per_class_metrics(counts: np.ndarray, class_names: list[str]) -> list[dict]:
    """Precision, recall, F1 and support of every class, in index order."""
    true_positive = np.diag(counts).astype(np.float64)
    predicted = counts.sum(axis=0)
    support = counts.sum(axis=1)
    rows = []
    for c, name in enumerate(class_names):
        precision = true_positive[c] / predicted[c] if predicted[c] else 0.0
        recall = true_positive[c] / support[c] if support[c] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append(
            {"class": name, "precision": precision, "recall": recall, "f1": f1, "support": int(support[c])}
        )
    return rows


def most_confused(counts: np.ndarray, class_names: list[str], top: int = 10) -> list[dict]:
    """The largest off-diagonal cells (true -> predicted), largest first, ties in index order; each
    with its row and column, so the pages link to the cell (`confusion.html#cell-T-P`)."""
    cells = [
        (int(counts[t, p]), t, p)
        for t in range(len(counts))
        for p in range(len(counts))
        if t != p and counts[t, p] > 0
    ]
    cells.sort(key=lambda cell: (-cell[0], cell[1], cell[2]))
    return [
        {"true_class": class_names[t], "predicted_class": class_names[p], "count": n, "cell": [t, p]}
        for n, t, p in cells[:top]
    ]


def overlapping_pairs(counts: np.ndarray, class_names: list[str], top: int = 3) -> list[dict]:
    """Unordered class pairs by images of either that land in the other's region, largest first; with
    the two class indices (lower first), since class names need not be unique."""
    pairs = []
    for a in range(len(counts)):
        for b in range(a + 1, len(counts)):
            total = int(counts[a, b] + counts[b, a])
            if total:
                pairs.append((total, a, b))
    pairs.sort(key=lambda pair: (-pair[0], pair[1], pair[2]))
    return [{"classes": [class_names[a], class_names[b]], "indices": [a, b], "count": n} for n, a, b in pairs[:top]]


def cell_members(labels: np.ndarray, predictions: np.ndarray, confidence: np.ndarray, num_classes: int):
    """Test indices of every cell [t][p]: most confident first off the diagonal (the worst
    mistakes), least confident first on it (the narrowest escapes); ties in test-set order."""
    cells = [[[] for _ in range(num_classes)] for _ in range(num_classes)]
    for t in range(num_classes):
        for p in range(num_classes):
            members = np.flatnonzero((labels == t) & (predictions == p))
            key = -confidence[members] if t != p else confidence[members]
            cells[t][p] = members[np.lexsort((members, key))].tolist()
    return cells


def histories(dynamics: Dynamics) -> dict:
    """Every test image's history over training, compactly: the distinct `history_summary`
    sentences, and per test image the index of its own (a few hundred sentences for 10,000 images)."""
    right = dynamics.test_correct  # (E, N) bool
    epochs = len(right)
    count = right.sum(axis=0)
    first = np.where(count > 0, right.argmax(axis=0) + 1, 0)  # 1-based epochs; 0: never right
    last = np.where(count > 0, epochs - right[::-1].argmax(axis=0), 0)
    keys, of = np.unique(np.stack([count, first, last], axis=1), axis=0, return_inverse=True)
    summaries = [history_summary(epochs, int(n), int(f) or None, int(la) or None) for n, f, la in keys]
    return {"summaries": summaries, "of": of.ravel().tolist()}


def shading(counts: np.ndarray) -> tuple[np.ndarray, float]:
    """Each cell's shade in [0, 1], and the largest off-diagonal share of a row.

    The diagonal is shaded by its share of the row; the off-diagonal cells by their share of the
    row over the largest off-diagonal share, so the worst confusion gets the full colour. On one
    scale the errors, a few percent of a row, would all look like zero beside the diagonal.
    """
    shares = metrics.row_normalised(counts)
    diagonal = np.eye(len(counts), dtype=bool)
    largest = float(shares[~diagonal].max()) if (~diagonal).any() else 0.0
    shade = np.where(diagonal, shares, shares / largest if largest > 0 else 0.0)
    return shade, largest


def figure(counts: np.ndarray, class_names: list[str], accuracy: float, path: Path) -> None:
    """Counts in every cell; the diagonal shaded in blue by its share of the row, the errors in
    orange on their own scale up to the largest off-diagonal share (see `shading`). Each count is
    white or black by the colour of its cell, in the dark variant too."""
    shares = metrics.row_normalised(counts)
    largest = shading(counts)[1]
    diagonal = np.eye(len(counts), dtype=bool)
    size = 1.2 + 0.62 * len(class_names)
    fig, ax = plt.subplots(figsize=(size + 2.4, size))
    image = ax.imshow(np.ma.masked_where(~diagonal, shares), cmap="Blues", vmin=0, vmax=1)
    errors = ax.imshow(np.ma.masked_where(diagonal, shares), cmap="Oranges", vmin=0, vmax=largest or 1)
    ticks = np.arange(len(class_names))
    labels = [plain(name) for name in class_names]
    ax.set_xticks(ticks, labels, rotation=40, ha="right")
    ax.set_yticks(ticks, labels)
    ax.set_xlabel("Predicted class")
    ax.set_ylabel("True class")
    digits = [(ax.text(p, t, str(counts[t, p]), ha="center", va="center", fontsize=8), t, p)
              for t in ticks for p in ticks]

    def colour_digits() -> None:  # white or black by the cell's colour, from the images' current colour maps
        for text, t, p in digits:
            text.set_color(readable_on((image if t == p else errors).to_rgba(shares[t, p])))

    colour_digits()

    def dark_cells() -> None:  # after `darken`: the table's dark colours, then each count's colour again
        for name, shown in (("diagonal", image), ("errors", errors)):
            shown.set_cmap(LinearSegmentedColormap.from_list(f"{name}_dark", [DARK_BG, DARK_FULL[name]]))
        colour_digits()

    # the first bar's pad is the gap the second one, placed between it and the matrix, fills
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.1, label="diagonal: share of the true class")
    fig.colorbar(errors, ax=ax, fraction=0.046, pad=0.03, label="off-diagonal: share of the true class")
    ax.set_title(f"Confusion matrix, test accuracy {accuracy:.2%} ({counts.sum():,} images)")
    save_figure(fig, path, after_darken=dark_cells)


def analyse(inputs: Inputs, out: Path) -> Subject:
    """The page's figure and cell data under `out`; its block of results.json."""
    ev = inputs.evaluation
    names = ev.class_names
    counts = confusion_matrix(ev.labels, ev.predictions, len(names))
    shade, largest = shading(counts)
    figure(counts, names, ev.accuracy, out / FIGURES["confusion_matrix"])
    top = metrics.top_class_indices(ev.probabilities, TOP)
    gallery = {
        "classNames": names,
        "cells": cell_members(ev.labels, ev.predictions, ev.confidence, len(names)),
        # per test image: its TOP most probable classes and their probabilities, most probable first
        "top": [[[int(c), round(float(ev.probabilities[i, c]), 4)] for c in row] for i, row in enumerate(top)],
        # per test image its history over training (dynamics.npz), or None without --dynamics
        "history": histories(inputs.dynamics) if inputs.dynamics is not None else None,
    }
    write_bytes(out / CELLS, ("window.CONFUSION_CELLS = " + json.dumps(gallery, separators=(",", ":")) + ";\n")
                .encode("utf-8"))
    return Subject({
        "matrix": {
            "class_names": names,
            "rows": "true class",
            "columns": "predicted class",
            "counts": counts.tolist(),
            "row_normalised": metrics.row_normalised(counts).tolist(),
            "shade": shade.tolist(),
            "largest_off_diagonal_share": largest,
            "cells_file": CELLS,
        },
        "per_class": per_class_metrics(counts, names),
        "most_confused": most_confused(counts, names),
        "overlapping_pairs": overlapping_pairs(counts, names),
    }, FIGURES)
