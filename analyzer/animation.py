"""The GIF of the probe images' bottleneck coordinates over training.

One frame per snapshot in `snapshots.npz`, the 100 probe points coloured by class with a fixed
legend of the dataset's class names and the title "epoch E · step S" of that snapshot. The view
follows the points: at step 0 they sit within ~0.01 of the origin and end ~1000x wider, so fixed
axes would show one dot for the first frames. Each frame's axes hold its points with a margin and
zoom out smoothly (see `view_limits`), with true tick labels redrawn per frame, so the points'
bounding box spans at least 1/MAX_ZOOM_OUT of the plot's width and height in every frame where
they have any spread. The trainer takes snapshots densely early (where the points move most) and evenly later;
every frame shows for the same time, so playback is slow at the start, when most happens.
Pillow's `duration` is in milliseconds; GIF stores delays in 1/100 s, so durations are multiples
of 10 ms and read back exactly.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, ScalarFormatter
from PIL import Image

from analyzer.figures import class_colours, class_legend, dark_palette, plt
from fmnist_common.artifacts import atomic_path
from fmnist_common.figure_files import dark_variant

FRAME_MS = 80  # every frame but the last, unless the caller chooses
LAST_FRAME_MS = 2500  # hold the trained state
MAX_FRAME_MS = 65_535 * 10  # a GIF stores each frame's delay in 16 bits of 1/100 s: about 11 minutes
FIGSIZE = (6.4, 5.2)
GIF_DPI = 96
PALETTE_SIZE = 96
MIN_COLOUR_DISTANCE = 12  # RGB distance between any two palette colours
MARGIN = 0.06  # of the points' extent, on each side
MAX_ZOOM_OUT = 2.7  # most plot half-width per half-extent: the points span >= 1/2.7 of an axis
MIN_HALF_WIDTH = 1e-3  # of a window, in the plane's units: ticks need at most 5 decimals
TICK_ROOM = (40, 16)  # points left of and below the plot kept for the tick labels
TICK_GAP = 4  # pixels between the plot and its tick labels
ZOOM_SMOOTHING = 0.6  # share of the previous frame's log half-width kept per frame
TICKS = MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10])


def frame_title(epoch: float, step: int) -> str:
    return f"epoch {epoch:.2f} · step {step:,}"


def exponential_smoothing(values: np.ndarray, keep: float) -> np.ndarray:
    """Each row of (F, ...) as `keep` times the previous smoothed row plus the rest of its own."""
    out = values.copy()
    for frame in range(1, len(out)):
        out[frame] = keep * out[frame - 1] + (1 - keep) * values[frame]
    return out


def smoothed(values: np.ndarray, keep: float = ZOOM_SMOOTHING) -> np.ndarray:
    """Exponential smoothing over frames forwards then backwards: the zoom changes gradually
    without lagging behind the points, as a one-way pass would."""
    return exponential_smoothing(exponential_smoothing(values, keep)[::-1], keep)[::-1]


def view_limits(coords: np.ndarray) -> np.ndarray:
    """(F, 2, 2) axes limits [frame, axis, (low, high)] that follow the points of (F, P, 2).

    Each frame is centred on its points' bounding box; the half-width is the box's with a margin,
    smoothed in log scale (the points spread by orders of magnitude early in training), then held
    between the margin (nothing clipped) and MAX_ZOOM_OUT times the box (the points fill a good
    part of the plot in every frame, never one dot in a wide empty plot). An axis with no spread
    gets the unit-wide window of `padded_limits`, one with almost none MIN_HALF_WIDTH, so its
    tick labels stay short.
    """
    low, high = coords.min(axis=1).astype(np.float64), coords.max(axis=1).astype(np.float64)
    centre, half = (low + high) / 2, (high - low) / 2
    spread = half > 0
    needed = np.where(spread, np.maximum(half * (1 + 2 * MARGIN), MIN_HALF_WIDTH), 0.5)
    ceiling = np.where(spread, np.maximum(half * MAX_ZOOM_OUT, MIN_HALF_WIDTH), 0.5)
    width = np.clip(np.exp(smoothed(np.log(needed))), needed, ceiling)
    return np.stack([centre - width, centre + width], axis=-1)


class TickLabels:
    """Tick labels as images pasted into the frame, each string drawn once.

    With the view changing every frame the ticks must be redrawn every frame, and matplotlib's
    axis drawing (tick layout, text rendering) would take most of a frame's time; the same tick
    strings recur across frames, so drawing each once keeps the GIF about as fast as with fixed
    axes.
    """

    def __init__(self):
        scratch = Figure(figsize=(2, 0.5), dpi=GIF_DPI)
        self.renderer = FigureCanvasAgg(scratch).get_renderer()
        self.text = scratch.text(0.5, 0.5, "", ha="center", va="center", fontsize=plt.rcParams["xtick.labelsize"])
        self.images: dict[str, np.ndarray] = {}

    def image(self, label: str) -> np.ndarray:
        """The label's ink as RGB on white, cropped to its drawn pixels."""
        if label not in self.images:
            self.renderer.clear()
            self.text.set_text(label)
            self.text.draw(self.renderer)
            rgb = np.asarray(self.renderer.buffer_rgba())[..., :3]
            ink = (rgb < 255).any(axis=2)
            rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
            self.images[label] = rgb[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].copy()
        return self.images[label]


def ticks(axis, low: float, high: float) -> tuple[np.ndarray, list[str]]:
    """Round tick values inside [low, high] and their labels, as matplotlib would choose them."""
    values = TICKS.tick_values(low, high)
    values = values[(values >= low) & (values <= high)]
    formatter = ScalarFormatter(useOffset=False)  # each label the whole coordinate: the offset or
    formatter.set_scientific(False)  # "1e-3" text matplotlib would add is not drawn here
    formatter.set_axis(axis)
    return values, formatter.format_ticks(values)


def paste(frame: np.ndarray, image: np.ndarray, x: float, y: float, anchor: tuple[float, float]) -> None:
    """Darken `frame` (rows from the top) with `image`, its point `anchor` (fractions of its width
    and height) at pixel (x, y); what falls outside the frame is cut off."""
    height, width = image.shape[:2]
    left, top = round(x - anchor[0] * width), round(y - anchor[1] * height)
    cut_left, cut_top = max(0, -left), max(0, -top)
    region = frame[top + cut_top:top + height, left + cut_left:left + width]
    region[...] = np.minimum(region, image[cut_top:cut_top + region.shape[0], cut_left:cut_left + region.shape[1]])


def render_frames(coords: np.ndarray, labels: np.ndarray, epochs: np.ndarray, steps: np.ndarray,
                  class_names: list[str], axis_labels: tuple[str, str], limits: np.ndarray, y_ticks: bool = True):
    """Yield (RGB frame, plot box in pixels) for each snapshot of `coords` (F, P, 2) drawn in the
    `limits` (F, 2, 2) of `view_limits`; the box is (left, top, right, bottom), the same in all."""
    colours = np.array(class_colours(len(class_names)))
    fig, ax = plt.subplots(figsize=FIGSIZE, dpi=GIF_DPI)
    scatter = ax.scatter(coords[0, :, 0], coords[0, :, 1], s=22, c=colours[labels], edgecolors="white", linewidths=0.4)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel(axis_labels[0], labelpad=TICK_ROOM[1])
    ax.set_ylabel(axis_labels[1], labelpad=TICK_ROOM[0])
    class_legend(ax, class_names, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False, fontsize=8)
    title = ax.set_title(frame_title(float(epochs[-1]), int(steps[-1])))  # the widest title
    fig.tight_layout()
    # Legend, frame and axis labels are the same in every frame: draw them once and draw only the
    # grid, the points and the title over a copy of that background (blitting), then paste the
    # tick labels: several times quicker than full draws.
    grid = LineCollection([], colors=plt.rcParams["grid.color"], alpha=0.25, linewidths=0.8, zorder=0.5)
    ax.add_collection(grid)
    for artist in (grid, scatter, title):
        artist.set_animated(True)
    fig.canvas.draw()
    background = fig.canvas.copy_from_bbox(fig.bbox)
    tick_labels = TickLabels()
    box = ax.get_window_extent()
    height = fig.canvas.get_width_height()[1]
    pixels = (math.ceil(box.x0), math.ceil(height - box.y1), math.floor(box.x1), math.floor(height - box.y0))
    for frame in range(len(coords)):
        fig.canvas.restore_region(background)
        ax.set(xlim=limits[frame, 0], ylim=limits[frame, 1])
        xs, x_text = ticks(ax.xaxis, *limits[frame, 0])
        ys, y_text = ticks(ax.yaxis, *limits[frame, 1]) if y_ticks else ([], [])
        (x_low, x_high), (y_low, y_high) = limits[frame]
        grid.set_segments([[(x, y_low), (x, y_high)] for x in xs] + [[(x_low, y), (x_high, y)] for y in ys])
        scatter.set_offsets(coords[frame])
        title.set_text(frame_title(float(epochs[frame]), int(steps[frame])))
        for artist in (grid, scatter, title):
            ax.draw_artist(artist)
        rgb = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
        to_pixels = ax.transData.transform
        for x, text in zip(xs, x_text, strict=True):
            paste(rgb, tick_labels.image(text), to_pixels((x, y_low))[0], pixels[3] + TICK_GAP, (0.5, 0))
        for y, text in zip(ys, y_text, strict=True):
            paste(rgb, tick_labels.image(text), pixels[0] - TICK_GAP, height - to_pixels((x_low, y))[1], (1, 0.5))
        yield rgb, pixels
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
              class_names: list[str], axis_labels: tuple[str, str], path: Path, frame_ms: int = FRAME_MS,
              y_ticks: bool = True) -> dict:
    """Write the GIF atomically; return its frame count, delays, per-frame limits, plot box and size.
    Without `y_ticks` the y axis has no tick values (a strip plane's rows)."""
    limits = view_limits(coords)
    rendered = list(render_frames(coords, labels, epochs, steps, class_names, axis_labels, limits, y_ticks))
    palette = fixed_palette(rendered[-1][0])
    frames = [Image.fromarray(rgb).quantize(palette=palette, dither=Image.Dither.NONE) for rgb, _ in rendered]
    durations = [frame_ms] * (len(frames) - 1) + [LAST_FRAME_MS]
    with atomic_path(path) as tmp:
        frames[0].save(
            tmp, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0, disposal=1
        )
    # the dark scheme's variant: the same frames with the palette recoloured (figures.dark_palette)
    dark = [frame.copy() for frame in frames]
    for frame in dark:
        frame.putpalette(dark_palette(frame.getpalette()))
    with atomic_path(dark_variant(path)) as tmp:
        dark[0].save(tmp, format="GIF", save_all=True, append_images=dark[1:], duration=durations, loop=0, disposal=1)
    return {
        "frames": len(frames),
        "frame_ms": frame_ms,
        "last_frame_ms": LAST_FRAME_MS,
        "limits": limits.tolist(),  # [frame][x or y][low, high], in the plane's coordinates
        "plot_box": list(rendered[0][1]),  # the axes' pixels in every frame: left, top, right, bottom
        "bytes": path.stat().st_size,
    }
