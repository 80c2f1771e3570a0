"""The plane atlas of the bottleneck page: what lives where in the bottleneck plane, at a glance.

The plane of the bottleneck map (the same projection, `inputs.projection`, and the same limits,
`figures.padded_limits` of the projected test points) is cut into GRID x GRID equal cells; each
cell shows the test image nearest its centre, measured in cell widths and heights (as drawn), when
one lies inside the cell, framed in its true class's colour. The figure is one composed RGBA image
under matplotlib axes with true ticks, drawn once (no artist per cell). Writes `atlas.png` (and `atlas.dark.png`); its
block of results.json holds the grid, the limits, the chosen test index of every cell (None where
no test image lies), the plot's pixel box in the PNG and the drawing time.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from analyzer.figures import DPI, class_colours, class_legend, padded_limits, plt, save_canvas
from analyzer.inputs import Inputs, Subject

FIGURES = {"atlas": "atlas.png"}
GRID = 12  # cells per axis
SCALE = 2  # each 28x28 image drawn at 56x56 pixels, nearest neighbour
FRAME = 3  # pixels of class colour around each image
GAP = 1  # transparent pixels between neighbouring cells
# figure layout in pixels: the axes are exactly GRID cells wide and high, so the composed image
# lands on the PNG's pixels one to one
LEFT, BOTTOM, RIGHT, TOP = 84, 62, 236, 46


def cell_size(image_side: int = 28) -> int:
    return image_side * SCALE + 2 * (FRAME + GAP)


def nearest_in_cells(plane: np.ndarray, xlim: tuple[float, float], ylim: tuple[float, float],
                     grid: int = GRID) -> list[list[int | None]]:
    """cells[row][column] (row 0 at the bottom): the index of the point of (N, 2) `plane` nearest
    the cell's centre among those inside the cell, in units of the cell's width and height (ties:
    the lower index), or None for a cell without points."""
    # position in cell units: column i holds [i, i + 1); the top and right edges belong to the last cell
    u = (plane[:, 0] - xlim[0]) / (xlim[1] - xlim[0]) * grid
    v = (plane[:, 1] - ylim[0]) / (ylim[1] - ylim[0]) * grid
    column = np.clip(np.floor(u), 0, grid - 1).astype(np.int64)
    row = np.clip(np.floor(v), 0, grid - 1).astype(np.int64)
    distance = (u - column - 0.5) ** 2 + (v - row - 0.5) ** 2  # squared, from the own cell's centre
    cell = row * grid + column
    order = np.lexsort((np.arange(len(plane)), distance, cell))  # by cell, then distance, then index
    first = order[np.r_[True, cell[order][1:] != cell[order][:-1]]] if len(order) else order
    cells: list[list[int | None]] = [[None] * grid for _ in range(grid)]
    for index in first.tolist():
        cells[int(row[index])][int(column[index])] = index
    return cells


def compose(cells: list[list[int | None]], images: np.ndarray, labels: np.ndarray,
            colours: np.ndarray) -> np.ndarray:
    """(G * cell, G * cell, 4) uint8 RGBA: each chosen image in a frame of its class colour, the
    top row of the result being the top (last) row of `cells`; empty cells transparent."""
    grid, size = len(cells), cell_size(images.shape[1])
    canvas = np.zeros((grid * size, grid * size, 4), dtype=np.uint8)
    frame_rgb = np.round(colours * 255).astype(np.uint8)
    for row, line in enumerate(cells):
        top = (grid - 1 - row) * size
        for column, index in enumerate(line):
            if index is None:
                continue
            left = column * size
            canvas[top + GAP:top + size - GAP, left + GAP:left + size - GAP, :3] = frame_rgb[labels[index]]
            canvas[top + GAP:top + size - GAP, left + GAP:left + size - GAP, 3] = 255
            pixels = np.kron(images[index], np.ones((SCALE, SCALE), dtype=np.uint8))  # (56, 56)
            inner = GAP + FRAME
            canvas[top + inner:top + size - inner, left + inner:left + size - inner, :3] = pixels[..., None]
    return canvas


def figure(canvas: np.ndarray, xlim, ylim, class_names: list[str], axis_labels: tuple[str, str], title: str,
           grid: int, path: Path, y_ticks: bool = True) -> list[int]:
    """Draw the atlas on true axes and write it as PNG (with its dark variant); return the plot's pixel box in the PNG
    (left, top, right, bottom)."""
    side = canvas.shape[0]
    width, height = LEFT + side + RIGHT, BOTTOM + side + TOP
    fig = plt.figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    ax = fig.add_axes((LEFT / width, BOTTOM / height, side / width, side / height))
    ax.imshow(canvas, extent=(*xlim, *ylim), origin="upper", aspect="auto", interpolation="nearest",
              zorder=2)
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    # the cells' edges: two line collections, far cheaper to draw than minor ticks with a grid
    ax.vlines(np.linspace(*xlim, grid + 1), *ylim, colors="#d9d9d9", linewidths=0.6, zorder=1)
    ax.hlines(np.linspace(*ylim, grid + 1), *xlim, colors="#d9d9d9", linewidths=0.6, zorder=1)
    ax.set_xlabel(axis_labels[0], fontsize=12)
    ax.set_ylabel(axis_labels[1], fontsize=12)
    if not y_ticks:
        ax.set_yticks([])
    ax.set_title(title, fontsize=12)
    class_legend(ax, class_names, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False, fontsize=11)
    save_canvas(fig, path)  # and its dark variant; the images are pictures and keep their pixels
    return [LEFT, TOP, LEFT + side, TOP + side]


def analyse(inputs: Inputs, out: Path) -> Subject:
    """The atlas of the map's plane under `out`, and its block of results.json."""
    started = time.perf_counter()
    ev, projection = inputs.evaluation, inputs.projection
    plane = projection(ev.coords, ev.labels)  # (N, 2), the map's plane
    xlim, ylim = padded_limits(plane)  # the map's limits (bottleneck.analyse draws with the same call)
    cells = nearest_in_cells(plane, xlim, ylim)
    colours = np.array(class_colours(len(ev.class_names)))
    canvas = compose(cells, ev.images, ev.labels, colours)
    title = "The test image nearest each cell's centre, framed in its true class's colour"
    box = figure(canvas, xlim, ylim, ev.class_names, projection.axis_labels,
                 title + (" (PCA)" if projection.kind == "pca" else ""), GRID, out / FIGURES["atlas"],
                 projection.y_has_values)
    filled = [index for line in cells for index in line if index is not None]
    block = {
        "grid": [GRID, GRID],  # columns, rows
        "limits": {"x": list(xlim), "y": list(ylim)},
        "cells": cells,  # [row from the bottom][column from the left]: test index, or None
        "filled": len(filled),
        "classes_shown": [ev.class_names[c] for c in sorted({int(ev.labels[i]) for i in filled})],
        "cell_pixels": cell_size(ev.images.shape[1]),
        "plot_box": box,  # left, top, right, bottom pixels of the plot in atlas.png
        "seconds": time.perf_counter() - started,
    }
    return Subject(block, FIGURES)
