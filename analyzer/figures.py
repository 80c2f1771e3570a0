"""Drawing helpers every figure shares: matplotlib set up headless, class colours and legend,
axis limits, text that stays text, the characters its font cannot draw, saving, and the image
thumbnails.

Each subject module (confusion, bottleneck, calibration, ...) draws its own figure with these.
Class colours are matplotlib's tab10 in class-index order everywhere, legends use the model's
class names, and text stays readable at the site's content width (about 800 px).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib import font_manager, ft2font  # noqa: E402
from matplotlib.collections import Collection  # noqa: E402
from matplotlib.colors import LinearSegmentedColormap, to_rgb, to_rgba  # noqa: E402
from matplotlib.image import AxesImage  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.text import Text  # noqa: E402
from PIL import Image  # noqa: E402

from fmnist_common.artifacts import atomic_path  # noqa: E402
from fmnist_common.figure_files import dark_variant  # noqa: E402

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


def save_figure(fig: plt.Figure, path: Path, after_darken: Callable[[], None] | None = None) -> None:
    """`path` (a PNG) and its variant for the site's dark scheme beside it (see `dark_variant`).

    `after_darken` finishes the dark variant where `darken` cannot know the answer: text drawn over
    a colour map, say, whose readable colour depends on the colour under it (see `readable_on`)."""
    fig.set_dpi(DPI)  # the renderer measuring the box below then lays text out as the saved one does
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight")
    # the same box for the variant: recolouring moves nothing, and a "tight" save draws twice
    box = fig.get_tightbbox(fig.canvas.get_renderer()).padded(plt.rcParams["savefig.pad_inches"])
    darken(fig)
    if after_darken is not None:
        after_darken()
    with atomic_path(dark_variant(path)) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, bbox_inches=box)
    plt.close(fig)


def save_canvas(fig: plt.Figure, path: Path) -> None:
    """Like `save_figure` for a figure whose pixels must keep the figure's exact size (no "tight"
    box): the canvas as drawn, then its dark variant."""
    for target in (path, dark_variant(path)):
        if target != path:
            darken(fig)
        fig.canvas.draw()
        with atomic_path(target) as tmp:
            Image.fromarray(np.asarray(fig.canvas.buffer_rgba())).save(tmp, format="PNG")
    plt.close(fig)


# ---- the dark variant of a figure: mkdocs-material's slate scheme -------------------------------
# The page swaps each figure for its dark variant when the reader picks the dark scheme
# (site_templates/scheme.js). Greys are mirrored between the page's background and text colours;
# coloured marks (class colours, bars, lines) keep their exact colour, so they still match the
# legends and canvases of the HTML pages; pale images (decision regions) and white-based colour
# maps (the confusion matrix) turn into dark ones of the same hue.
DARK_BG = np.array(to_rgb("#1e2129"))  # slate's --md-default-bg-color, hsla(225deg, 15%, 14%)
DARK_FG = np.array(to_rgb("#d5d8df"))  # a little brighter than slate's body text, for small labels
GREY_CHROMA = 0.12  # max - min of r, g, b (0..1) under which a colour counts as grey


def dark_colours(rgba: np.ndarray) -> np.ndarray:
    """(N, 4) colours with each grey mirrored between white -> DARK_BG and black -> DARK_FG; the
    others unchanged."""
    rgba = np.array(rgba, dtype=float).reshape(-1, 4)
    grey = rgba[:, :3].max(axis=1) - rgba[:, :3].min(axis=1) <= GREY_CHROMA
    level = rgba[grey, :3].mean(axis=1, keepdims=True)
    rgba[grey, :3] = DARK_BG * level + DARK_FG * (1 - level)
    return rgba


def dark_colour(colour) -> tuple[float, float, float, float]:
    """One colour as `dark_colours` turns it."""
    return tuple(dark_colours(np.array(to_rgba(colour)))[0])


def dark_pixels(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) pale colours in 0..1 as if painted over DARK_BG instead of white: the grey (white)
    part of each becomes that much DARK_BG, the colour part stays, so a pale tint of a class colour
    becomes a dark tint of the same hue."""
    grey = rgb.min(axis=-1, keepdims=True)
    return np.clip(rgb - grey + DARK_BG * grey, 0, 1)


def dark_palette(palette: list[int]) -> list[int]:
    """A GIF's palette ([r, g, b, r, g, b, ...], 0..255) as `dark_colours` turns it: the same frames
    with this palette are the animation's dark variant, at no drawing cost."""
    rgb = np.array(palette, dtype=float).reshape(-1, 3) / 255
    dark = dark_colours(np.concatenate([rgb, np.ones((len(rgb), 1))], axis=1))[:, :3]
    return [int(v) for v in np.round(dark * 255).astype(int).ravel()]


def dark_cmap(cmap):
    """A colour map starting at white (Blues, Oranges) as one from DARK_BG to its 65% colour."""
    if min(cmap(0.0)[:3]) < 0.9:
        return cmap
    top = np.array(cmap(0.65)[:3])
    return LinearSegmentedColormap.from_list(cmap.name + "_dark", [DARK_BG, top])


def darken(fig: plt.Figure) -> None:
    """Recolour `fig` in place for the dark scheme (see the comment above DARK_BG)."""
    seen = set()
    for artist in fig.findobj():
        if id(artist) in seen:
            continue
        seen.add(id(artist))
        if isinstance(artist, Text):
            artist.set_color(dark_colour(artist.get_color()))
            box = artist.get_bbox_patch()
            if box is not None:
                box.set_facecolor(dark_colour(box.get_facecolor()))
                box.set_edgecolor(dark_colour(box.get_edgecolor()))
        elif isinstance(artist, Line2D):
            artist.set_color(dark_colour(artist.get_color()))
            artist.set_markerfacecolor(dark_colour(artist.get_markerfacecolor()))
            artist.set_markeredgecolor(dark_colour(artist.get_markeredgecolor()))
        elif isinstance(artist, Patch):
            artist.set_facecolor(dark_colour(artist.get_facecolor()))
            artist.set_edgecolor(dark_colour(artist.get_edgecolor()))
        elif isinstance(artist, AxesImage):
            data = artist.get_array()
            if data is not None and data.ndim == 2:
                artist.set_cmap(dark_cmap(artist.get_cmap()))  # its colour bar follows
            elif data is not None and data.ndim == 3:
                rgb = np.asarray(data[..., :3], dtype=float) / (255 if data.dtype == np.uint8 else 1)
                if rgb.min() > 0.6:  # pale everywhere: a tint; an image with dark pixels is a picture
                    artist.set_data(np.concatenate([dark_pixels(rgb), np.ones(rgb.shape[:-1] + (1,))], axis=-1))
        elif isinstance(artist, Collection) and artist.get_array() is None:
            face, edge = artist.get_facecolor(), artist.get_edgecolor()
            if len(face):
                artist.set_facecolor(dark_colours(face))
            if not isinstance(edge, str) and len(edge):  # "face": the edge follows the face
                artist.set_edgecolor(dark_colours(edge))


def luminance(colour) -> float:
    """The relative luminance of a colour (WCAG 2): 0 for black, 1 for white."""
    rgb = np.array(to_rgb(colour))
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return float(linear @ [0.2126, 0.7152, 0.0722])


def contrast(one, other) -> float:
    """The WCAG contrast ratio of two colours, from 1 (equal) to 21 (black on white)."""
    high, low = sorted((luminance(one), luminance(other)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def readable_on(background, light="white", dark="black"):
    """Of a light and a dark text colour, the one that contrasts more with `background`: a count on a
    shaded cell stays readable whatever the shade, in either scheme."""
    return light if contrast(light, background) >= contrast(dark, background) else dark


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
