"""The built site in headless Chromium (Debian's, else Playwright's own): every page loads clean.

For each page: no failed request, no console error, no dialog, no request leaving localhost, every <img>
decoded with a non-zero natural size, every internal link (and its #anchor) resolving. A
screenshot of each page is saved under RUN/screenshots/.
"""

from __future__ import annotations

import json
import urllib.request
from urllib.parse import urldefrag

import numpy as np
import pytest

from tests.browser_tools import CLEAN, broken_images, chromium, serve, visit

PAGES = ["index.html", "bottleneck.html", "explorer.html", "information_plane.html", "confusion.html",
         "hard_negatives.html", "calibration.html",
         "training_dynamics.html", "model.html"]
WITHOUT_IMAGES = {"explorer.html", "model.html"}  # canvases and tables only

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


@pytest.fixture(scope="module")
def served_site(smoke_site):
    with serve(smoke_site / "site") as base:
        yield base, smoke_site


@pytest.mark.parametrize("name", PAGES)
def test_page_loads_clean(browser, served_site, name):
    base, run = served_site
    page, problems = visit(browser, base + name)
    assert problems == CLEAN
    if name not in WITHOUT_IMAGES:
        assert page.locator("img").count(), "every other page shows figures"
    assert broken_images(page) == []
    shots = run / "screenshots"
    shots.mkdir(exist_ok=True)
    page.screenshot(path=str(shots / name.replace(".html", ".png")), full_page=True)
    assert (shots / name.replace(".html", ".png")).stat().st_size > 10_000
    page.close()


def test_every_internal_link_resolves(browser, served_site):
    base, _ = served_site
    links, ids = {}, {}
    for name in PAGES:
        page, _ = visit(browser, base + name)
        links[name] = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
        ids[base + name] = set(page.eval_on_selector_all("[id]", "els => els.map(e => e.id)"))
        page.close()
    checked = 0
    for name, hrefs in links.items():
        for link in {h for h in hrefs if h.startswith(base)}:
            target, anchor = urldefrag(link)
            if target.endswith(".html") and target in ids:
                assert not anchor or anchor in ids[target], f"{name} links to {link}: no such anchor"
            else:
                with urllib.request.urlopen(target) as response:
                    assert response.status == 200, f"{name} links to {link}: HTTP {response.status}"
            checked += 1
    assert checked > 60


# The figures of panels side by side, by the page that shows them.
WIDE_FIGURES = {"index.html": ["training_curves"],
                "information_plane.html": ["information_plane", "information_curves"],
                "calibration.html": ["calibration"], "hard_negatives.html": ["near_copies"]}


@pytest.mark.parametrize("width", [420, 1280])
def test_wide_figures_keep_a_readable_width_on_a_phone(browser, served_site, width):
    """On a phone a side-by-side figure is drawn at least 640 px wide (about 0.6 of its pixels, where the
    column would shrink it to a third) and scrolls inside its paragraph; the page never scrolls
    sideways, and a line under it says so. On a wide screen it fits its column, as every figure does."""
    base, _ = served_site
    page = browser.new_page(viewport={"width": width, "height": 900})
    for name, figures in WIDE_FIGURES.items():
        page.goto(base + name, wait_until="networkidle")
        shown = page.eval_on_selector_all("img.figure-wide", """els => els.map(e => ({
            src: e.getAttribute('src'), width: e.getBoundingClientRect().width,
            scrolls: e.parentElement.scrollWidth > e.parentElement.clientWidth,
            hint: getComputedStyle(e.parentElement, '::after').content,
            column: e.parentElement.clientWidth}))""")
        assert [s["src"].rsplit("/", 1)[-1].split(".")[0] for s in shown] == figures, name
        for figure in shown:
            if width == 420:
                assert figure["width"] >= 640 and figure["scrolls"], (name, figure)
                assert figure["hint"] == '"Scroll sideways for the rest of the figure →"', (name, figure)
            else:
                assert figure["width"] <= figure["column"] and not figure["scrolls"], (name, figure)
                assert figure["hint"] == "none", (name, figure)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, name
    page.close()


def test_hard_negative_table_holds_every_image(browser, served_site):
    base, run = served_site
    results = json.loads((run / "analysis" / "results.json").read_text())
    expected = sum(len(c["items"]) for c in results["hard_negatives"]["classes"])
    page, _ = visit(browser, base + "hard_negatives.html")
    cells = page.eval_on_selector_all("table img", "els => els.map(e => e.naturalWidth)")
    assert len(cells) == expected and all(width == 112 for width in cells)
    page.close()


def test_explorer(browser, served_site):
    base, run = served_site
    results = json.loads((run / "analysis" / "results.json").read_text())
    names = results["class_names"]
    page, problems = visit(browser, base + "explorer.html")
    assert problems == CLEAN
    assert page.evaluate("window.explorer.drawnPoints") == results["explorer"]["points"] == 10000

    page.locator("#explorer-scatter").scroll_into_view_if_needed()
    with np.load(run / "analysis" / "embeddings.npz") as emb:
        labels, predictions = emb["labels"], emb["predictions"]
    for index in (0, 4321):
        x, y = page.evaluate(f"window.explorer.screenPosition({index})")
        page.mouse.move(x, y)
        text = page.locator("#explorer-tooltip .explorer-text").inner_text()
        assert text.startswith(f"test image {index} · true: {names[labels[index]]} · predicted: "
                               f"{names[predictions[index]]} (")
        assert page.locator("#explorer-tooltip").is_visible()

    sandal = page.locator("#explorer-legend button", has_text=names[5])
    sandal.click()
    assert page.evaluate("window.explorer.drawnPoints") == 10000 - int((labels == 5).sum())
    sandal.dblclick()  # two clicks toggle it back, then the double-click shows it alone
    assert page.evaluate("window.explorer.drawnPoints") == int((labels == 5).sum())

    snap = results["bottleneck"]["animation"]
    label = page.locator("#replay-label")
    assert label.inner_text() == f"epoch {snap['epochs'][-1]:.2f} · step {snap['steps'][-1]:,}"  # opens trained
    page.eval_on_selector("#replay-slider", "s => { s.value = '0'; s.dispatchEvent(new Event('input')); }")
    assert label.inner_text() == f"epoch {snap['epochs'][0]:.2f} · step {snap['steps'][0]:,}"

    transferred = page.evaluate(
        "performance.getEntriesByType('navigation')[0].transferSize"
        " + performance.getEntriesByType('resource').reduce((sum, e) => sum + e.transferSize, 0)"
    )
    assert 1_000_000 < transferred <= 6_000_000
    page.close()


def test_names_and_metadata_keys_stay_on_one_line_on_a_phone(browser, served_site):
    """At 420 px the model page's tensor names and metadata keys never break mid-word (bottlenec/k,
    bottleneck_d/im), and the page does not scroll sideways."""
    base, run = served_site
    page = browser.new_page(viewport={"width": 420, "height": 900})
    page.goto(base + "model.html", wait_until="networkidle")
    lines = page.eval_on_selector_all("code.word",
                                      "els => els.map(e => [e.textContent, e.getClientRects().length])")
    model = json.loads((run / "analysis" / "results.json").read_text())["model"]
    names = [arg["name"] for arg in model["inputs"] + model["outputs"]]
    assert sorted(word for word, _ in lines) == sorted(names + list(model["metadata"]))
    assert "bottleneck" in names and "bottleneck_dim" in model["metadata"]
    assert all(count == 1 for _, count in lines), lines
    assert page.evaluate("document.documentElement.scrollWidth") <= 420
    page.close()
