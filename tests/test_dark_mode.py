"""Dark mode: the figures and the explorer's canvases follow mkdocs-material's colour scheme.

The analysis draws every matplotlib figure twice, for the light and the dark scheme
(analyzer/figures.py `save_figure`, `darken`); the site shows the dark one while the dark scheme
(slate) is on (site_templates/scheme.js), and the explorer's canvases take their colours from the
scheme (site_templates/explorer.js). Checked on the drawing functions and on the pixels the browser
paints, light and dark, loaded in either scheme or switched with the palette toggle.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from analyzer import figures
from bench.screenshots import scheme_script, site_pages
from tests.browser_tools import chromium, serve

BLUE = (31, 119, 180)  # tab10's first class colour
LIGHT_FIGURE, DARK_FIGURE = 170, 100  # mean luminance (0..255) a figure stays above, or below
NEAR_BACKGROUND = 12  # largest difference per channel between a figure's corner and the page


def luminance(rgb: np.ndarray) -> float:
    """Mean relative luminance (0..255) of (..., 3) pixels."""
    return float((np.asarray(rgb, dtype=float)[..., :3] @ [0.2126, 0.7152, 0.0722]).mean())


# ---- the dark variant of a figure -------------------------------------------------------------------

@pytest.mark.parametrize(("colour", "expected"), [
    ("white", figures.DARK_BG),
    ("black", figures.DARK_FG),
    ((0.5, 0.5, 0.5), (figures.DARK_BG + figures.DARK_FG) / 2),
    ("#1f77b4", np.array(BLUE) / 255),  # a class colour keeps its colour
    ("#bcbd22", np.array((188, 189, 34)) / 255),  # a light one too: no inverted lightness
])
def test_dark_colour_mirrors_greys_and_keeps_colours(colour, expected):
    assert np.allclose(figures.dark_colour(colour)[:3], expected)


def test_pale_tint_becomes_a_dark_tint_of_the_same_hue():
    blue = np.array(BLUE) / 255
    tint = 1 - 0.22 * (1 - blue)  # the bottleneck map's decision region of class 0
    dark = figures.dark_pixels(tint[None, :])[0]
    assert luminance(dark * 255) < 80
    # the same hue: its colour part points the way the class colour's does (cosine), more than any
    # other class colour's, on top of the page's faintly blue grey
    def direction(rgb):
        part = rgb - rgb.min()
        return part / np.linalg.norm(part)
    others = [np.array(c) for c in figures.class_colours(10)[1:] if max(c) - min(c) > 0.2]
    similarity = direction(dark - figures.DARK_BG * tint.min()) @ direction(blue)
    assert similarity > 0.99 and all(similarity > direction(dark) @ direction(c) for c in others)


def test_save_figure_writes_a_dark_variant_of_the_same_figure(tmp_path):
    fig, (ax, image_ax) = figures.plt.subplots(1, 2, figsize=(6, 3))
    ax.plot([0, 1], [0, 1], color="#1f77b4", lw=8)
    ax.set_title("title")
    image_ax.imshow(np.linspace(0, 1, 100).reshape(10, 10), cmap="Blues")
    picture = np.zeros((4, 4, 3))  # a photograph-like image (dark pixels): never recoloured
    picture[1:3, 1:3] = 1
    image_ax.imshow(picture, extent=(0, 2, 0, 2))
    figures.save_figure(fig, tmp_path / "f.png")

    light = np.asarray(Image.open(tmp_path / "f.png").convert("RGB")).astype(int)
    dark = np.asarray(Image.open(tmp_path / "f.dark.png").convert("RGB")).astype(int)
    assert light.shape == dark.shape
    assert (light[0, 0] == 255).all()
    assert np.abs(dark[0, 0] - np.round(figures.DARK_BG * 255)).max() <= 1
    for pixels in (light, dark):  # the class colour, exactly, in both
        assert (np.abs(pixels - BLUE).max(axis=-1) <= 2).sum() > 200
    assert luminance(light) > LIGHT_FIGURE and luminance(dark) < DARK_FIGURE


def test_every_count_of_the_confusion_figure_is_readable_on_its_cell(tmp_path, monkeypatch):
    """Light or dark digits by the colour under each, in both variants: at least WCAG's 4.5:1."""
    from analyzer import confusion

    rng = np.random.default_rng(0)
    counts = rng.integers(0, 60, size=(6, 6)) + np.diag([5, 40, 90, 200, 400, 900])  # every shade of both maps
    shares = counts / counts.sum(axis=1, keepdims=True)
    seen = []

    def contrasts(fig) -> list[float]:
        ax = fig.axes[0]
        diagonal, errors = ax.images
        return [figures.contrast(text.get_color(), (diagonal if t == p else errors).to_rgba(shares[t, p]))
                for text, (p, t) in ((text, text.get_position()) for text in ax.texts)]

    def save(fig, path, after_darken):
        seen.append(contrasts(fig))
        figures.darken(fig)
        after_darken()
        seen.append(contrasts(fig))
        figures.plt.close(fig)

    monkeypatch.setattr(confusion, "save_figure", save)
    confusion.figure(counts, [f"class {c}" for c in range(6)], 0.5, tmp_path / "confusion_matrix.png")
    light, dark = seen
    assert len(light) == len(dark) == 36
    assert min(light) >= 4.5 and min(dark) >= 4.5, (min(light), min(dark))


def test_the_earliest_information_plane_points_show_on_the_dark_background(tmp_path):
    """The darkest colour of the step scale (step 0) sits on a ring that stands out from the background."""
    from analyzer import information

    plane = {key: {"i_tx": [1.0, 3.0], "i_ty": [0.5, 2.5]} for key, _ in information.ESTIMATORS}
    information.plane_figure({**plane, "h_y_bits": 3.32}, [0, 1000], tmp_path / "information_plane.png")
    dark = np.asarray(Image.open(tmp_path / "information_plane.dark.png").convert("RGB")).astype(int)
    first = np.round(np.array(figures.plt.get_cmap("viridis")(0.0)[:3]) * 255)
    left = dark[:, : dark.shape[1] * 4 // 10]  # the first panel, away from the colour bar
    ys, xs = np.nonzero(np.abs(left - first).max(axis=-1) <= 3)
    assert 10 < len(ys) < 200  # one point of the first snapshot's colour
    y, x = int(round(ys.mean())), int(round(xs.mean()))
    around = [left[y + dy, x + dx] / 255 for dy, dx in ((0, 4), (0, -4), (4, 0), (-4, 0))]
    assert min(figures.contrast(colour, figures.DARK_BG) for colour in around) >= 3


def test_save_canvas_keeps_the_exact_size_in_both_variants(tmp_path):
    fig = figures.plt.figure(figsize=(300 / figures.DPI, 200 / figures.DPI), dpi=figures.DPI)
    fig.add_axes((0.2, 0.2, 0.6, 0.6)).plot([0, 1], [0, 1], color="#1f77b4", lw=6)
    figures.save_canvas(fig, tmp_path / "atlas.png")
    light = np.asarray(Image.open(tmp_path / "atlas.png").convert("RGB")).astype(int)
    dark = np.asarray(Image.open(tmp_path / "atlas.dark.png").convert("RGB")).astype(int)
    assert light.shape == dark.shape == (200, 300, 3)
    assert (light[0, 0] == 255).all() and np.abs(dark[0, 0] - np.round(figures.DARK_BG * 255)).max() <= 1


def test_dark_palette_recolours_a_gif_palette():
    palette = [255, 255, 255, 0, 0, 0, *BLUE]
    assert figures.dark_palette(palette) == [30, 33, 41, *np.round(figures.DARK_FG * 255).astype(int), *BLUE]


def test_darken_leaves_pictures_alone():
    fig, ax = figures.plt.subplots()
    picture = np.zeros((4, 4, 3))
    picture[1:3, 1:3] = 1
    image = ax.imshow(picture)
    figures.darken(fig)
    assert np.array_equal(image.get_array(), picture)
    figures.plt.close(fig)


# ---- in the browser -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(smoke_site):
    with chromium() as browser, serve(smoke_site / "site") as base:
        yield browser, base, site_pages(smoke_site / "site")


@pytest.fixture(scope="module")
def figure_names(smoke_site) -> set[str]:
    """The file names of the analysis' figures (results.json `figures`)."""
    return set(json.loads((smoke_site / "analysis" / "results.json").read_text())["figures"].values())


def open_page(browser, url: str, scheme: str | None, width: int = 1280):
    """(page, console errors and failed requests) of `url` loaded with `scheme` chosen before each
    page loads; None: a new reader's (light), left to the palette toggle."""
    context = browser.new_context(viewport={"width": width, "height": 900}, device_scale_factor=1)
    if scheme:
        context.add_init_script(scheme_script(scheme))
    page = context.new_page()
    problems = []
    page.on("console", lambda m: m.type == "error" and problems.append(m.text))
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("requestfailed", lambda r: r.failure != "net::ERR_ABORTED" and problems.append(r.url))
    response = page.goto(url, wait_until="networkidle")
    assert response is not None and response.status == 200, url
    page.wait_for_timeout(300)
    return page, problems


def pixels(element) -> np.ndarray:
    """(H, W, 3) of `element` as the browser paints it."""
    return np.asarray(Image.open(io.BytesIO(element.screenshot())).convert("RGB")).astype(int)


def page_background(page) -> np.ndarray:
    colour = page.evaluate("getComputedStyle(document.body).backgroundColor")  # "rgb(r, g, b)"
    return np.array([int(part) for part in colour[colour.index("(") + 1:-1].split(",")[:3]])


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["default", "slate"])
def test_every_figure_follows_the_scheme(site, figure_names, scheme):
    browser, base, names = site
    seen = 0
    for name in names:
        page, problems = open_page(browser, f"{base}{name}.html", scheme)
        assert problems == [], name
        background = page_background(page)
        # every image of an analysis figure is marked { .figure }, so that it follows the scheme
        images = page.eval_on_selector_all("img", "els => els.map(e => [decodeURIComponent(e.dataset.light"
                                           " || e.getAttribute('src')), e.classList.contains('figure')])")
        unmarked = [src for src, marked in images if src in figure_names and not marked]
        assert unmarked == [], f"{name}: figures without {{ .figure }}"
        for figure in page.query_selector_all("img.figure"):
            src = figure.get_attribute("src")
            figure.scroll_into_view_if_needed()
            assert figure.evaluate("img => img.complete && img.naturalWidth > 0"), src
            shown = pixels(figure)
            if scheme == "slate":
                assert ".dark." in src, f"{name}: {src} has no dark variant"
                assert luminance(shown) < DARK_FIGURE, f"{name}: {src} is a light block in dark mode"
                assert np.abs(shown[2, 2] - background).max() <= NEAR_BACKGROUND, f"{name}: {src}"
            else:
                assert ".dark." not in src, f"{name}: {src}"
                assert luminance(shown) > LIGHT_FIGURE, f"{name}: {src} is dark in light mode"
            seen += 1
        page.context.close()
    assert seen >= 8, "the GIF, training curves, map, calibration, confusion, near-copies, information figures"


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["default", "slate"])
def test_explorer_canvases_take_the_scheme_colours(site, scheme):
    browser, base, _ = site
    page, problems = open_page(browser, f"{base}explorer.html", scheme)
    assert problems == []
    background = page_background(page)
    for selector in ("#explorer-scatter", "#explorer-replay"):
        canvas = page.query_selector(selector)
        if canvas is None:
            continue  # no snapshots, no replay
        canvas.scroll_into_view_if_needed()
        shown = pixels(canvas)
        # a corner inside the axes' band: the page's background (a 1 px border around the canvas)
        assert np.abs(shown[4:8, 4:8].mean(axis=(0, 1)) - background).max() <= NEAR_BACKGROUND, selector
        if scheme == "slate":
            assert luminance(shown) < DARK_FIGURE, selector
        else:
            assert luminance(shown) > LIGHT_FIGURE, selector
    assert page.evaluate("explorer.theme().dark") == (scheme == "slate")
    page.context.close()


@pytest.mark.browser
def test_palette_toggle_swaps_figures_and_redraws_canvases(site):
    browser, base, _ = site
    page, problems = open_page(browser, f"{base}explorer.html", None)
    canvas = page.query_selector("#explorer-scatter")
    before = luminance(pixels(canvas))
    page.click("label[for='__palette_1']")  # the header's "Dark mode" button
    page.wait_for_timeout(300)
    assert page.evaluate("document.body.getAttribute('data-md-color-scheme')") == "slate"
    after = luminance(pixels(canvas))
    assert before > LIGHT_FIGURE and after < DARK_FIGURE
    page.goto(f"{base}confusion.html", wait_until="networkidle")  # the choice is kept across pages
    figure = page.query_selector("img.figure")
    assert figure.get_attribute("src").endswith(".dark.png")
    page.click("label[for='__palette_0']")  # back to light
    page.wait_for_timeout(300)
    assert not figure.get_attribute("src").endswith(".dark.png")
    assert figure.evaluate("img => img.complete && img.naturalWidth > 0")
    assert problems == []
    page.context.close()
