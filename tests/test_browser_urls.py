"""The explorer and the confusion gallery under any URL, and the explorer's CSV export, in headless
Chromium from the file system (file:// URLs, as a reader who unzips the site opens it).

A hash is input from whoever sent the link: each hostile hash must draw exactly what its valid parts
alone draw (pixel for pixel), with no error. The CSV of a selection of every point is read back with
Python's csv module and compared row by row with `analysis/embeddings.npz`.
"""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from analyzer.bottleneck import projection_of
from tests.test_browser import browser  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser

# (hostile hash, the valid hash it must draw the same as): "" is the page's default view
EXPLORER_HASHES = [
    ("#pin=%E0%A4%A", ""),  # a malformed escape: decodeURIComponent throws URIError
    ("#colour=constructor", ""),  # inherited properties of a plain object
    ("#colour=__proto__", ""),
    ("#colour=toString", ""),
    ("#colour=", ""),
    ("#hide=toString", ""),
    ("#hide=99,-1,abc,1.5,0x1,,%20", ""),
    ("#hide=%E0%A4%A", ""),
    ("#view=-1e308,1e308,0,1", ""),  # finite and ordered, but the width overflows to Infinity
    ("#view=NaN,1,2,3", ""),
    ("#view=1,1,1,1", ""),
    ("#view=3,2,1,0", ""),
    ("#view=1,2,3", ""),
    ("#view=,,,", ""),
    ("#view=Infinity,-Infinity,0,1", ""),
    ("#view=1e6,1000001,1e6,1000001", ""),  # ordered, sane size, but nowhere near the points
    ("#view=0,1e-9,0,1e-9", ""),  # a billionfold zoom
    ("#pin=1e99", ""),
    ("#pin=-5", ""),
    ("#pin=", ""),
    ("#pin=0x10", ""),
    ("#pin=4.5", ""),
    ("#pin=10000", ""),  # one past the last test image
    ("#pin=" + "9" * 100_000, ""),  # a very long hash
    ("#view=" + ",".join(["1"] * 20_000), ""),
    ("#" + "&" * 10_000, ""),
    ("#__proto__=1&constructor=2&=3&pin", ""),
    ("#%E0%A4%A=1&hide", ""),
    ("#hide=3&view=NaN,1,2,3&pin=%E0%A4%A&colour=correct", "#hide=3&colour=correct"),  # each part alone
    ("#hide=3,99,-1,3&pin=42&colour=constructor", "#hide=3&pin=42"),
]

CONFUSION_HASHES = [  # (hostile hash, the cell it opens or None, the hash the page then shows)
    ("#cell-99-99", None, "#cell-99-99"),
    ("#cell-constructor-x", None, "#cell-constructor-x"),
    ("#cell-1-99", None, "#cell-1-99"),
    ("#cell--1-1", None, "#cell--1-1"),
    ("#cell-1e1-1", None, "#cell-1e1-1"),
    ("#cell-%E0%A4%A", None, "#cell-%E0%A4%A"),
    ("#cell-" + "9" * 100_000 + "-1", None, "#cell-" + "9" * 100_000 + "-1"),
    ("#__proto__", None, "#__proto__"),
    ("#cell-1-1-image-abc", None, "#cell-1-1-image-abc"),
    ("#cell-1-1-image-99999999", (1, 1), "#cell-1-1"),  # no such image: the cell opens, nothing claimed
]

# Hashes whose percent escapes are malformed: decodeURIComponent throws URIError on each.
MALFORMED_HASHES = ["#%", "#%E0%A4%A", "#test-%"]

# Class names a spreadsheet would run as formulas, and text that only needs CSV quoting.
FORMULA_NAMES = ["=1+2", "+SUM(A1)", "-2+3", "@cmd", "\tTab", "\rCR", 'say "hi"', "a,b", "line\nbreak", "T-shirt"]

SCATTER_PIXELS = """() => {
  const canvas = document.getElementById("explorer-scatter");
  const rgba = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < rgba.length; i += 4) if (rgba[i] > 0) painted++;
  return { painted: painted, image: canvas.toDataURL() };
}"""

CHANGE_HASH = """hash => new Promise(done => {
  window.addEventListener("hashchange", () => setTimeout(done, 0), { once: true });
  location.hash = hash;
})"""


def open_page(browser, url):  # noqa: F811
    """The page at `url` and the list its console errors and uncaught exceptions go to."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url, wait_until="load")
    return page, errors


def drawn(page) -> dict:
    """What the explorer shows: its state, the number of points drawn and the scatter's pixels."""
    return {"state": page.evaluate("window.explorer.state()"),
            "points": page.evaluate("window.explorer.drawnPoints"), **page.evaluate(SCATTER_PIXELS)}


@pytest.fixture(scope="module")
def explorer_url(smoke_site):
    return (smoke_site / "site" / "explorer.html").as_uri()


@pytest.fixture(scope="module")
def reference_views(browser, explorer_url):  # noqa: F811
    """valid hash -> what the explorer draws for it, loaded once each."""
    views = {}

    def view_of(valid_hash):
        if valid_hash not in views:
            page, errors = open_page(browser, explorer_url + valid_hash)
            views[valid_hash] = drawn(page)
            assert errors == []
            page.close()
        return views[valid_hash]
    return view_of


@pytest.fixture(scope="module")
def embeddings(smoke_site):
    with np.load(smoke_site / "analysis" / "embeddings.npz") as emb:
        return {key: emb[key] for key in emb.files}


def test_default_view_draws_every_point_inside_the_data_box(reference_views, embeddings, browser, explorer_url):  # noqa: F811
    shown = reference_views("")
    assert shown["points"] == len(embeddings["labels"]) == 10_000
    assert shown["painted"] > 20_000  # thousands of dots, not a blank canvas
    page, _ = open_page(browser, explorer_url)
    (x0, x1), (y0, y1) = page.evaluate("window.EXPLORER_DATA.limits")
    page.close()
    assert shown["state"] == {"hidden": [], "view": {"x0": x0, "x1": x1, "y0": y0, "y1": y1}, "pin": -1,
                              "colour": "true"}


@pytest.mark.parametrize(("hostile", "valid"), EXPLORER_HASHES, ids=lambda h: h[:40])
def test_explorer_draws_only_the_valid_parts_of_a_hostile_hash(browser, explorer_url, reference_views, embeddings,  # noqa: F811
                                                               hostile, valid):
    expected = reference_views(valid)
    hidden = expected["state"]["hidden"]
    assert expected["points"] == int((~np.isin(embeddings["labels"], hidden)).sum()) > 0
    page, errors = open_page(browser, explorer_url + hostile)
    assert errors == []
    assert drawn(page) == expected  # state, point count and every pixel of the scatter

    page.evaluate(CHANGE_HASH, "#pin=4321&colour=confidence")  # then the hostile hash arrives by hashchange
    page.evaluate(CHANGE_HASH, hostile)
    assert errors == []
    assert drawn(page) == expected
    page.close()


def wheel(page, steps: int, delta: int) -> dict:
    """`steps` wheel events over test image 0, which stays under the pointer; the view after them."""
    return page.evaluate("""([steps, delta]) => {
      const canvas = document.getElementById("explorer-scatter");
      for (let i = 0; i < steps; i++) {
        const [x, y] = window.explorer.screenPosition(0);
        canvas.dispatchEvent(new WheelEvent("wheel", { deltaY: delta, cancelable: true, clientX: x, clientY: y }));
      }
      return window.explorer.state().view;
    }""", [steps, delta])


@pytest.mark.parametrize(("delta", "low", "high"), [(-100, 1e-3, 1.2e-3), (100, 1e3 / 1.2, 1e3)])
def test_wheel_stops_at_a_thousandfold_zoom_and_the_view_reads_back_exactly(browser, explorer_url, delta, low, high):  # noqa: F811
    page, errors = open_page(browser, explorer_url)
    home = page.evaluate("window.explorer.state().view")
    view = wheel(page, 60, delta)  # 1.2 ** 60 = 56,000: far past the limit
    ratio = (view["x1"] - view["x0"]) / (home["x1"] - home["x0"])
    assert low <= ratio <= high
    page.reload(wait_until="load")
    assert page.evaluate("window.explorer.state().view") == view
    assert page.evaluate(SCATTER_PIXELS)["painted"] > 0 and errors == []  # test image 0 at least
    page.close()


def test_a_pan_stops_before_the_view_leaves_the_data(browser, explorer_url):  # noqa: F811
    page, errors = open_page(browser, explorer_url)
    home = page.evaluate("window.explorer.state().view")
    zoomed = wheel(page, 10, 100)  # zoomed out 6.2 times: a drag across the canvas moves 6.2 data boxes
    box = page.locator("#explorer-scatter").bounding_box()
    middle_y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + 1, middle_y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] - 1, middle_y, steps=20)
    page.mouse.up()
    view = page.evaluate("window.explorer.state().view")
    width = home["x1"] - home["x0"]
    assert view["x0"] < zoomed["x0"] - 2 * width  # it panned, most of the way
    assert home["x0"] < view["x1"] < home["x0"] + width  # and stopped while the data's box is in view
    assert page.evaluate("window.explorer.drawnPoints") == 10_000 and errors == []
    page.close()


@pytest.mark.parametrize(("hostile", "cell", "shown_hash"), CONFUSION_HASHES, ids=lambda h: str(h)[:40])
def test_confusion_gallery_survives_a_hostile_hash(browser, smoke_site, hostile, cell, shown_hash):  # noqa: F811
    page, errors = open_page(browser, (smoke_site / "site" / "confusion.html").as_uri() + hostile)
    assert errors == []
    assert page.locator("#confusion-gallery").is_hidden() == (cell is None)
    if cell is not None:
        assert page.evaluate("window.confusionGallery.shown") == page.evaluate(
            f"window.CONFUSION_CELLS.cells[{cell[0]}][{cell[1]}].length")
    assert page.locator(".confusion-highlight").count() == 0
    assert page.evaluate("location.hash") == shown_hash
    page.locator("#cell-2-2").click()  # the page still works
    assert page.evaluate("window.confusionGallery.shown") == page.evaluate("window.CONFUSION_CELLS.cells[2][2].length")
    assert errors == []
    page.close()


@pytest.mark.parametrize("hostile", MALFORMED_HASHES)
def test_no_page_throws_on_a_malformed_hash(browser, smoke_site, hostile):  # noqa: F811
    """Loaded with the hash, then given it again through a hashchange: no page's script throws."""
    pages = sorted(p for p in (smoke_site / "site").glob("*.html") if p.stem != "404")
    assert {"index", "explorer", "confusion", "hard_negatives"} <= {p.stem for p in pages}
    for path in pages:
        page, errors = open_page(browser, path.as_uri() + hostile)
        page.evaluate(CHANGE_HASH, hostile + "%")
        assert page.evaluate("location.hash") == hostile + "%"
        assert errors == [], path.name
        page.close()


def select_everything(page) -> None:
    """Shift-drag a box over the whole scatter: the home view pads the points by 6% on each side."""
    page.locator("#explorer-scatter").scroll_into_view_if_needed()
    box = page.locator("#explorer-scatter").bounding_box()
    page.keyboard.down("Shift")
    page.mouse.move(box["x"] + 1, box["y"] + 1)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] - 1, box["y"] + box["height"] - 1, steps=5)
    page.mouse.up()
    page.keyboard.up("Shift")


def test_csv_of_every_point_matches_the_embeddings(browser, explorer_url, smoke_site, embeddings):  # noqa: F811
    page, errors = open_page(browser, explorer_url)
    select_everything(page)
    with page.expect_download() as download:
        page.locator("#explorer-selection button").click()
    with open(download.value.path(), encoding="utf-8", newline="") as f:
        header, *rows = list(csv.reader(f))
    names = page.evaluate("window.EXPLORER_DATA.classNames")
    assert errors == []
    page.close()

    assert header == ["test_index", "true_class", "predicted_class", "confidence", "x", "y"]
    indices, labels, predictions = embeddings["indices"], embeddings["labels"], embeddings["predictions"]
    assert [int(r[0]) for r in rows] == indices.tolist() == list(range(10_000))
    assert [r[1] for r in rows] == [names[c] for c in labels]
    assert [r[2] for r in rows] == [names[c] for c in predictions]
    numbers = np.array([[float(v) for v in r[3:]] for r in rows])  # (N, 3): every one a plain number
    confidence = embeddings["probabilities"][indices, predictions]
    plane = projection_of(embeddings["coords"], len(names))(embeddings["coords"], labels)  # (N, 2) the report's plane
    # data.js rounds confidence to 4 decimals and coordinates to 3; float32 storage adds 1e-6
    np.testing.assert_allclose(numbers[:, 0], confidence, rtol=0, atol=5e-5 + 1e-6)
    np.testing.assert_allclose(numbers[:, 1:], plane, rtol=0, atol=5e-4 + 1e-6)
    assert (numbers[:, 1:] < 0).any(), "negative coordinates are part of the check"


def test_csv_defuses_formula_class_names_and_keeps_the_rest(browser, explorer_url):  # noqa: F811
    page, errors = open_page(browser, explorer_url)
    page.evaluate("names => names.forEach((n, c) => { window.EXPLORER_DATA.classNames[c] = n; })", FORMULA_NAMES)
    select_everything(page)
    text = page.evaluate("window.explorer.selectionCsv()")
    points = page.evaluate("window.EXPLORER_DATA.points")
    assert errors == []
    page.close()

    defused = ["'" + n if n[0] in "=+-@\t\r" else n for n in FORMULA_NAMES]
    assert defused[:7] == ["'=1+2", "'+SUM(A1)", "'-2+3", "'@cmd", "'\tTab", "'\rCR", 'say "hi"']
    header, *rows = list(csv.reader(io.StringIO(text, newline="")))
    assert len(rows) == len(points) == 10_000
    for row, (x, y, t, p, confidence) in zip(rows, points, strict=True):
        assert row[1:3] == [defused[t], defused[p]]
        assert [float(v) for v in row[3:]] == [confidence, x, y]  # the numbers data.js holds, exactly
    assert {n for r in rows for n in r[1:3]} == set(defused)
