"""Static figures of the analysis: confusion matrix, bottleneck map, training curves, thumbnails.

Each function takes plain arrays and a destination path and writes one PNG atomically. Class
colours are matplotlib's tab10 in class-index order everywhere, legends use the model's class
names, and text stays readable at the site's content width (about 800 px).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from PIL import Image  # noqa: E402

from analyzer.artifacts import atomic_path  # noqa: E402

THUMBNAIL_SCALE = 4  # 28 px -> 112 px, nearest neighbour: pixels stay crisp on a web page
DPI = 110


def class_colours(count: int) -> list[tuple[float, float, float]]:
    cmap = plt.get_cmap("tab10" if count <= 10 else "tab20")
    return [to_rgb(cmap(i % cmap.N)) for i in range(count)]


def save_figure(fig: plt.Figure, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(fig)


def class_legend(ax: plt.Axes, class_names: list[str], **kwargs) -> None:
    colours = class_colours(len(class_names))
    handles = [
        Line2D([], [], marker="o", linestyle="", markersize=7, color=colours[i], label=name)
        for i, name in enumerate(class_names)
    ]
    ax.legend(handles=handles, **kwargs)


def confusion_figure(counts: np.ndarray, class_names: list[str], accuracy: float, path: Path) -> None:
    """Counts in every cell over row-normalised shading; true classes down, predictions across."""
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    size = 1.2 + 0.62 * len(class_names)
    fig, ax = plt.subplots(figsize=(size + 1.2, size))
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    ticks = np.arange(len(class_names))
    ax.set_xticks(ticks, class_names, rotation=40, ha="right")
    ax.set_yticks(ticks, class_names)
    ax.set_xlabel("Predicted class")
    ax.set_ylabel("True class")
    for t in ticks:
        for p in ticks:
            ax.text(p, t, str(counts[t, p]), ha="center", va="center", fontsize=8,
                    color="white" if shares[t, p] > 0.5 else "black")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the true class")
    ax.set_title(f"Confusion matrix, test accuracy {accuracy:.2%} ({counts.sum():,} images)")
    save_figure(fig, path)


def padded_limits(points: np.ndarray, margin: float = 0.06) -> tuple[tuple[float, float], tuple[float, float]]:
    """x and y limits holding every point of (..., 2) `points` with a relative margin."""
    flat = points.reshape(-1, 2)
    low, high = flat.min(axis=0), flat.max(axis=0)
    pad = (high - low) * margin + 1e-6
    return (float(low[0] - pad[0]), float(high[0] + pad[0])), (float(low[1] - pad[1]), float(high[1] + pad[1]))


def region_image(weight: np.ndarray, bias: np.ndarray, xlim, ylim, resolution: int = 400) -> np.ndarray:
    """(resolution, resolution) predicted class of the linear head over a grid of the plane."""
    xs = np.linspace(*xlim, resolution)
    ys = np.linspace(*ylim, resolution)
    gx, gy = np.meshgrid(xs, ys)
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
    return (grid @ np.asarray(weight).T + np.asarray(bias)).argmax(axis=1).reshape(resolution, resolution)


def bottleneck_map(
    points: np.ndarray,
    labels: np.ndarray,
    class_names: list[str],
    regions: np.ndarray | None,
    title: str,
    axis_labels: tuple[str, str],
    path: Path,
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Every test point coloured by true class, over the decision regions when known."""
    colours = np.array(class_colours(len(class_names)))
    xlim, ylim = padded_limits(points)
    fig, ax = plt.subplots(figsize=(8.2, 7))
    if regions is not None:
        tint = 1 - 0.22 * (1 - colours[regions])  # pale version of each class colour
        ax.imshow(tint, origin="lower", extent=(*xlim, *ylim), aspect="auto", interpolation="nearest")
    ax.scatter(points[:, 0], points[:, 1], s=2.5, c=colours[labels], alpha=0.6, linewidths=0, rasterized=True)
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    ax.set_xlabel(axis_labels[0])
    ax.set_ylabel(axis_labels[1])
    ax.set_title(title)
    class_legend(ax, class_names, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    save_figure(fig, path)
    return xlim, ylim


def training_curves(history: list[dict], path: Path) -> None:
    """Loss and accuracy per epoch, train (augmented batches) and test."""
    epochs = [row["epoch"] for row in history]
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 3.8))
    loss_ax.plot(epochs, [r["train_loss"] for r in history], "o-", ms=3, label="train")
    loss_ax.plot(epochs, [r["test_loss"] for r in history], "o-", ms=3, label="test")
    loss_ax.set(xlabel="epoch", ylabel="cross-entropy", title="Loss")
    acc_ax.plot(epochs, [100 * r["train_accuracy"] for r in history], "o-", ms=3, label="train")
    acc_ax.plot(epochs, [100 * r["test_accuracy"] for r in history], "o-", ms=3, label="test")
    last = 100 * history[-1]["test_accuracy"]
    acc_ax.set(xlabel="epoch", ylabel="accuracy (%)", title=f"Accuracy (last test: {last:.2f}%)")
    for ax in (loss_ax, acc_ax):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    save_figure(fig, path)


def calibration_figure(calibration: dict, path: Path) -> None:
    """Reliability diagram (accuracy per confidence bin against the diagonal) and the confidence
    histograms of correct and wrong predictions."""
    rows = calibration["bins"]
    lows = np.array([r["low"] for r in rows])
    width = rows[0]["high"] - rows[0]["low"]
    filled = [r["count"] > 0 for r in rows]
    fig, (rel_ax, hist_ax) = plt.subplots(1, 2, figsize=(10, 4))
    accuracy = np.array([r["accuracy"] if r["count"] else 0.0 for r in rows])
    confidence = np.array([r["mean_confidence"] if r["count"] else 0.0 for r in rows])
    rel_ax.bar(lows[filled], accuracy[filled], width=width, align="edge", color="#4c72b0",
               edgecolor="white", label="accuracy")
    rel_ax.bar(lows[filled], (confidence - accuracy)[filled], bottom=accuracy[filled], width=width,
               align="edge", color="#dd8452", alpha=0.45, edgecolor="white", label="gap to confidence")
    rel_ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect calibration")
    rel_ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence (top-1 probability)", ylabel="accuracy",
               title=f"Reliability, ECE {100 * calibration['ece']:.2f}%")
    rel_ax.legend(loc="upper left")
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


ESTIMATORS = (("binning", "binning"), ("kde", "KDE upper bound"))


def information_plane_figure(plane: dict, epochs: list[float], path: Path) -> None:
    """I(T;Y) against I(T;X) per snapshot, coloured by epoch, one panel per estimator."""
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 4.2))
    for ax, (key, title) in zip(axes, ESTIMATORS, strict=True):
        x, y = plane[key]["i_tx"], plane[key]["i_ty"]
        ax.plot(x, y, color="#bbbbbb", lw=0.8, zorder=1)
        points = ax.scatter(x, y, c=epochs, cmap="viridis", s=14, zorder=2)
        ax.axhline(plane["h_y_bits"], color="k", ls=":", lw=0.8)
        ax.set(xlabel="I(T;X) (bits)", ylabel="I(T;Y) (bits)", title=f"Information plane, {title}")
        ax.grid(alpha=0.3)
    fig.colorbar(points, ax=axes, label="epoch", fraction=0.03, pad=0.02)
    save_figure(fig, path)


def information_curves_figure(plane: dict, steps: list[int], path: Path) -> None:
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


def thumbnail(image: np.ndarray, path: Path) -> None:
    """A 28x28 uint8 image as a grayscale PNG, upscaled with nearest neighbour."""
    height, width = image.shape
    picture = Image.fromarray(image, mode="L").resize(
        (width * THUMBNAIL_SCALE, height * THUMBNAIL_SCALE), Image.Resampling.NEAREST
    )
    with atomic_path(path) as tmp:
        picture.save(tmp, format="PNG")
