"""Drawing helpers every figure shares: matplotlib set up headless, class colours and legend,
axis limits, text that stays text, the characters its font cannot draw, saving, and the image
thumbnails.

Each subject module (confusion, bottleneck, calibration, ...) draws its own figure with these.
Class colours are matplotlib's tab10 in class-index order everywhere, legends use the model's
class names, and text stays readable at the site's content width (about 800 px).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib import font_manager, ft2font  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from PIL import Image  # noqa: E402

from fmnist_common.artifacts import atomic_path  # noqa: E402

THUMBNAIL_SCALE = 4  # 28 px -> 112 px, nearest neighbour: pixels stay crisp on a web page
DPI = 110


def class_colours(count: int) -> list[tuple[float, float, float]]:
    cmap = plt.get_cmap("tab10" if count <= 10 else "tab20")
    return [to_rgb(cmap(i % cmap.N)) for i in range(count)]


def plain(text: str) -> str:
    """`text` as matplotlib shows it literally: a class name such as `$\\alpha$` is data, and
    unescaped dollar signs would make matplotlib parse it as mathtext (or fail on it)."""
    return text.replace("$", r"\$")


def figure_font() -> str:
    """The file of the font matplotlib draws the figures' text with (DejaVu Sans, shipped with it)."""
    return font_manager.findfont(font_manager.FontProperties(family=plt.rcParams["font.family"]))


def undrawable(texts: list[str]) -> str:
    """The characters of `texts` that the figures' font has no glyph for, each once, in order.

    Class names come from the model; in a script the font lacks (CJK, say) matplotlib draws boxes,
    while the site's pages show the same names as text."""
    charmap = ft2font.FT2Font(figure_font()).get_charmap()
    return "".join(dict.fromkeys(c for text in texts for c in text if not c.isspace() and ord(c) not in charmap))


@contextmanager
def glyph_warnings_silenced() -> Iterator[None]:
    """matplotlib warns once per missing glyph and figure drawn; the analysis names the
    characters once instead (see `undrawable`)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from font", category=UserWarning)
        yield


def save_figure(fig: plt.Figure, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(fig)


def class_legend(ax: plt.Axes, class_names: list[str], **kwargs) -> None:
    colours = class_colours(len(class_names))
    handles = [
        Line2D([], [], marker="o", linestyle="", markersize=7, color=colours[i], label=plain(name))
        for i, name in enumerate(class_names)
    ]
    ax.legend(handles=handles, **kwargs)


def padded_limits(points: np.ndarray, margin: float = 0.06) -> tuple[tuple[float, float], tuple[float, float]]:
    """x and y limits holding every point of (..., 2) `points` with a relative margin; an axis
    with no spread (a collapsed bottleneck) gets a unit-wide window, which the figures and the
    explorer's rounded coordinates can show."""
    flat = points.reshape(-1, 2)
    low, high = flat.min(axis=0), flat.max(axis=0)
    pad = np.where(high > low, (high - low) * margin + 1e-6, 0.5)
    return (float(low[0] - pad[0]), float(high[0] + pad[0])), (float(low[1] - pad[1]), float(high[1] + pad[1]))


def thumbnail(image: np.ndarray, path: Path) -> None:
    """A 28x28 uint8 image as a grayscale PNG, upscaled with nearest neighbour."""
    height, width = image.shape
    picture = Image.fromarray(image, mode="L").resize(
        (width * THUMBNAIL_SCALE, height * THUMBNAIL_SCALE), Image.Resampling.NEAREST
    )
    with atomic_path(path) as tmp:
        picture.save(tmp, format="PNG")
