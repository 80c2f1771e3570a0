"""Data of the interactive bottleneck explorer: every test point, the thumbnails, the replay.

Writes `OUT/explorer/data.js` (one `window.EXPLORER_DATA = {...}` assignment, so the page works
from a web server and from the file system alike) and `OUT/explorer/sprite.png`, the 10,000 test
images as one grayscale sheet of 28x28 tiles (tile i at column i % 100, row i // 100). The page's
script, `site_templates/explorer.js`, draws them on a canvas.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from analyzer.figures import class_colours, padded_limits
from analyzer.inputs import Evaluation
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


def analyse(ev: Evaluation, plane: np.ndarray, replay: dict | None, out: Path) -> dict:
    """Write data.js and sprite.png under out/explorer; return the page's block of results.json.

    plane: (N, 2) the test points in the report's projection; replay: the probe frames from
    `bottleneck.animate`, or None without snapshots.
    """
    folder = out / "explorer"
    sprite(ev.images, folder / "sprite.png")
    xlim, ylim = padded_limits(plane)
    data = {
        "classNames": ev.class_names,
        "colours": [hex_colour(c) for c in class_colours(len(ev.class_names))],
        "tile": TILE,
        "spriteColumns": SPRITE_COLUMNS,
        "limits": [xlim, ylim],
        # one row per test image: x, y, true class, predicted class, confidence (rounded for size)
        "points": [
            [round(float(x), 3), round(float(y), 3), int(t), int(p), round(float(c), 4)]
            for x, y, t, p, c in zip(plane[:, 0], plane[:, 1], ev.labels, ev.predictions, ev.confidence, strict=True)
        ],
        "replay": replay,
    }
    text = "window.EXPLORER_DATA = " + json.dumps(data, separators=(",", ":")) + ";\n"
    write_bytes(folder / "data.js", text.encode("utf-8"))
    return {
        "points": int(len(ev.labels)),
        "tile": TILE,
        "sprite_columns": SPRITE_COLUMNS,
        "sprite_size": list(Image.open(folder / "sprite.png").size),  # (width, height) in pixels
        "data_bytes": (folder / "data.js").stat().st_size,
        "sprite_bytes": (folder / "sprite.png").stat().st_size,
    }
