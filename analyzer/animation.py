"""The GIF of the probe images' bottleneck coordinates over training.

One frame per snapshot in `snapshots.npz`, the 100 probe points coloured by class with a fixed
legend of the dataset's class names, the same axes in every frame (fitted to all frames with a
margin, so nothing is clipped and motion is visible) and the title "epoch E · step S" of that
snapshot. The trainer takes snapshots densely early (where the points move most) and evenly later;
every frame shows for the same time, so playback is slow at the start, when most happens.
Pillow's `duration` is in milliseconds; GIF stores delays in 1/100 s, so durations are multiples
of 10 ms and read back exactly.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image

from analyzer.figures import class_colours, class_legend, padded_limits, plt
from fmnist_common.artifacts import atomic_path

FRAME_MS = 80  # every frame but the last, unless the caller chooses
LAST_FRAME_MS = 2500  # hold the trained state
FIGSIZE = (6.4, 5.2)
GIF_DPI = 96
PALETTE_SIZE = 96
MIN_COLOUR_DISTANCE = 12  # RGB distance between any two palette colours


def frame_title(epoch: float, step: int) -> str:
    return f"epoch {epoch:.2f} · step {step:,}"


def render_frames(coords: np.ndarray, labels: np.ndarray, epochs: np.ndarray, steps: np.ndarray,
                  class_names: list[str], axis_labels: tuple[str, str]):
    """Yield (RGB frame, axes limits) for each snapshot of `coords` (F, P, 2)."""
    colours = np.array(class_colours(len(class_names)))
    xlim, ylim = padded_limits(coords)
    fig, ax = plt.subplots(figsize=FIGSIZE, dpi=GIF_DPI)
    scatter = ax.scatter(coords[0, :, 0], coords[0, :, 1], s=22, c=colours[labels], edgecolors="white", linewidths=0.4)
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    ax.set_xlabel(axis_labels[0])
    ax.set_ylabel(axis_labels[1])
    ax.grid(alpha=0.25)
    class_legend(ax, class_names, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False, fontsize=8)
    title = ax.set_title(frame_title(float(epochs[-1]), int(steps[-1])))  # the widest title
    fig.tight_layout()
    # Axes, grid and legend are the same in every frame: draw them once and redraw only the points
    # and the title over a copy of that background (blitting), about 10x quicker than full draws.
    scatter.set_animated(True)
    title.set_animated(True)
    fig.canvas.draw()
    background = fig.canvas.copy_from_bbox(fig.bbox)
    for frame in range(len(coords)):
        fig.canvas.restore_region(background)
        scatter.set_offsets(coords[frame])
        title.set_text(frame_title(float(epochs[frame]), int(steps[frame])))
        ax.draw_artist(scatter)
        ax.draw_artist(title)
        yield np.asarray(fig.canvas.buffer_rgba())[..., :3].copy(), (ax.get_xlim(), ax.get_ylim())
    plt.close(fig)


def fixed_palette(rgb: np.ndarray) -> Image.Image:
    """The most frequent exact colours of a frame, as a palette for every frame.

    Taken from the last frame, where every class colour shows in quantity, and exact (not
    averaged, as a median cut would), so the background stays white, a colour never shifts
    between frames, and the points keep the legend's colours.
    """
    picture = Image.fromarray(rgb)
    counts = picture.getcolors(maxcolors=picture.width * picture.height)
    colours: list[tuple[int, int, int]] = []
    for _, colour in sorted(counts, key=lambda c: -c[0]):
        # skip near-duplicates: Pillow maps pixels to a palette through a coarse colour cache,
        # which would otherwise pick, e.g., (252, 252, 252) for the white background
        if all(math.dist(colour, kept) > MIN_COLOUR_DISTANCE for kept in colours):
            colours.append(colour)
        if len(colours) == PALETTE_SIZE:
            break
    palette = Image.new("P", (1, 1))
    palette.putpalette([v for colour in colours for v in colour])
    return palette


def write_gif(coords: np.ndarray, labels: np.ndarray, epochs: np.ndarray, steps: np.ndarray,
              class_names: list[str], axis_labels: tuple[str, str], path: Path, frame_ms: int = FRAME_MS) -> dict:
    """Write the GIF atomically; return its frame count, delays, limits and size."""
    rendered = list(render_frames(coords, labels, epochs, steps, class_names, axis_labels))
    limits = rendered[-1][1]
    palette = fixed_palette(rendered[-1][0])
    frames = [Image.fromarray(rgb).quantize(palette=palette, dither=Image.Dither.NONE) for rgb, _ in rendered]
    durations = [frame_ms] * (len(frames) - 1) + [LAST_FRAME_MS]
    with atomic_path(path) as tmp:
        frames[0].save(
            tmp, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0, disposal=1
        )
    return {
        "frames": len(frames),
        "frame_ms": frame_ms,
        "last_frame_ms": LAST_FRAME_MS,
        "xlim": list(limits[0]),
        "ylim": list(limits[1]),
        "bytes": path.stat().st_size,
    }
