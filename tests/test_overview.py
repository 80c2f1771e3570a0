"""The overview: the bottleneck map and three findings in the first screen, each computed from the
data; a summary table with a real header; commands that wrap; a list of contents that promises
only what the report holds.

The findings are recomputed here from the confusion counts and the model's bottleneck points, and
the sentences are checked word for word on the built page, also for a perfect model, a collapsed
bottleneck and classes that each sit on one point (results.json edited, the site built again).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from fmnist_common.idx import load_test_set
from fmnist_common.interface import run_batches
from site_renderer import overview
from site_renderer.cli import main as render
from site_renderer.pages import PAGES, summary
from tests.html_pages import read_page
from tests.test_explorer_scale import css_rgb


def words(text: str) -> str:
    return " ".join(text.split())


def index_text(run: Path) -> str:
    return words(read_page(run / "site" / "index.html").text)


def contents(run: Path) -> list[str]:
    """The lines of "What this report contains"."""
    text = read_page(run / "site" / "index.html").text
    section = text.split("What this report contains")[1].split("Left out of this report")[0].split("Reproduce it")[0]
    return [words(line) for line in section.splitlines() if line.strip() not in ("", "¶")]  # ¶: the heading's link


def f1_scores(counts: np.ndarray) -> np.ndarray:
    tp = np.diag(counts).astype(float)
    precision = np.divide(tp, counts.sum(axis=0), out=np.zeros(len(tp)), where=counts.sum(axis=0) > 0)
    recall = np.divide(tp, counts.sum(axis=1), out=np.zeros(len(tp)), where=counts.sum(axis=1) > 0)
    total = precision + recall
    return np.divide(2 * precision * recall, total, out=np.zeros(len(tp)), where=total > 0)


def spread_ratio(points: np.ndarray, labels: np.ndarray) -> float:
    centres = {c: points[labels == c].mean(axis=0) for c in np.unique(labels)}
    between = sum((labels == c).sum() * ((m - points.mean(axis=0)) ** 2).sum() for c, m in centres.items())
    within = sum(((points[labels == c] - m) ** 2).sum() for c, m in centres.items())
    return between / within


def test_findings_are_computed_from_the_data(smoke_site, data_dir):
    results = json.loads((smoke_site / "analysis" / "results.json").read_text())
    names = results["class_names"]
    counts = np.array(results["confusion"]["matrix"]["counts"])
    both_ways = np.triu(counts + counts.T, k=1)
    a, b = np.unravel_index(np.argmax(both_ways), both_ways.shape)  # the first largest: lowest indices
    f1 = f1_scores(counts)
    best, worst = int(np.argmax(f1)), int(np.argmin(f1))
    images, labels, _ = load_test_set(data_dir)
    session = ort.InferenceSession(str(smoke_site / "model.onnx"), providers=["CPUExecutionProvider"])
    _, coords = run_batches(session, images, 500)
    ratio = spread_ratio(coords.astype(np.float64), labels)
    animation = results["bottleneck"]["animation"]
    first, last = animation["fisher_ratio"][0], animation["fisher_ratio"][-1]

    text = index_text(smoke_site)
    assert f"{100 * results['accuracy']:.2f}% test accuracy" in text
    assert (f"Most confused pair: {names[a]} and {names[b]}, with {both_ways[a, b]:,} test images of one predicted "
            f"as the other ({counts[a, b]:,} {names[a]} as {names[b]}, {counts[b, a]:,} the other way: each opens "
            "its cell of the confusion matrix).") in text
    assert (f"Best class by F1 score (the harmonic mean of precision and recall): {names[best]}, "
            f"{100 * f1[best]:.1f}%; worst: {names[worst]}, {100 * f1[worst]:.1f}%.") in text
    assert (f"Class separation: over all test images, the spread between the class centres in the bottleneck is "
            f"{ratio:.2f} times the spread within the classes; for the {animation['probe_images']} images followed "
            f"over training this ratio {'grew' if last > first else 'went'} from {first:.2f} at step "
            f"{animation['steps'][0]:,} to {last:.2f} at the end.") in text


@pytest.mark.parametrize(("out", "shown"), [
    ("runs/fast/analysis", "runs/fast"),  # as make passes it: every path of the commands relative
    ("/data/runs/x/analysis/", "/data/runs/x"),  # every one absolute
    ("analysis", "."),
    ("elsewhere", None),  # not RUN/analysis: the renderer's own run folder instead
])
def test_reproduce_names_the_run_as_the_analysis_did(out, shown):
    assert overview.analysed_run({"config": {"out": out}}) == shown


def test_summary_table_has_a_header_and_the_map_links_to_its_page(smoke_site):
    page = read_page(smoke_site / "site" / "index.html")
    assert page.tables[0][0] == ["Property", "Value"]
    html = (smoke_site / "site" / "index.html").read_text()
    assert '<a href="bottleneck.html"><img alt="All 10,000 test images in the bottleneck' in html
    assert 'src="bottleneck_map.png"' in html and 'class="figure"' in html


def edited_site(smoke_site: Path, tmp_path: Path, edit) -> Path:
    """The smoke run's analysis with results.json changed by `edit`, rendered into a new run folder."""
    run = tmp_path / "run"
    shutil.copytree(smoke_site / "analysis", run / "analysis")
    path = run / "analysis" / "results.json"
    results = json.loads(path.read_text())
    edit(results)
    path.write_text(json.dumps(results))
    assert render(["--run", str(run)]) == 0
    return run


def perfect(results):
    counts = np.diag(np.array(results["confusion"]["matrix"]["counts"]).sum(axis=1))
    results["confusion"]["matrix"]["counts"] = counts.tolist()
    results["confusion"]["overlapping_pairs"] = []
    results["confusion"]["most_confused"] = []
    for row in results["confusion"]["per_class"]:
        row.update(precision=1.0, recall=1.0, f1=1.0)


def collapsed(results):
    results["bottleneck"].update(collapsed=True, fisher_ratio=None)


def one_point_per_class(results):
    results["bottleneck"]["fisher_ratio"] = None
    results["bottleneck"]["animation"]["fisher_ratio"][0] = None


@pytest.mark.parametrize(("edit", "expected", "absent"), [
    (perfect, ["No test image is misclassified, so no two classes are confused.",
               "Every class has the same F1 score (the harmonic mean of precision and recall): 100.0%."],
     ["Most confused pair", "Best class"]),
    (collapsed, ["The classes did not separate: the bottleneck collapsed, every test image lands on one point."],
     ["Class separation:"]),
    (one_point_per_class, ["The classes separated completely: each class sits on a single point of its own in "
                           "the bottleneck."], ["Class separation:", "followed over training"]),
])
def test_findings_follow_the_data(smoke_site, tmp_path, edit, expected, absent):
    text = index_text(edited_site(smoke_site, tmp_path, edit))
    for sentence in expected:
        assert sentence in text
    for phrase in absent:
        assert phrase not in text


def test_contents_promise_only_what_the_report_holds(smoke_site, foreign_run):
    without = contents(foreign_run)
    assert without == [
        "Information bottleneck: where every test image lands in the bottleneck, an atlas of which images lie where.",
        "Explorer: every test image in the bottleneck, to hover, filter and zoom.",
        "Confusion matrix: which classes the model mistakes for which, with per-class precision, recall and F1.",
        "Hard negatives: for each class, the test images the model gets wrong with the most confidence.",
        "Calibration: how far the model's confidence can be trusted (reliability diagram, expected calibration "
        "error).",
        "Model: the ONNX model's interface and metadata.",
    ]
    assert not any("replay" in line or "during training" in line for line in without)
    full = contents(smoke_site)
    assert ("Information bottleneck: where every test image lands in the bottleneck, an atlas of which images lie "
            "where, and how the points moved during training.") in full
    assert "Explorer: every test image in the bottleneck, to hover, filter and zoom, and a replay of the points over " \
           "training." in full
    assert ("Model: the ONNX model's interface and metadata, the file to download, and how it was checked against "
            "the trained network.") in full


@pytest.mark.parametrize(("absent", "expected"), [
    (set(), "the ONNX model's interface and metadata, the file to download, and how it was checked against the "
            "trained network."),
    ({"export"}, "the ONNX model's interface and metadata, and the file to download."),
    ({"export", "model_file"}, "the ONNX model's interface and metadata."),
])
def test_a_summary_names_only_the_parts_the_run_has(absent, expected):
    model = next(page for page in PAGES if page.file == "model.md")
    reasons = {key: "absent" if key in absent else None for key, _ in model.extras}
    assert summary(model, reasons) == expected


# --- in the browser -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    from tests.browser_tools import chromium

    with chromium() as browser:
        yield browser


def box(page, selector: str) -> dict:
    return page.eval_on_selector(selector, "e => { const r = e.getBoundingClientRect(); "
                                           "return {top: r.top, bottom: r.bottom, left: r.left, right: r.right}; }")


@pytest.mark.browser
def test_the_map_and_the_findings_are_in_the_first_screen(browser, smoke_site):
    from tests.browser_tools import serve

    with serve(smoke_site / "site") as base:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(base + "index.html", wait_until="networkidle")
        image, findings = box(page, ".overview-map img"), box(page, ".overview-findings")
        assert 0 < image["top"] < 800 and image["bottom"] <= 800  # the whole map, without scrolling
        assert findings["top"] < 800 and findings["left"] >= image["right"]  # beside it
        assert page.eval_on_selector(".overview-map img", "e => e.naturalWidth") > 0
        assert page.eval_on_selector(".overview-map img", "e => e.closest('a').href") == base + "bottleneck.html"
        for code in page.query_selector_all(".overview-commands pre code"):  # commands wrap: nothing hidden
            assert code.evaluate("e => e.scrollWidth <= e.clientWidth")
        page.close()


@pytest.mark.browser
@pytest.mark.parametrize("name", ["index", "bottleneck"])
def test_a_phone_width_stacks_without_overflow(browser, smoke_site, name):
    from tests.browser_tools import serve

    with serve(smoke_site / "site") as base:
        page = browser.new_page(viewport={"width": 420, "height": 800})
        page.goto(f"{base}{name}.html", wait_until="networkidle")
        assert page.evaluate("document.documentElement.scrollWidth") <= 420
        if name == "index":
            image, findings = box(page, ".overview-map img"), box(page, ".overview-findings")
            assert image["right"] <= 420 and findings["top"] >= image["bottom"]  # stacked: the findings below
        assert_legible_legend(page, smoke_site)
        page.close()


def assert_legible_legend(page, run: Path) -> None:
    """The map's classes in HTML text under the figure: every name, in its class colour, at least 12 px."""
    results = json.loads((run / "analysis" / "results.json").read_text())
    legend = page.locator(".map-legend")
    assert legend.is_visible()
    assert legend.locator(".map-legend-item").all_inner_texts() == results["class_names"]
    swatches = page.eval_on_selector_all(".map-legend-swatch",
                                         "els => els.map(e => getComputedStyle(e).backgroundColor)")
    assert swatches == [css_rgb(colour) for colour in results["bottleneck"]["class_colours"]]
    assert page.eval_on_selector(".map-legend", "e => parseFloat(getComputedStyle(e).fontSize)") >= 12
    assert box(page, ".map-legend")["right"] <= page.viewport_size["width"]


@pytest.mark.browser
def test_the_html_legend_shows_only_where_the_figure_shrinks(browser, smoke_site):
    """On the overview the map is narrow at any width; on its own page only a phone's is."""
    from tests.browser_tools import serve

    with serve(smoke_site / "site") as base:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{base}index.html", wait_until="networkidle")
        assert_legible_legend(page, smoke_site)
        page.goto(f"{base}bottleneck.html", wait_until="networkidle")
        assert not page.locator(".map-legend").is_visible()
        page.close()


@pytest.mark.browser
def test_search_is_hidden_from_the_file_system_and_shown_over_http(browser, smoke_site):
    from tests.browser_tools import serve

    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto((smoke_site / "site" / "index.html").resolve().as_uri(), wait_until="load")
    assert page.evaluate("location.protocol") == "file:"
    assert not page.locator(".md-search").is_visible()
    assert not page.locator('label.md-header__button[for="__search"]').is_visible()
    with serve(smoke_site / "site") as base:
        page.goto(base + "index.html", wait_until="networkidle")
        assert page.locator(".md-search").is_visible()
        assert page.locator(".md-search__input").is_enabled()  # (its results depend on a worker: not timed here)
    page.close()
