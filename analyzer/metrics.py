"""Numbers computed from the model's outputs on the test set: nothing here draws or writes.

Conventions follow scikit-learn: the confusion matrix has rows = true class and columns =
predicted class; precision, recall and F1 are 0 where their denominator is 0.
"""

from __future__ import annotations

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64, so reported probabilities do not round to 1.0 early."""
    z = logits.astype(np.float64)
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> np.ndarray:
    """(C, C) int64 counts; entry [t, p] counts images of true class t predicted as p."""
    flat = labels.astype(np.int64) * num_classes + predictions.astype(np.int64)
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def row_normalised(counts: np.ndarray) -> np.ndarray:
    """Each row divided by its total (a row with no images stays 0)."""
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros(counts.shape, dtype=np.float64), where=totals > 0)


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
    """The largest off-diagonal cells (true -> predicted), largest first, ties in index order."""
    cells = [
        (int(counts[t, p]), t, p)
        for t in range(len(counts))
        for p in range(len(counts))
        if t != p and counts[t, p] > 0
    ]
    cells.sort(key=lambda cell: (-cell[0], cell[1], cell[2]))
    return [
        {"true_class": class_names[t], "predicted_class": class_names[p], "count": n}
        for n, t, p in cells[:top]
    ]


def overlapping_pairs(counts: np.ndarray, class_names: list[str], top: int = 3) -> list[dict]:
    """Unordered class pairs by images of either that land in the other's region, largest first."""
    pairs = []
    for a in range(len(counts)):
        for b in range(a + 1, len(counts)):
            total = int(counts[a, b] + counts[b, a])
            if total:
                pairs.append((total, a, b))
    pairs.sort(key=lambda pair: (-pair[0], pair[1], pair[2]))
    return [{"classes": [class_names[a], class_names[b]], "count": n} for n, a, b in pairs[:top]]


def hard_negative_indices(
    labels: np.ndarray, predictions: np.ndarray, probabilities: np.ndarray, true_class: int, k: int
) -> tuple[np.ndarray, int]:
    """Test indices of the top-k misclassified images of `true_class` and how many there are.

    Ranked by the probability given to the (wrong) predicted class, highest first; equal
    probabilities keep test-set order. Never padded: fewer than k misses return fewer indices.
    """
    missed = np.flatnonzero((labels == true_class) & (predictions != true_class))
    confidence = probabilities[missed, predictions[missed]]
    order = np.lexsort((missed, -confidence))  # last key is primary
    return missed[order][:k], len(missed)


def top_classes(probabilities: np.ndarray, class_names: list[str], n: int = 3) -> list[dict]:
    """The n most probable classes of one image, most probable first (ties in index order)."""
    order = np.lexsort((np.arange(len(probabilities)), -probabilities))[:n]
    return [{"class": class_names[c], "probability": float(probabilities[c])} for c in order]


def fit_linear_head(coords: np.ndarray, logits: np.ndarray) -> dict:
    """Least-squares fit logits ~ coords @ W.T + b, and whether it is exact (the head is linear).

    The interface only promises a bottleneck and logits; if the layer between them is affine, the
    fit recovers it exactly (to float32 noise) and the decision regions in the bottleneck plane
    can be drawn for any such model without reading its graph.
    """
    design = np.hstack([coords.astype(np.float64), np.ones((len(coords), 1))])
    solution, *_ = np.linalg.lstsq(design, logits.astype(np.float64), rcond=None)
    residual = float(np.abs(design @ solution - logits).max())
    scale = float(np.abs(logits).max()) or 1.0
    return {
        "linear": residual <= 1e-3 * max(scale, 1.0),
        "max_residual": residual,
        "weight": solution[:-1].T.tolist(),  # (C, D)
        "bias": solution[-1].tolist(),  # (C,)
    }


def pca_projection(points: np.ndarray, dims: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """(mean, components (dims, D)) of the principal axes of `points` (N, D)."""
    mean = points.mean(axis=0)
    _, _, vt = np.linalg.svd(points - mean, full_matrices=False)
    return mean, vt[:dims]


def fisher_ratio(points: np.ndarray, labels: np.ndarray) -> float:
    """Between-class over within-class spread of points (N, D): grows as classes separate."""
    overall = points.mean(axis=0)
    between = within = 0.0
    for c in np.unique(labels):
        members = points[labels == c]
        centre = members.mean(axis=0)
        between += len(members) * float(((centre - overall) ** 2).sum())
        within += float(((members - centre) ** 2).sum())
    return between / within if within else float("inf")


def reliability(probabilities: np.ndarray, labels: np.ndarray, bins: int = 15) -> dict:
    """Reliability diagram and expected calibration error of the top-1 confidence.

    Confidence is the largest softmax probability; bins are `bins` equal-width intervals of
    [0, 1] (the last one closed). ECE = sum over bins of (share of images) x |accuracy - mean
    confidence|, as in Guo et al. 2017. Empty bins report None and do not count.
    """
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, confidence, side="right") - 1, 0, bins - 1)
    rows, ece = [], 0.0
    for b in range(bins):
        members = which == b
        count = int(members.sum())
        accuracy = float(correct[members].mean()) if count else None
        mean_confidence = float(confidence[members].mean()) if count else None
        if count:
            ece += count / len(labels) * abs(accuracy - mean_confidence)
        rows.append({"low": float(edges[b]), "high": float(edges[b + 1]), "count": count,
                     "correct": int(correct[members].sum()), "wrong": int((~correct[members]).sum()),
                     "accuracy": accuracy, "mean_confidence": mean_confidence})
    return {
        "bins": rows,
        "ece": ece,
        "confidence_minus_accuracy": float(confidence.mean() - correct.mean()),  # > 0: over-confident
        "mean_confidence_correct": float(confidence[correct].mean()) if correct.any() else None,
        "mean_confidence_wrong": float(confidence[~correct].mean()) if (~correct).any() else None,
    }
