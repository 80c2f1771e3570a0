"""The confusion matrix reached from elsewhere, and its chosen cell: the overview's most confused pair
and the page's table of most confused pairs link to their cells, a link opens its cell, and the
chosen cell's ring shows on every shade of the matrix, light and dark (read from the pixels)."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest
from PIL import Image

from bench.screenshots import scheme_script
from tests.browser_tools import serve
from tests.html_pages import read_page
from tests.test_browser import browser  # noqa: F401  (fixture)


def results_of(run) -> dict:
    return json.loads((run / "analysis" / "results.json").read_text())


def largest_error(counts: np.ndarray) -> tuple[int, int]:
    """The off-diagonal cell with the most images (the first in row order on a tie)."""
    off = counts * (1 - np.eye(len(counts), dtype=counts.dtype))
    t, p = np.unravel_index(np.argmax(off), off.shape)
    return int(t), int(p)


def test_most_confused_pairs_link_to_their_cells(smoke_site):
    results = results_of(smoke_site)
    counts = np.array(results["confusion"]["matrix"]["counts"])
    names = results["class_names"]
    page = read_page(smoke_site / "site" / "confusion.html")
    table = next(t for t in page.tables if t[0] == ["True class", "Predicted as", "Images"])
    html = (smoke_site / "site" / "confusion.html").read_text()
    links = re.findall(r'<a href="#cell-(\d+)-(\d+)">([\d,]+)</a>', html)
    assert len(links) == len(table) - 1 == len(results["confusion"]["most_confused"]) > 0
    for (t, p, shown), row in zip(links, table[1:], strict=True):
        t, p = int(t), int(p)
        assert row == [names[t], names[p], f"{counts[t, p]:,}"] and shown == f"{counts[t, p]:,}"
    firsts = [(int(t), int(p)) for t, p, _ in links]
    assert firsts[0] == largest_error(counts)


def test_the_overview_links_the_most_confused_pair_to_both_its_cells(smoke_site):
    counts = np.array(results_of(smoke_site)["confusion"]["matrix"]["counts"])
    both_ways = np.triu(counts + counts.T, k=1)
    a, b = np.unravel_index(np.argmax(both_ways), both_ways.shape)
    links = read_page(smoke_site / "site" / "index.html").links
    assert [link for link in links if link.startswith("confusion.html#")] == [
        f"confusion.html#cell-{a}-{b}", f"confusion.html#cell-{b}-{a}"]


@pytest.mark.browser
def test_a_link_from_the_overview_opens_its_cell(browser, smoke_site):  # noqa: F811
    counts = np.array(results_of(smoke_site)["confusion"]["matrix"]["counts"])
    both_ways = np.triu(counts + counts.T, k=1)
    a, b = (int(i) for i in np.unravel_index(np.argmax(both_ways), both_ways.shape))
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto((smoke_site / "site" / "index.html").as_uri(), wait_until="load")
    page.click(f'a[href="confusion.html#cell-{b}-{a}"]')
    page.wait_for_load_state("load")
    assert page.evaluate("location.pathname.split('/').pop() + location.hash") == f"confusion.html#cell-{b}-{a}"
    assert page.evaluate("window.confusionGallery.shown") == counts[b, a]
    assert page.evaluate("[...document.querySelectorAll('td.confusion-chosen')].map(c => c.id)") == [f"cell-{b}-{a}"]
    page.click(f'a[href="#cell-{a}-{b}"]')  # the page's own table of pairs
    assert page.evaluate("window.confusionGallery.shown") == counts[a, b]
    assert errors == []
    page.close()


def edge(element) -> np.ndarray:
    """Luminance (0..255) of the first 8 pixels of the element's middle row, from its left edge."""
    rgb = np.asarray(Image.open(io.BytesIO(element.screenshot())).convert("RGB")).astype(float)
    return rgb[rgb.shape[0] // 2, :8] @ [0.2126, 0.7152, 0.0722]


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["default", "slate"])
def test_the_chosen_cell_is_ringed_on_every_shade(browser, smoke_site, scheme):  # noqa: F811
    counts = np.array(results_of(smoke_site)["confusion"]["matrix"]["counts"])
    diagonal = int(np.argmax(np.diag(counts)))
    zero = next((t, p) for t in range(len(counts)) for p in range(len(counts)) if counts[t, p] == 0)
    cells = [largest_error(counts), (diagonal, diagonal), zero]  # full orange, the deepest blue, no shade
    with serve(smoke_site / "site") as base:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
        context.add_init_script(scheme_script(scheme))
        page = context.new_page()
        page.goto(base + "confusion.html", wait_until="networkidle")
        for t, p in cells:
            cell = page.locator(f"#cell-{t}-{p}")
            plain = edge(cell)
            assert not (plain.max() > 215 and plain.min() < 40), (t, p, plain)  # no ring before it is chosen
            cell.click()
            page.mouse.move(0, 0)
            ringed = edge(cell)
            assert ringed.max() > 215 and ringed.min() < 40, (scheme, t, p, ringed)  # a light and a dark ring
        context.close()
