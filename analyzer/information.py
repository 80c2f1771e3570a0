"""Mutual information between the bottleneck T, the input X and the label Y, per snapshot.

Two estimators, both on the information subset recorded by the trainer (1,000 test images, 100 per
class), both in bits:

- Binning (Shwartz-Ziv & Tishby 2017): each unit of T is cut into `BINS` equal-width bins spanning
  that snapshot's data range, and T becomes a discrete variable. The network is deterministic and
  every image is distinct, so I(T;X) = H(T_binned) and I(T;Y) = H(T_binned) - H(T_binned | Y).
  Both are bounded by log2 of the sample size, and I(T;Y) by H(Y) = log2 10.
- Pairwise-distance KDE (Kolchinsky & Tracey 2017, as used by Saxe et al. 2018): T plus
  Gaussian noise of variance `NOISE_VARIANCE`, with T first scaled to unit mean variance per unit
  at each snapshot (the bottleneck's scale grows a hundredfold during training, and a fixed noise
  would measure that growth rather than the arrangement of the points).
  I(T;X) <= -mean_i log mean_j exp(-|t_i - t_j|^2 / 2 s^2) is an upper bound; I(T;Y) is that
  minus the same quantity averaged within each class, weighted by the class frequencies: a
  difference of two bounds, an estimate rather than a bound.

Writes `information_plane.png` and `information_curves.png`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.colors import LogNorm

from analyzer.figures import plt, save_figure
from analyzer.inputs import Inputs, Subject

BINS = 30
NOISE_VARIANCE = 0.1
COMPRESSION_FALL = 0.05  # relative rise, then fall, of I(T;X) that counts as fitting, then compression
LN2 = np.log(2.0)
FIGURES = {"information_plane": "information_plane.png", "information_curves": "information_curves.png"}


def entropy_bits(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum())


def binned(points: np.ndarray, bins: int) -> np.ndarray:
    """Integer code of each point's bin, bins equal-width over each unit's range in `points`.

    Codes number the occupied cells only (at most N of them), so any width D works: the full
    grid has bins**D cells, more than an int64 can count once D reaches 13 at 30 bins.
    """
    low, high = points.min(axis=0), points.max(axis=0)
    width = np.where(high > low, (high - low) / bins, 1.0)
    cells = np.clip(((points - low) / width).astype(np.int64), 0, bins - 1)  # (N, D)
    return np.unique(cells, axis=0, return_inverse=True)[1].ravel()


def binning_estimate(points: np.ndarray, labels: np.ndarray, bins: int = BINS) -> tuple[float, float]:
    """(I(T;X), I(T;Y)) in bits by binning."""
    codes = binned(points, bins)
    h_t = entropy_bits(np.unique(codes, return_counts=True)[1])
    h_t_given_y = sum(
        np.mean(labels == y) * entropy_bits(np.unique(codes[labels == y], return_counts=True)[1])
        for y in np.unique(labels)
    )
    return h_t, h_t - h_t_given_y


def kde_term(points: np.ndarray, variance: float) -> float:
    """-mean_i log mean_j exp(-|t_i - t_j|^2 / (2 variance)), in nats."""
    squared = (points**2).sum(axis=1)
    distances = np.maximum(squared[:, None] + squared[None, :] - 2 * points @ points.T, 0.0)
    logits = -distances / (2 * variance)
    peak = logits.max(axis=1, keepdims=True)
    log_mean = peak[:, 0] + np.log(np.exp(logits - peak).mean(axis=1))
    return float(-log_mean.mean())


def kde_estimate(points: np.ndarray, labels: np.ndarray, variance: float = NOISE_VARIANCE) -> tuple[float, float]:
    """(I(T;X), I(T;Y)) in bits: the pairwise-distance upper bound on standardised points."""
    t = points.astype(np.float64)
    t /= np.sqrt(t.var(axis=0).mean()) or 1.0
    i_tx = kde_term(t, variance)
    within = sum(np.mean(labels == y) * kde_term(t[labels == y], variance) for y in np.unique(labels))
    return i_tx / LN2, (i_tx - within) / LN2


def phases(i_tx: list[float], threshold: float = COMPRESSION_FALL) -> dict:
    """Where I(T;X) rises and falls: its maximum, the minimum before it, the minimum after it.

    The rise is measured from the preceding minimum, not from the first snapshot, and the fall to
    the later minimum, not to the last: a curve that dips before it rises (fitting after a short
    collapse) or recovers after it falls would otherwise be judged by the wrong points. Both are
    relative to the maximum. A compression *phase* follows a fitting phase: both must exceed
    `threshold`.
    """
    values = np.asarray(i_tx, dtype=np.float64)
    peak = int(np.argmax(values))
    before = int(np.argmin(values[: peak + 1]))
    after = peak + int(np.argmin(values[peak:]))
    top = values[peak]
    rise = float((top - values[before]) / top) if top > 0 else 0.0
    fall = float((top - values[after]) / top) if top > 0 else 0.0
    return {"peak_frame": peak, "rise_from_frame": before, "fall_to_frame": after,
            "rise_to_peak": rise, "fall_after_peak": fall,
            "compression": bool(rise > threshold and fall > threshold)}


def verdict(estimate: dict, steps: list[int], threshold: float = COMPRESSION_FALL) -> str:
    """The page's sentence on fitting and compression, built from the curve's own extremes so that
    it names the points a reader finds on the figure."""
    i_tx = estimate["i_tx"]
    low, peak, end = estimate["rise_from_frame"], estimate["peak_frame"], estimate["fall_to_frame"]
    rise, fall = estimate["rise_to_peak"], estimate["fall_after_peak"]
    limit = f"{threshold:.0%}"
    if rise == 0 and fall == 0:
        return f"I(T;X) stays at {i_tx[0]:.2f} bits throughout: no fitting and no compression phase."
    if peak == low:
        text = f"I(T;X) starts at its maximum, {i_tx[peak]:.2f} bits at step {steps[peak]:,}"
    else:
        text = (f"I(T;X) rose from {i_tx[low]:.2f} bits at step {steps[low]:,} to {i_tx[peak]:.2f} bits at step "
                f"{steps[peak]:,} (by {rise:.1%} of that maximum)")
    if peak == len(i_tx) - 1:
        text += " and was still at its maximum at the end"
    else:
        text += f", then fell {fall:.1%} to {i_tx[end]:.2f} bits at step {steps[end]:,}"
        if end != len(i_tx) - 1:
            text += f" (and ended at {i_tx[-1]:.2f} bits)"
    if estimate["compression"]:
        return text + f". A rise then a fall of more than {limit} each: a compression phase appears in this estimate."
    if rise > threshold:
        return text + f". The fall is not more than {limit}: no compression phase in this estimate."
    before = "No rise precedes the fall" if peak == low else f"The rise is not more than {limit}"
    return text + f". {before}, so the fitting-then-compression phases do not appear in this estimate."


def information_plane(coords: np.ndarray, labels: np.ndarray, bins: int = BINS,
                      variance: float = NOISE_VARIANCE) -> dict:
    """Both estimates at every snapshot of coords (F, N, D), and the `phases` of each I(T;X) curve."""
    rows = {"binning": [], "kde": []}
    for frame in coords:
        rows["binning"].append(binning_estimate(frame, labels, bins))
        rows["kde"].append(kde_estimate(frame, labels, variance))
    images, dim = coords.shape[1], coords.shape[2]
    result = {
        "images": int(images),
        "dim": int(dim),
        "bins": bins,
        "noise_variance": variance,
        "h_y_bits": entropy_bits(np.bincount(labels)),
        # binning's I(T;X) is the entropy of at most min(N, bins**D) distinct cells
        "binning_ceiling_bits": float(min(np.log2(images), dim * np.log2(bins))),
    }
    for name, values in rows.items():
        i_tx = [v[0] for v in values]
        result[name] = {"i_tx": i_tx, "i_ty": [v[1] for v in values], **phases(i_tx)}
    result["compression_threshold"] = COMPRESSION_FALL
    return result


ESTIMATORS = (("binning", "binning"), ("kde", "KDE"))
RING = "#555555"  # under each point of the plane: dark on white, light (mirrored) on the dark scheme


def plane_figure(plane: dict, steps: list[int], path: Path) -> None:
    """I(T;Y) against I(T;X) per snapshot, one panel per estimator, coloured by the optimiser step
    on a log scale: most snapshots fall in the first epoch, which a colour by epoch squeezes into
    one shade. Step 0 has no logarithm and takes the colour of step 1. Each point sits on a slightly
    larger grey disc, a ring that the dark variant turns light (see `figures.darken`): the earliest,
    darkest points would otherwise vanish into the dark scheme's background."""
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 4.2))
    for ax, (key, title) in zip(axes, ESTIMATORS, strict=True):
        x, y = plane[key]["i_tx"], plane[key]["i_ty"]
        ax.plot(x, y, color="#bbbbbb", lw=0.8, zorder=1)
        ax.scatter(x, y, color=RING, s=44, linewidths=0, zorder=2)
        points = ax.scatter(x, y, c=np.maximum(steps, 1), cmap="viridis", norm=step_norm(steps), s=14, linewidths=0,
                            zorder=3)
        ax.axhline(plane["h_y_bits"], color="k", ls=":", lw=0.8)
        ax.set(xlabel="I(T;X) (bits)", ylabel="I(T;Y) (bits)", title=f"Information plane, {title}")
        ax.grid(alpha=0.3)
    fig.colorbar(points, ax=axes, label="optimiser step (log scale; step 0 shown as 1)", fraction=0.03, pad=0.02)
    save_figure(fig, path)


def step_norm(steps: list[int]) -> LogNorm:
    """Log colour scale over the snapshots' steps, from step 1 (standing in for step 0) up."""
    return LogNorm(vmin=1, vmax=max(max(steps), 2))


def curves_figure(plane: dict, steps: list[int], path: Path) -> None:
    """I(T;X) and I(T;Y) against the optimiser step, both estimators."""
    fig, (tx_ax, ty_ax) = plt.subplots(1, 2, figsize=(10.5, 3.8))
    for key, title in ESTIMATORS:
        tx_ax.plot(steps, plane[key]["i_tx"], "o-", ms=2.5, label=title)
        ty_ax.plot(steps, plane[key]["i_ty"], "o-", ms=2.5, label=title)
    ty_ax.axhline(plane["h_y_bits"], color="k", ls=":", lw=0.8, label="H(Y)")
    for ax, name in ((tx_ax, "I(T;X)"), (ty_ax, "I(T;Y)")):
        ax.set_xscale("symlog", linthresh=10)
        ax.set_xlim(left=0)
        ax.set(xlabel="optimiser step (log scale after 10)", ylabel=f"{name} (bits)", title=name)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    save_figure(fig, path)


def analyse(inputs: Inputs, out: Path) -> Subject:
    """Both figures under `out`; the page's block of results.json (None without snapshots, or when
    they hold no information subset). Its snapshots' steps and epochs are the bottleneck block's
    `animation`."""
    snapshots = inputs.snapshots
    if snapshots is None or snapshots.info_coords is None:
        return Subject(None)
    plane = information_plane(snapshots.info_coords, snapshots.info_labels, inputs.config.information_bins,
                              inputs.config.information_noise)
    plane["per_class"] = snapshots.info_per_class
    steps = snapshots.steps.tolist()
    for key, _ in ESTIMATORS:
        plane[key]["verdict"] = verdict(plane[key], steps)
    plane_figure(plane, steps, out / FIGURES["information_plane"])
    curves_figure(plane, steps, out / FIGURES["information_curves"])
    return Subject(plane, FIGURES)
