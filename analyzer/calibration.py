"""The calibration page's subject: how far the model's confidence can be trusted.

A reliability diagram over equal-width bins of the top-1 confidence, the expected calibration
error (Guo et al. 2017), and the confidence histograms of correct and misclassified predictions,
drawn into `calibration.png`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from analyzer.figures import plt, save_figure
from analyzer.inputs import Inputs, Subject

FIGURES = {"calibration": "calibration.png"}
OVER_COLOUR, UNDER_COLOUR = "#dd8452", "#8fd19e"
BINS = 15  # equal-width confidence bins, the usual choice since Guo et al. 2017
# bins of 1 percentage point: finer ones hold a handful of test images each, their bars merge in the
# figure, and the binning slows down (a million bins ran for over 5 minutes)
MAX_BINS = 100
WELL_CALIBRATED_ECE = 0.01  # an ECE under 1 percentage point reads as well calibrated
CONFIDENCE_GAP = 0.01  # mean confidence this far (1 percentage point) above/below accuracy: over/under-confident


def points(value: float) -> str:
    """A difference of two percentages, in percentage points: 0.0028 -> '0.28 percentage points'."""
    return f"{100 * value:.2f} percentage points"


def threshold_points(value: float) -> str:
    """A threshold in percentage points, as short as it is: 0.01 -> '1 percentage point'."""
    amount = f"{100 * value:g}"
    return f"{amount} percentage point{'' if amount == '1' else 's'}"


def calibration_verdict(ece: float, gap: float) -> str:
    """The page's sentence on calibration, judged by thresholds sized to the ECE and written in
    percentage points, the unit of a difference of two percentages (ECE is a mean such difference)."""
    quality = "well calibrated" if ece < WELL_CALIBRATED_ECE else "not well calibrated"
    side = "under" if ece < WELL_CALIBRATED_ECE else "at or above"
    text = (f"Expected calibration error {points(ece)}, {side} the {threshold_points(WELL_CALIBRATED_ECE)} threshold: "
            f"{quality}. On average the top-1 confidence is {points(abs(gap))} "
            f"{'above' if gap > 0 else 'below'} the accuracy, ")
    if gap > CONFIDENCE_GAP:
        return text + f"more than {threshold_points(CONFIDENCE_GAP)}: over-confident overall."
    if gap < -CONFIDENCE_GAP:
        return text + f"more than {threshold_points(CONFIDENCE_GAP)}: under-confident overall."
    return text + f"within {threshold_points(CONFIDENCE_GAP)}: neither over- nor under-confident overall."


def reliability(probabilities: np.ndarray, labels: np.ndarray, bins: int) -> dict:
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
    gap = float(confidence.mean() - correct.mean())  # > 0: over-confident
    return {
        "bins": rows,
        "ece": ece,
        "confidence_minus_accuracy": gap,
        "well_calibrated_ece": WELL_CALIBRATED_ECE,
        "confidence_gap_threshold": CONFIDENCE_GAP,
        "verdict": calibration_verdict(ece, gap),
        "mean_confidence_correct": float(confidence[correct].mean()) if correct.any() else None,
        "mean_confidence_wrong": float(confidence[~correct].mean()) if (~correct).any() else None,
    }


def figure(calibration: dict, path: Path) -> None:
    """Reliability diagram (accuracy per confidence bin against the diagonal) and the confidence
    histograms of correct and wrong predictions."""
    rows = calibration["bins"]
    lows = np.array([r["low"] for r in rows])
    width = rows[0]["high"] - rows[0]["low"]
    filled = np.array([r["count"] > 0 for r in rows])
    fig, (rel_ax, hist_ax) = plt.subplots(1, 2, figsize=(10, 4))
    accuracy = np.array([r["accuracy"] if r["count"] else 0.0 for r in rows])
    confidence = np.array([r["mean_confidence"] if r["count"] else 0.0 for r in rows])
    rel_ax.bar(lows[filled], accuracy[filled], width=width, align="edge", color="#4c72b0",
               edgecolor="white", label="accuracy")
    over, under = filled & (confidence > accuracy), filled & (confidence < accuracy)
    # the top of every blue bar is its bin's accuracy: an over-confident gap stands on it, filled;
    # an under-confident gap lies inside it, as hatching only, so the blue still reaches the accuracy
    rel_ax.bar(lows[over], (confidence - accuracy)[over], bottom=accuracy[over], width=width, align="edge",
               color=OVER_COLOUR, edgecolor="white", label="over-confident gap (confidence above accuracy)")
    rel_ax.bar(lows[under], (accuracy - confidence)[under], bottom=confidence[under], width=width, align="edge",
               facecolor="none", edgecolor=UNDER_COLOUR, linewidth=0, hatch="////", hatch_linewidth=1.5,
               label="under-confident gap (accuracy above confidence)")
    rel_ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect calibration")
    rel_ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence (top-1 probability)", ylabel="accuracy",
               title=f"Reliability, ECE {points(calibration['ece'])}")
    # below the axes: inside, any corner can hold a bar reaching 1 (a low-confidence bin all right)
    rel_ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=8, frameon=False)
    hist_ax.bar(lows, [r["correct"] for r in rows], width=width, align="edge", color="#4c72b0",
                alpha=0.7, label="correct")
    hist_ax.bar(lows, [r["wrong"] for r in rows], width=width, align="edge", color="#c44e52",
                alpha=0.7, label="misclassified")
    hist_ax.set_yscale("log")
    hist_ax.set(xlim=(0, 1), xlabel="confidence (top-1 probability)", ylabel="test images (log scale)",
                title="Confidence of correct and wrong predictions")
    hist_ax.legend(loc="upper left")
    fig.tight_layout()
    save_figure(fig, path)


def analyse(inputs: Inputs, out: Path) -> Subject:
    """The figure under `out`; the page's block of results.json."""
    ev = inputs.evaluation
    calibration = reliability(ev.probabilities, ev.labels, inputs.config.calibration_bins)
    figure(calibration, out / FIGURES["calibration"])
    return Subject(calibration, FIGURES)
