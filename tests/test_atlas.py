"""The plane atlas: each cell of the map's plane shows the test image nearest its centre.

The chosen images are recomputed here without the analyzer's code: the model run with onnxruntime,
the recorded projection applied, the limits rebuilt from their rule, and every cell searched by
brute force. The PNG is read back: each filled cell is framed in its true class's colour and shows
that image's pixels; an empty cell shows the plot's background.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from matplotlib import colormaps
from PIL import Image

from analyzer import atlas
from analyzer.bottleneck import projection_of
from analyzer.inputs import Evaluation, Inputs
from fmnist_common.idx import load_test_set
from fmnist_common.interface import run_batches
from tests.html_pages import read_page


@pytest.fixture(scope="module")
def smoke_atlas(smoke_site, data_dir):
    """(results, test images, test labels, the test points in the map's plane)."""
    results = json.loads((smoke_site / "analysis" / "results.json").read_text())
    images, labels, _ = load_test_set(data_dir)
    session = ort.InferenceSession(str(smoke_site / "model.onnx"), providers=["CPUExecutionProvider"])
    _, coords = run_batches(session, images, 500)
    plane = results["bottleneck"]["plane"]
    points = (coords.astype(np.float64) - np.array(plane["mean"])) @ np.array(plane["axes"]).T
    return results, images, labels, points


def test_limits_are_the_maps(smoke_atlas):
    results, _, _, points = smoke_atlas
    block = results["atlas"]
    for axis, name in enumerate("xy"):
        low, high = points[:, axis].min(), points[:, axis].max()
        pad = (high - low) * 0.06 + 1e-6  # figures.padded_limits, as the map draws it
        assert block["limits"][name] == pytest.approx([low - pad, high + pad], rel=1e-5, abs=1e-5)
    assert block["grid"] == [12, 12]
    assert results["figures"]["atlas"] == "atlas.png"


def test_each_cell_holds_the_test_image_nearest_its_centre(smoke_atlas):
    results, _, _, points = smoke_atlas
    block = results["atlas"]
    columns, rows = block["grid"]
    (x0, x1), (y0, y1) = block["limits"]["x"], block["limits"]["y"]
    u = (points[:, 0] - x0) / (x1 - x0) * columns  # in cell widths
    v = (points[:, 1] - y0) / (y1 - y0) * rows
    eps = 1e-6
    filled = 0
    for row in range(rows):
        for column in range(columns):
            near = (u >= column - eps) & (u <= column + 1 + eps) & (v >= row - eps) & (v <= row + 1 + eps)
            inside = np.flatnonzero(near)
            chosen = block["cells"][row][column]
            if chosen is None:
                strictly = (u > column + eps) & (u < column + 1 - eps) & (v > row + eps) & (v < row + 1 - eps)
                assert not strictly.any(), (row, column)
                continue
            filled += 1
            assert chosen in inside, (row, column)
            distance = (u[inside] - column - 0.5) ** 2 + (v[inside] - row - 0.5) ** 2
            own = (u[chosen] - column - 0.5) ** 2 + (v[chosen] - row - 0.5) ** 2
            assert own <= distance.min() + 1e-9, (row, column)
    assert filled == block["filled"] > 1


@pytest.mark.parametrize("name", ["atlas.png", "atlas.dark.png"])
def test_the_png_frames_each_image_in_its_class_colour(smoke_site, smoke_atlas, name):
    """In both schemes: the frames in the legend's class colours, the images' own pixels, and the
    plot's background (white, or the dark scheme's) in an empty cell."""
    results, images, labels, _ = smoke_atlas
    block = results["atlas"]
    png = np.asarray(Image.open(smoke_site / "analysis" / name).convert("RGB")).astype(int)
    background = (255, 255, 255) if name == "atlas.png" else (0x1E, 0x21, 0x29)
    left, top, right, bottom = block["plot_box"]
    size = block["cell_pixels"]
    columns, rows = block["grid"]
    assert (right - left, bottom - top) == (columns * size, rows * size)
    tab10 = np.round(np.array(colormaps["tab10"].colors) * 255).astype(int)
    for row in range(rows):
        for column in range(columns):
            chosen = block["cells"][row][column]
            y, x = top + (rows - 1 - row) * size, left + column * size  # the cell's top-left pixel
            if chosen is None:
                assert tuple(png[y + size // 2, x + size // 2]) == background
                continue
            assert tuple(png[y + 2, x + size // 2]) == tuple(tab10[labels[chosen]]), (row, column)  # top frame
            inner = png[y + 4:y + size - 4, x + 4:x + size - 4]  # (56, 56, 3): the image at scale 2
            assert (inner[::2, ::2, 0] == images[chosen]).all() and (inner[..., 0] == inner[..., 2]).all()


def test_the_page_shows_the_atlas_and_counts_its_cells(smoke_site, smoke_atlas):
    results = smoke_atlas[0]
    page = read_page(smoke_site / "site" / "bottleneck.html")
    assert "atlas.png" in page.sources
    text = " ".join(page.text.split())
    assert f"{results['atlas']['filled']} of the 144 cells hold at least one test image" in text
    html = (smoke_site / "site" / "bottleneck.html").read_text()
    assert html.count('class="figure"') == 3  # the GIF, the map and the atlas


def evaluation(coords: np.ndarray, labels: np.ndarray) -> Evaluation:
    classes = int(labels.max()) + 1
    logits = np.zeros((len(labels), classes), dtype=np.float32)
    images = np.arange(len(labels) * 784, dtype=np.int64).reshape(-1, 28, 28).astype(np.uint8)
    return Evaluation([f"class {c}" for c in range(classes)], images, labels, logits, coords.astype(np.float32),
                      np.full(logits.shape, 1 / classes), labels.copy(), 0.0)


def inputs_of(coords: np.ndarray, labels: np.ndarray, tmp_path: Path) -> Inputs:
    plane = projection_of(coords.astype(np.float32), int(labels.max()) + 1)
    return Inputs(None, None, evaluation(coords, labels), plane, None, None, None, tmp_path)


def test_a_collapsed_bottleneck_fills_one_cell(tmp_path):
    labels = np.repeat(np.arange(3), 5)
    done = atlas.analyse(inputs_of(np.full((15, 2), 3.0), labels, tmp_path), tmp_path)
    assert done.block["filled"] == 1
    assert done.block["cells"][6][6] == 0  # the unit window is centred on the point: cell 6, the lowest index
    assert done.block["limits"] == {"x": [2.5, 3.5], "y": [2.5, 3.5]}
    assert (tmp_path / "atlas.png").is_file()


def test_a_wide_bottleneck_is_tiled_on_its_principal_plane(tmp_path):
    rng = np.random.default_rng(3)
    labels = np.repeat(np.arange(4), 50)
    coords = rng.normal(size=(200, 5)) * [10, 4, 0.1, 0.1, 0.1] + labels[:, None]
    inputs = inputs_of(coords, labels, tmp_path)
    done = atlas.analyse(inputs, tmp_path)
    plane = inputs.projection(inputs.evaluation.coords, labels)
    assert done.block["cells"] == atlas.nearest_in_cells(plane, done.block["limits"]["x"], done.block["limits"]["y"])
    assert done.block["limits"]["x"][1] - done.block["limits"]["x"][0] > 20  # the first axis: the widest spread
    assert done.block["seconds"] < 1.5


@pytest.mark.parametrize(("points", "expected"), [
    ([[0.1, 0.1], [0.5, 0.5], [0.45, 0.55]], 1),  # the point at the centre wins
    ([[0.4, 0.5], [0.6, 0.5]], 0),  # equally near: the lower index
    ([[0.5, 0.5], [5.5, 5.5]], 0),  # another cell's point is not a candidate
])
def test_nearest_in_cells(points, expected):
    cells = atlas.nearest_in_cells(np.array(points), (0.0, 12.0), (0.0, 12.0))
    assert cells[0][0] == expected
