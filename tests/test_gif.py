"""The training GIF: one frame per snapshot, exact delays, right legend, a view that follows the points."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from analyzer import animation
from analyzer.figures import class_colours

NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def spiral_snapshots(frames: int = 150, seed: int = 0):
    """Points that start in one cloud and fly outwards, far beyond their starting range."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(10), 10)
    angles = labels * 2 * np.pi / 10
    start = rng.normal(scale=0.1, size=(100, 2))
    growth = np.linspace(0, 25, frames)[:, None, None]
    direction = np.stack([np.cos(angles), np.sin(angles)], axis=1)[None]
    coords = (start[None] + growth * direction + rng.normal(scale=0.5, size=(frames, 100, 2))).astype(np.float32)
    steps = np.unique(np.round(np.geomspace(1, 14070, frames))).astype(int)
    steps = np.concatenate([[0], steps])[:frames]
    return coords[: len(steps)], labels, steps / 469, steps


def test_frames_delays_and_size(tmp_path):
    coords, labels, epochs, steps = spiral_snapshots()
    path = tmp_path / "b.gif"
    info = animation.write_gif(coords, labels, epochs, steps, NAMES, ("u1", "u2"), path)
    gif = Image.open(path)
    assert gif.n_frames == len(steps) == info["frames"]
    delays = []
    for frame in range(gif.n_frames):
        gif.seek(frame)
        delays.append(gif.info["duration"])
    assert delays == [animation.FRAME_MS] * (len(steps) - 1) + [animation.LAST_FRAME_MS]
    assert path.stat().st_size <= 5_000_000
    assert gif.info.get("loop") == 0


def test_colours_are_exact_and_fixed(tmp_path):
    coords, labels, epochs, steps = spiral_snapshots(frames=20)
    path = tmp_path / "b.gif"
    animation.write_gif(coords, labels, epochs, steps, NAMES, ("u1", "u2"), path)
    gif = Image.open(path)
    legend = {tuple(round(255 * v) for v in colour) for colour in class_colours(10)}
    for frame in (0, 10, 19):
        gif.seek(frame)
        rgb = gif.convert("RGB")
        assert rgb.getpixel((2, 2)) == (255, 255, 255)  # a white background, not a palette's near-white
        present = {colour for _, colour in rgb.getcolors(maxcolors=1 << 20)}
        assert legend <= present  # every class colour, exactly as in the legend, in every frame


def blob_snapshots(frames: int = 150):
    """Like a real run: every probe point within 0.01 of the origin at step 0, about +-20 at the end."""
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(10), 10)
    scale = np.geomspace(0.005, 20, frames)[:, None, None]
    coords = (scale * rng.uniform(-1, 1, size=(frames, 100, 2))).astype(np.float32)
    coords[-1, :2] = [[-20, -20], [20, 20]]
    steps = np.arange(frames) * 10
    return coords, labels, steps / 469, steps


def points_share_of_the_plot(coords: np.ndarray, limits) -> np.ndarray:
    """(F,) the larger of the points' bounding box's shares of the plot's width and height."""
    limits = np.asarray(limits)
    extent = coords.max(axis=1) - coords.min(axis=1)
    return (extent / (limits[:, :, 1] - limits[:, :, 0])).max(axis=1)


def coloured_share_of_the_plot(path, plot_box, class_count: int = 10) -> list[float]:
    """Per GIF frame, measured in its pixels: the larger of the class-coloured pixels' extent's
    shares of the plot box's width and height (the legend lies outside the box)."""
    left, top, right, bottom = plot_box
    legend = np.array([[round(255 * v) for v in colour] for colour in class_colours(class_count)])
    shares = []
    gif = Image.open(path)
    for frame in range(gif.n_frames):
        gif.seek(frame)
        inside = np.asarray(gif.convert("RGB"))[top + 1:bottom - 1, left + 1:right - 1]
        coloured = (inside[:, :, None, :] == legend).all(axis=3).any(axis=2)
        rows, cols = np.flatnonzero(coloured.any(axis=1)), np.flatnonzero(coloured.any(axis=0))
        shares.append(max((cols[-1] - cols[0]) / (right - left), (rows[-1] - rows[0]) / (bottom - top)))
    return shares


def assert_the_points_fill_every_frame(coords: np.ndarray, info: dict, path) -> None:
    """Every point inside its frame's axes; the points' box spans >= 1/3 of the plot in every
    frame, by the recorded limits and by the frames' own pixels."""
    limits = np.asarray(info["limits"])
    assert limits.shape == (len(coords), 2, 2)
    assert (coords >= limits[:, None, :, 0]).all() and (coords <= limits[:, None, :, 1]).all()
    assert points_share_of_the_plot(coords, limits).min() >= 1 / 3
    assert min(coloured_share_of_the_plot(path, info["plot_box"])) >= 1 / 3


@pytest.mark.slow  # over 2 s: left out of make test-quick
def test_the_view_follows_points_that_spread_a_thousandfold(tmp_path):
    coords, labels, epochs, steps = blob_snapshots()
    path = tmp_path / "b.gif"
    info = animation.write_gif(coords, labels, epochs, steps, NAMES, ("u1", "u2"), path)
    assert np.ptp(info["limits"][0]) < 0.1 and np.ptp(info["limits"][-1]) > 40  # zoomed out 1000x
    assert_the_points_fill_every_frame(coords, info, path)
    width = np.ptp(info["limits"], axis=2)
    assert (np.abs(np.diff(np.log(width), axis=0)) <= np.log(1.5)).all()  # no jumps in the zoom


def test_fixed_axes_would_fail_the_rule():
    coords = blob_snapshots()[0]
    fixed = np.repeat(np.asarray(animation.view_limits(coords[-1:])), len(coords), axis=0)
    assert points_share_of_the_plot(coords, fixed)[0] < 0.01  # the blank opening the view avoids


def test_frame_titles_match_snapshots():
    assert animation.frame_title(0.0, 0) == "epoch 0.00 · step 0"
    assert animation.frame_title(2.5, 1172) == "epoch 2.50 · step 1,172"


def test_gif_from_a_real_run(smoke_run, data_dir, tmp_path):
    from analyzer.cli import main

    out = tmp_path / "analysis"
    assert main(["--model", str(smoke_run / "model.onnx"), "--data", str(data_dir),
                 "--snapshots", str(smoke_run / "snapshots.npz"), "--out", str(out)]) == 0
    with np.load(smoke_run / "snapshots.npz") as snap:
        coords = snap["coords"]
    gif = out / "information_bottleneck.gif"
    assert Image.open(gif).n_frames == len(coords)
    info = json.loads((out / "results.json").read_text())["bottleneck"]["animation"]
    assert_the_points_fill_every_frame(coords, info, gif)  # D = 2: the plane is the bottleneck
