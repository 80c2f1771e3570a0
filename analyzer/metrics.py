"""Small numeric helpers more than one subject uses: nothing here draws or writes."""

from __future__ import annotations

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64, so reported probabilities do not round to 1.0 early."""
    z = logits.astype(np.float64)
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def row_normalised(counts: np.ndarray) -> np.ndarray:
    """Each row divided by its total (a row with no images stays 0)."""
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros(counts.shape, dtype=np.float64), where=totals > 0)


def top_class_indices(probabilities: np.ndarray, n: int = 3) -> np.ndarray:
    """(N, n) indices of each row's n most probable classes of (N, C) probabilities, most probable
    first, ties in class-index order: the one ranking of classes every page shows."""
    classes = np.broadcast_to(np.arange(probabilities.shape[1]), probabilities.shape)
    return np.lexsort((classes, -probabilities), axis=1)[:, :n]


def top_classes(probabilities: np.ndarray, class_names: list[str], n: int = 3) -> list[dict]:
    """The n most probable classes of one image (C,), with their probabilities."""
    order = top_class_indices(probabilities[None], n)[0]
    return [{"class": class_names[c], "probability": float(probabilities[c])} for c in order]


def pca_projection(points: np.ndarray, dims: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """(mean, components (dims, D)) of the principal axes of `points` (N, D)."""
    mean = points.mean(axis=0)
    _, _, vt = np.linalg.svd(points - mean, full_matrices=False)
    return mean, vt[:dims]


def fisher_ratio(points: np.ndarray, labels: np.ndarray) -> float | None:
    """Between-class over within-class spread of points (N, D): grows as classes separate.
    None when every class collapses to one point (the ratio is not finite)."""
    overall = points.mean(axis=0)
    between = within = 0.0
    for c in np.unique(labels):
        members = points[labels == c]
        centre = members.mean(axis=0)
        between += len(members) * float(((centre - overall) ** 2).sum())
        within += float(((members - centre) ** 2).sum())
    return between / within if within else None
