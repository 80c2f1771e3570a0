"""The information-bottleneck page's subject: where the test images sit in the bottleneck, the
decision regions of the layer after it, and how the probe images moved during training.

One projection serves every page: the identity for D = 2, the first two principal axes of all
test images' bottleneck points for D > 2, and for D = 1 a strip plot (x the unit, y a row per true
class), applied unchanged to the snapshots too, so the map, the GIF, the explorer and its replay
show the same plane (recorded in results.json). Writes
`bottleneck_map.png` and, with snapshots, `information_bottleneck.gif` (see `animation`), whose
numbers are the block's `animation` (null without snapshots).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.colors import to_hex

from analyzer import animation, metrics
from analyzer.figures import class_colours, class_legend, padded_limits, plt, save_figure
from analyzer.inputs import Inputs, Snapshots, Subject

FIGURES = {"bottleneck_map": "bottleneck_map.png"}
ANIMATION = {"information_bottleneck": "information_bottleneck.gif"}


STRIP_ROW_FILL = 0.6  # share of its row a class's points fill in a 1-unit bottleneck's strip plot
GOLDEN = (5 ** 0.5 - 1) / 2  # the points' places within their row: evenly spread, the same every frame


@dataclass(frozen=True)
class Projection:
    """x = (points - mean) @ axes.T: the plane every page draws the bottleneck in.

    A 1-unit bottleneck has no second axis, so its "strip" plane puts each point on its true
    class's row: y = (class + an offset within the row) * row_height, the rows dividing the
    points' spread along the unit among the classes, so the plane is about square and the pages
    that draw x and y at one scale (the explorer, Try it) show it whole.
    """

    kind: str  # "identity" (D = 2), "pca" (D > 2) or "strip" (D = 1)
    mean: np.ndarray  # (D,)
    axes: np.ndarray  # (2, D)
    row_height: float = 0.0  # "strip" only: the distance between two classes' rows

    @property
    def axis_labels(self) -> tuple[str, str]:
        if self.kind == "identity":
            return "bottleneck unit 1", "bottleneck unit 2"
        if self.kind == "strip":
            return "bottleneck unit 1", "true class (a row each)"
        return "principal axis 1", "principal axis 2"

    @property
    def y_has_values(self) -> bool:
        """Whether the plane's y is a coordinate worth tick values (a strip's rows are not)."""
        return self.kind != "strip"

    def __call__(self, points: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """(..., P, D) and the P points' true classes -> (..., P, 2)."""
        plane = (points - self.mean) @ self.axes.T
        if self.kind == "strip":
            within = (np.arange(len(labels)) * GOLDEN) % 1 - 0.5
            plane[..., 1] = (labels + STRIP_ROW_FILL * within) * self.row_height
        return plane

    def to_json(self) -> dict:
        return {"kind": self.kind, "mean": self.mean.tolist(), "axes": self.axes.tolist(),
                "row_height": self.row_height}

    @classmethod
    def from_json(cls, plane: dict) -> Projection:
        """The projection results.json records (its `bottleneck.plane`)."""
        return cls(plane["kind"], np.asarray(plane["mean"]), np.asarray(plane["axes"]), plane.get("row_height", 0.0))


def projection_of(coords: np.ndarray, num_classes: int) -> Projection:
    """The plane of the test points (N, D): the identity for D = 2, their principal axes for
    D > 2, a strip plot of `num_classes` rows for D = 1."""
    dim = coords.shape[1]
    if dim == 2:
        return Projection("identity", np.zeros(2), np.eye(2))
    if dim == 1:
        spread = float(np.ptp(coords)) or 1.0
        return Projection("strip", np.zeros(1), np.array([[1.0], [0.0]]), spread / max(num_classes, 1))
    mean, axes = metrics.pca_projection(coords.astype(np.float64))
    return Projection("pca", mean, axes)


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


def region_image(weight: np.ndarray, bias: np.ndarray, xlim, ylim, resolution: int = 400) -> np.ndarray:
    """(resolution, resolution) predicted class of the linear head over a grid of the plane."""
    xs = np.linspace(*xlim, resolution)
    ys = np.linspace(*ylim, resolution)
    gx, gy = np.meshgrid(xs, ys)
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1)[:, :np.shape(weight)[1]]  # D = 1: bands along x
    return (grid @ np.asarray(weight).T + np.asarray(bias)).argmax(axis=1).reshape(resolution, resolution)


def map_figure(
    points: np.ndarray,
    labels: np.ndarray,
    class_names: list[str],
    regions: np.ndarray | None,
    title: str,
    axis_labels: tuple[str, str],
    path: Path,
    row_height: float = 0.0,
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Every test point coloured by true class, over the decision regions when known; with a
    `row_height` (a strip plane) the y axis names each class's row."""
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
    if row_height:
        ax.set_yticks(np.arange(len(class_names)) * row_height, class_names)
    ax.set_title(title)
    class_legend(ax, class_names, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    save_figure(fig, path)
    return xlim, ylim


def collapsed(points: np.ndarray) -> bool:
    """Whether every point of (N, D) is the same: a bottleneck that carries nothing about the image,
    which the pages say in words (the spread ratio of such points is not a number)."""
    return bool((points == points[0]).all())


def class_centres(plane: np.ndarray, labels: np.ndarray, num_classes: int) -> list[list[float] | None]:
    """Mean projected point of each class (None for a class without test images)."""
    return [plane[labels == c].mean(axis=0).tolist() if (labels == c).any() else None for c in range(num_classes)]


def analyse(inputs: Inputs, out: Path) -> Subject:
    """The map, and with snapshots the GIF, under `out`; the page's block of results.json."""
    ev, projection = inputs.evaluation, inputs.projection
    head = fit_linear_head(ev.coords, ev.logits)
    plane = projection(ev.coords, ev.labels)
    regions_drawn = ev.coords.shape[1] <= 2 and head["linear"]
    xlim, ylim = padded_limits(plane)
    regions = region_image(head["weight"], head["bias"], xlim, ylim) if regions_drawn else None
    title = f"All {len(ev.labels):,} test images in the bottleneck" + (" (PCA)" if projection.kind == "pca" else "")
    map_figure(plane, ev.labels, ev.class_names, regions, title, projection.axis_labels,
               out / FIGURES["bottleneck_map"], projection.row_height)
    block = {
        "dim": int(ev.coords.shape[1]),
        "projection": projection.kind,
        "axis_labels": list(projection.axis_labels),  # the plane's axes, as the map and the explorer name them
        "class_colours": [to_hex(c) for c in class_colours(len(ev.class_names))],  # the map's, for its HTML legend
        "plane": projection.to_json(),
        "head": head,
        "regions_drawn": regions_drawn,
        "class_centres": class_centres(plane, ev.labels, len(ev.class_names)),
        "collapsed": collapsed(ev.coords),
        "fisher_ratio": metrics.fisher_ratio(ev.coords, ev.labels),  # None when each class is one point
        "animation": None,
    }
    if inputs.snapshots is None:
        return Subject(block, FIGURES)
    block["animation"] = animate(inputs.snapshots, projection, ev.class_names, inputs.config.gif_frame_ms, out)
    return Subject(block, {**FIGURES, **ANIMATION})


def animate(snapshots: Snapshots, projection: Projection, class_names: list[str], frame_ms: int,
            out: Path) -> dict:
    """The GIF of the probe points under `out` and the per-frame separation."""
    plane = projection(snapshots.coords, snapshots.labels)  # (F, P, 2)
    gif = animation.write_gif(plane, snapshots.labels, snapshots.epochs, snapshots.steps, class_names,
                              projection.axis_labels, out / ANIMATION["information_bottleneck"], frame_ms,
                              y_ticks=projection.y_has_values)
    separation = [metrics.fisher_ratio(frame, snapshots.labels) for frame in snapshots.coords]
    final = separation[-1]
    half = next((f for f, ratio in enumerate(separation) if final is not None and ratio is not None
                 and ratio >= final / 2), None)
    return {
        **gif,
        "projection": projection.kind,
        "probe_images": int(len(snapshots.labels)),
        "probes_per_class": snapshots.probes_per_class,
        "steps": snapshots.steps.tolist(),
        "epochs": snapshots.epochs.tolist(),
        "fisher_ratio": separation,  # None for a frame where each class is one point
        "last_frame_collapsed": collapsed(snapshots.coords[-1]),
        "half_separation_frame": half,  # first frame with at least half the final ratio
    }
