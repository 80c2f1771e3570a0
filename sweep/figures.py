"""The comparison's figures, each drawn light and dark (analyzer.figures.save_figure) from the
comparison's rows and the run folders' own files: metric against width, bottleneck maps as small
multiples, information-plane trajectories per configuration and estimator."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from analyzer.bottleneck import Projection
from analyzer.figures import class_colours, padded_limits, plt, save_figure
from sweep.compare import ESTIMATORS, label

MAP_POINTS = 2000  # test points drawn per map: enough for the clusters, light enough for a small panel


def x_field(fields: list[str]) -> str | None:
    """The x axis of the metric figures: the width when it varies, else the first varied field."""
    return "bottleneck_dim" if "bottleneck_dim" in fields else (fields[0] if fields else None)


def metric_figure(data: dict, metric: str, title: str, path: Path) -> None:
    """`metric` of every finished point against the width (log axis), one line per combination of
    the other fields: the mean over seeds, a min-max band and each seed a dot."""
    fields = data["configuration_fields"]
    x = x_field(fields)
    others = [f for f in fields if f != x]
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    series: dict[str, list[dict]] = {}
    for config in data["configurations"]:
        if config[metric] is not None:
            series.setdefault(label(config, others), []).append(config)
    categories = sorted({str(c[x]) for c in data["configurations"]}) if x and x != "bottleneck_dim" else None
    place = (lambda v: categories.index(str(v))) if categories else (lambda v: v if x else 0)
    for index, (name, configs) in enumerate(series.items()):
        configs.sort(key=lambda c: place(c[x]) if x else 0)
        xs = [place(c[x]) if x else 0 for c in configs]
        colour = f"C{index}"
        means = [c[metric]["mean"] for c in configs]
        ax.fill_between(xs, [c[metric]["min"] for c in configs], [c[metric]["max"] for c in configs],
                        color=colour, alpha=0.18, linewidth=0)
        ax.plot(xs, means, "-", color=colour, lw=2, label=f"{name} (mean)")
        for config in configs:
            seeds = [p[metric] for p in data["points"] if p["status"] == "finished"
                     and all(p[f] == config[f] for f in fields)]
            ax.scatter([place(config[x]) if x else 0] * len(seeds), seeds, color=colour, s=16, zorder=3)
    if x == "bottleneck_dim":
        ax.set_xscale("log", base=2)
        widths = sorted({c[x] for c in data["configurations"]})
        ax.set_xticks(widths, [str(w) for w in widths])
        ax.minorticks_off()
    elif categories:
        ax.set_xticks(range(len(categories)), categories)
    ax.set(xlabel=f"{x} (log scale)" if x == "bottleneck_dim" else (x or ""), ylabel=title,
           title=f"{title}: mean over seeds (line), min-max (band), each seed (dot)")
    ax.grid(alpha=0.3)
    if series:
        ax.legend(fontsize=8)
    save_figure(fig, path)


def projected(run: Path) -> tuple[np.ndarray, np.ndarray, int]:
    """(plane points (N, 2), labels (N,), D) of a run, in the plane its own report draws (PCA for
    D > 2, a row per class for D = 1)."""
    results = json.loads((run / "analysis/results.json").read_text(encoding="utf-8"))
    projection = Projection.from_json(results["bottleneck"]["plane"])
    embeddings = np.load(run / "analysis/embeddings.npz")
    coords, labels = embeddings["coords"][:MAP_POINTS], embeddings["labels"][:MAP_POINTS]
    return projection(coords, labels), labels, results["bottleneck"]["dim"]


def maps_figure(data: dict, folder: Path, path: Path) -> bool:
    """Small multiples: a row per configuration, a column per seed, shared axes per width; False
    when no point has finished."""
    rows = [c for c in data["configurations"] if c["finished"]]
    seeds = sorted({p.get("seed") for p in data["points"]}, key=str)
    if not rows:
        return False
    fields = data["configuration_fields"]
    maps = {p["name"]: projected(folder / p["run"]) for p in data["points"] if p["status"] == "finished"}
    limits: dict[int, tuple[float, float]] = {}  # per width: one square box around all its maps' points
    for coords, _, dim in maps.values():
        low, high = (float(v) for v in np.percentile(coords[:, :1 if dim == 1 else 2], [0.5, 99.5]))  # x and y
        previous = limits.get(dim, (low, high))
        limits[dim] = (min(previous[0], low), max(previous[1], high))
    fig, axes = plt.subplots(len(rows), len(seeds), figsize=(2.3 * len(seeds) + 0.6, 2.3 * len(rows)),
                             squeeze=False)
    colours = np.asarray(class_colours(10))
    for r, config in enumerate(rows):
        for c, seed in enumerate(seeds):
            ax = axes[r][c]
            ax.set_xticks([])
            ax.set_yticks([])
            point = next((p for p in data["points"] if p.get("seed") == seed
                          and all(p[f] == config[f] for f in fields)), None)
            if point is None or point["name"] not in maps:
                ax.set_title(f"seed {seed}: {point['status'] if point else 'none'}", fontsize=8)
                continue
            coords, labels, dim = maps[point["name"]]
            ax.scatter(coords[:, 0], coords[:, 1], c=colours[labels % 10], s=1.5, linewidths=0)
            low, high = limits[dim]
            margin = 0.05 * (high - low) or 1.0
            ax.set_xlim(low - margin, high + margin)
            ax.set_ylim(*(padded_limits(coords)[1] if dim == 1 else (low - margin, high + margin)))  # D = 1: class rows
            kind = " projected (PCA)" if dim > 2 else " (a row per class)" if dim == 1 else ""
            ax.set_title(f"seed {seed}, D={dim}{kind}", fontsize=8)
            if c == 0:
                ax.set_ylabel(label(config, fields).replace(", ", "\n"), fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)
    return True


def information_figure(data: dict, folder: Path, path: Path) -> bool:
    """I(T;Y) against I(T;X): a row per configuration, a column per estimator; each seed a thin
    line, the mean over seeds (frame by frame) thick; the ceilings dotted. False without any plane."""
    fields = data["configuration_fields"]
    planes: dict[str, dict] = {}
    for p in data["points"]:
        if p["status"] == "finished" and p["information"]:
            results = json.loads((folder / p["run"] / "analysis/results.json").read_text(encoding="utf-8"))
            planes[p["name"]] = results["information_plane"]
    rows = [c for c in data["configurations"] if any(
        p["name"] in planes and all(p[f] == c[f] for f in fields) for p in data["points"])]
    if not rows:
        return False
    fig, axes = plt.subplots(len(rows), 2, figsize=(9.5, 3.2 * len(rows)), squeeze=False)
    for r, config in enumerate(rows):
        members = [planes[p["name"]] for p in data["points"]
                   if p["name"] in planes and all(p[f] == config[f] for f in fields)]
        for c, estimator in enumerate(ESTIMATORS):
            ax = axes[r][c]
            frames = min(len(m[estimator]["i_tx"]) for m in members)
            for m in members:  # each seed grey, which the dark variant mirrors to a light grey
                ax.plot(m[estimator]["i_tx"], m[estimator]["i_ty"], "-", color="#777777", lw=0.8)
            mean_tx = np.mean([m[estimator]["i_tx"][:frames] for m in members], axis=0)
            mean_ty = np.mean([m[estimator]["i_ty"][:frames] for m in members], axis=0)
            ax.plot(mean_tx, mean_ty, "-", color="C1", lw=2.2, label=f"mean over seeds ({len(members)})")
            ax.plot(mean_tx[-1:], mean_ty[-1:], "o", color="C1", ms=5)
            first = members[0]
            ceiling_tx = first["binning_ceiling_bits"] if estimator == "binning" else float(np.log2(first["images"]))
            ax.axhline(first["h_y_bits"], color="k", ls=":", lw=0.9)
            ax.axvline(ceiling_tx, color="k", ls="--", lw=0.9)
            ax.set(xlabel="I(T;X) (bits)", ylabel="I(T;Y) (bits)",
                   title=f"{label(config, fields)}: {estimator}")
            ax.title.set_fontsize(9)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    save_figure(fig, path)
    return True
