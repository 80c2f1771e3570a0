"""Data of the interactive bottleneck explorer: every test point, the thumbnails, the replay.

Writes `OUT/embeddings.npz` (every test image's index, label, prediction, probabilities and
bottleneck point at full precision: the numbers the explorer shows rounded, for use outside the
report), `OUT/explorer/data.js` (one `window.EXPLORER_DATA = {...}` assignment, so the page works
from a web server and from the file system alike) and `OUT/explorer/sprite.png`, the 10,000 test
images as one grayscale sheet of 28x28 tiles (tile i at column i % 100, row i // 100). The page's
script, `site_templates/explorer.js`, draws them on a canvas, and replays the probe points at
the GIF's frame time (`--gif-frame-ms`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from analyzer.bottleneck import Projection, fit_linear_head
from analyzer.figures import class_colours, padded_limits
from analyzer.inputs import Evaluation, Inputs, Snapshots, Subject
from fmnist_common.artifacts import atomic_path, write_bytes

TILE = 28
SPRITE_COLUMNS = 100


def hex_colour(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(255 * v):02x}" for v in rgb)


def sprite(images: np.ndarray, path: Path) -> None:
    """All images (N, 28, 28) as one sheet, SPRITE_COLUMNS tiles wide."""
    rows = -(-len(images) // SPRITE_COLUMNS)
    sheet = np.zeros((rows * TILE, SPRITE_COLUMNS * TILE), np.uint8)
    for i, image in enumerate(images):
        r, c = divmod(i, SPRITE_COLUMNS)
        sheet[r * TILE : (r + 1) * TILE, c * TILE : (c + 1) * TILE] = image
    with atomic_path(path) as tmp:
        Image.fromarray(sheet, mode="L").save(tmp, format="PNG")


def rounded(frame: np.ndarray) -> np.ndarray:
    """A frame's points to 3 decimals of its own spread: the first snapshots sit within 0.01 of the
    origin, where 3 decimals of a unit would put them on a coarse grid of a few spots."""
    spread = float(np.ptp(frame)) or 1.0
    return np.round(frame, int(np.clip(3 - np.floor(np.log10(spread)), 3, 9)))


def replay(snapshots: Snapshots, projection: Projection, frame_ms: int) -> dict:
    """The probe points of every snapshot in the report's plane (rounded for size), shown
    `frame_ms` each like the GIF's frames."""
    plane = projection(snapshots.coords, snapshots.labels)  # (F, P, 2)
    return {
        "labels": snapshots.labels.tolist(),
        "steps": snapshots.steps.tolist(),
        "epochs": [round(float(e), 4) for e in snapshots.epochs],
        "frames": [rounded(frame).tolist() for frame in plane],
        "frameMs": frame_ms,
    }


def head_of(ev: Evaluation) -> dict | None:
    """{"weight": (C, 2), "bias": (C,)} of the head on the plane when it is affine on a bottleneck of
    1 or 2 units, else None; for 1 unit the plane's y (the class rows) gets weight 0."""
    head = fit_linear_head(ev.coords, ev.logits)
    if ev.coords.shape[1] > 2 or not head["linear"]:
        return None
    weight = np.asarray(head["weight"])
    return {"weight": np.pad(weight, ((0, 0), (0, 2 - weight.shape[1]))).tolist(), "bias": head["bias"]}


def embeddings(ev: Evaluation, path: Path) -> None:
    """Every test point at full precision, in test-set order."""
    with atomic_path(path) as tmp:
        np.savez_compressed(
            tmp, indices=np.arange(len(ev.labels)), labels=ev.labels, predictions=ev.predictions,
            probabilities=ev.probabilities.astype(np.float32), coords=ev.coords,
        )


def analyse(inputs: Inputs, out: Path) -> Subject:
    """Write embeddings.npz, and data.js and sprite.png under out/explorer; return the page's
    block of results.json. The replay is null in data.js without snapshots."""
    ev, projection, snapshots = inputs.evaluation, inputs.projection, inputs.snapshots
    embeddings(ev, out / "embeddings.npz")
    plane = projection(ev.coords, ev.labels)  # (N, 2)
    folder = out / "explorer"
    sprite(ev.images, folder / "sprite.png")
    xlim, ylim = padded_limits(plane)
    data = {
        "classNames": ev.class_names,
        "colours": [hex_colour(c) for c in class_colours(len(ev.class_names))],
        "tile": TILE,
        "spriteColumns": SPRITE_COLUMNS,
        "limits": [xlim, ylim],
        "yTicks": projection.y_has_values,  # false for a strip plane, whose rows are classes, not values
        # one row per test image: x, y, true class, predicted class, confidence (rounded for size)
        "points": [
            [round(float(x), 3), round(float(y), 3), int(t), int(p), round(float(c), 4)]
            for x, y, t, p, c in zip(plane[:, 0], plane[:, 1], ev.labels, ev.predictions, ev.confidence, strict=True)
        ],
        # the affine head z -> W z + b when it is one and the plane is the bottleneck itself (as on the
        # static map), so the page can draw its decision regions; null otherwise
        "head": head_of(ev),
        "replay": None if snapshots is None else replay(snapshots, projection, inputs.config.gif_frame_ms),
    }
    text = "window.EXPLORER_DATA = " + json.dumps(data, separators=(",", ":")) + ";\n"
    write_bytes(folder / "data.js", text.encode("utf-8"))
    return Subject({
        "points": int(len(ev.labels)),
        "tile": TILE,
        "sprite_columns": SPRITE_COLUMNS,
        "sprite_size": list(Image.open(folder / "sprite.png").size),  # (width, height) in pixels
        "data_bytes": (folder / "data.js").stat().st_size,
        "sprite_bytes": (folder / "sprite.png").stat().st_size,
    })
