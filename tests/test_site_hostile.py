"""A model whose class names are hostile: the report shows them as text and nothing else.

The names come from the model's metadata, so a model file could inject links, images, scripts or
table cells into the site. Built from a handmade model (first two pixels = bottleneck) with those
names, the report must show each name as the same visible text, keep every table's columns, link
only inside the site, run no injected script and fetch nothing from outside 127.0.0.1.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import onnx
import pytest

from analyzer.cli import main as analyze
from site_renderer.cli import main as render
from tests.browser_tools import clean_pages
from tests.handmade import linear_pixel_model, write_test_set
from tests.html_pages import read_page

HOSTILE = [
    "<b>bold</b>",
    "</script><script>alert('script')</script>",
    "<img src=x onerror=alert('img')>",
    "[click](javascript:alert('link'))",
    "![x](http://example.com/x.png)",
    "x|y",
    "a]b[c",
    "{{ 7*7 }}",
    "{% raw %}*star*",
    "$x_1$ costs $5",
    "../../etc/passwd",
    "100% #1 ?q=a b",
    "Ünïcödé 服",
    "a/b",
    "a_b",  # the same safe file name as "a/b"
    "`tick` _u_ \\",
    "&lt;T&amp;",
]
LONG_NOTE = "<i>x</i>" * 125_000  # a metadata value of 1,000,000 characters, markup to show as text
PAGES = ["index", "bottleneck", "explorer", "confusion", "hard_negatives", "calibration", "model"]
RUN_NAME = "run <img src=x onerror=alert('run')> \"q\" &amp; $(x)"  # shown as the site's name and in commands
THEME_SCRIPTS = ("assets/javascripts/",)
EXPLORER_SCRIPTS = {"explorer/data.js", "explorer/explorer.js"}
CONFUSION_SCRIPTS = {"confusion/cells.js", "confusion/confusion.js"}
EVERY_PAGE_SCRIPTS = {"file_protocol.js", "dark_figures.js", "scheme.js"}  # mkdocs.yml's extra_javascript


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory) -> tuple[Path, Path]:
    """(workspace, run): the model and data in the workspace, the analysis and site in the run folder."""
    root = tmp_path_factory.mktemp("hostile")
    rng = np.random.default_rng(0)
    classes = len(HOSTILE)
    labels = np.repeat(np.arange(classes), 20)  # (340,)
    images = rng.integers(0, 256, size=(len(labels), 28, 28)).astype(np.uint8)
    write_test_set(root / "data", images, labels)
    model = linear_pixel_model(8 * rng.normal(size=(2, classes)), rng.normal(size=classes), HOSTILE,
                               extra_metadata={"notes": LONG_NOTE})
    onnx.save(model, root / "model.onnx")
    run = root / RUN_NAME
    with pytest.warns(UserWarning, match="has no glyph for '服' in the class names"):
        assert analyze(["--model", str(root / "model.onnx"), "--data", str(root / "data"),
                        "--out", str(run / "analysis")]) == 0
    assert render(["--run", str(run)]) == 0
    return root, run


def pages(run: Path):
    return {name: read_page(run / "site" / f"{name}.html") for name in PAGES}


def test_nothing_is_written_outside_the_run(hostile_site):
    root, run = hostile_site
    outside = {p.relative_to(root) for p in root.rglob("*") if not p.is_relative_to(run)}
    assert {p.parts[0] for p in outside} == {"data", "model.onnx"}
    assert not (root / "etc").exists() and not (run.parent / "etc").exists()


def test_links_and_sources_stay_inside_the_site(hostile_site):
    _, run = hostile_site
    site = (run / "site").resolve()
    for name, page in pages(run).items():
        for target in page.links + page.sources:
            assert ":" not in target.split("#")[0].split("/")[0], (name, target)  # no scheme: javascript:, http:
            assert not target.startswith(("/", "//")), (name, target)
            path = unquote(target.split("#")[0])
            if path:
                assert (site / path).resolve().is_relative_to(site), (name, target)
                assert (site / path).exists(), (name, target)


def test_no_script_but_the_theme_and_the_explorer(hostile_site):
    _, run = hostile_site
    for name, page in pages(run).items():
        external = {src for src in page.scripts if src}
        ours = EXPLORER_SCRIPTS | CONFUSION_SCRIPTS | EVERY_PAGE_SCRIPTS
        assert all(src.startswith(THEME_SCRIPTS) or src in ours for src in external), name
        assert (external & EXPLORER_SCRIPTS) == (EXPLORER_SCRIPTS if name == "explorer" else set())
        assert (external & CONFUSION_SCRIPTS) == (CONFUSION_SCRIPTS if name == "confusion" else set())
        assert not any("alert" in code for code in page.inline_scripts), name


def test_tables_keep_their_columns_and_names_show_as_text(hostile_site):
    _, run = hostile_site
    results = json.loads((run / "analysis" / "results.json").read_text())
    built = pages(run)
    for name, page in built.items():
        for table in page.tables:
            assert {len(row) for row in table} == {len(table[0])}, name
    per_class = built["confusion"].tables[0]
    assert [row[0] for row in per_class[1:]] == HOSTILE
    hard = built["hard_negatives"].tables[0]
    classes = results["hard_negatives"]["classes"]
    assert [row[0] for row in hard[1:]] == [f"{c['class']}{c['misclassified']} missed" for c in classes]
    for row, cls in zip(hard[1:], classes, strict=True):
        for cell, item in zip(row[1:], cls["items"], strict=False):
            assert cell.startswith(f"[img {cls['class']} predicted as {item['predicted_class']}]"
                                   f"{item['predicted_class']} ")
    metadata = dict(built["model"].tables[1][1:])
    assert json.loads(metadata["class_names"]) == HOSTILE


def test_a_long_metadata_value_is_cut_on_the_model_page(hostile_site):
    _, run = hostile_site
    metadata = next(t for t in read_page(run / "site" / "model.html").tables if t[0] == ["Key", "Value"])
    rows = dict(metadata[1:])
    assert rows["notes"] == LONG_NOTE[:2000] + " … (1,000,000 characters; the rest is in the model file)"
    assert (run / "site" / "model.html").stat().st_size < 100_000


def test_every_thumbnail_exists(hostile_site):
    _, run = hostile_site
    results = json.loads((run / "analysis" / "results.json").read_text())
    expected = [item["image"] for c in results["hard_negatives"]["classes"] for item in c["items"]]
    assert len(expected) > 20 and len(set(expected)) == len(expected)
    sources = [unquote(src) for src in pages(run)["hard_negatives"].sources if src.startswith("hard_neg/")]
    assert sources == expected
    assert all((run / "site" / src).is_file() for src in sources)


@pytest.mark.browser
def test_in_the_browser_no_script_runs_nothing_is_fetched(hostile_site):
    _, run = hostile_site
    for name, page in clean_pages(run / "site", PAGES):
        if name == "explorer":
            legend = page.eval_on_selector_all("#explorer-legend button", "els => els.map(e => e.textContent)")
            assert legend == HOSTILE


def test_characters_the_figures_cannot_draw_are_named_once(hostile_site):
    _, run = hostile_site
    results = json.loads((run / "analysis" / "results.json").read_text())
    assert results["figure_font"] == {"file": "DejaVuSans.ttf", "undrawable": "服"}  # Ü, ï, ö, é are in the font
    index = pages(run)["index"].text
    assert "has no glyph for 1 character of the class names: 服. The figures show a box" in " ".join(index.split())
