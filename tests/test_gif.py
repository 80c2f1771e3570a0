"""The training GIF: one frame per snapshot, exact delays, right legend, nothing outside the axes."""

from __future__ import annotations

import numpy as np
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


def test_every_point_inside_the_axes_of_every_frame():
    coords, labels, epochs, steps = spiral_snapshots(frames=40)
    limits = []
    for frame, (_, (xlim, ylim)) in enumerate(
        animation.render_frames(coords, labels, epochs, steps, NAMES, ("u1", "u2"))
    ):
        points = coords[frame]
        assert (points[:, 0] > xlim[0]).all() and (points[:, 0] < xlim[1]).all()
        assert (points[:, 1] > ylim[0]).all() and (points[:, 1] < ylim[1]).all()
        limits.append((xlim, ylim))
    assert len(set(limits)) == 1  # the same axes in every frame, so motion is visible


def test_frame_titles_match_snapshots():
    assert animation.frame_title(0.0, 0) == "epoch 0.00 · step 0"
    assert animation.frame_title(2.5, 1172) == "epoch 2.50 · step 1,172"


def test_gif_from_a_real_run(smoke_run, data_dir, tmp_path):
    from analyzer.cli import main

    out = tmp_path / "analysis"
    assert main(["--model", str(smoke_run / "model.onnx"), "--data", str(data_dir),
                 "--snapshots", str(smoke_run / "snapshots.npz"), "--out", str(out)]) == 0
    with np.load(smoke_run / "snapshots.npz") as snap:
        frames = len(snap["steps"])
    assert Image.open(out / "information_bottleneck.gif").n_frames == frames
