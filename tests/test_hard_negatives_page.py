"""The hard-negatives page: its flag's rule and base rate recomputed from the files, each
hard negative's block (image, occlusion maps, flag, history), and the page in headless Chromium
(height at 1,280 px, details links opening their collapsed block, no console errors)."""

from __future__ import annotations

import html
import json
import re
from types import SimpleNamespace
from urllib.parse import quote

import numpy as np
import onnxruntime as ort
import pytest

from analyzer import hard_negatives
from analyzer.inputs import Dynamics, Evaluation
from fmnist_common.idx import load_test_set, load_train_set
from tests.browser_tools import chromium, serve, visit

MAX_HEIGHT = 8000  # px at 1,280 px wide, every block collapsed


def results_of(run) -> dict:
    return json.loads((run / "analysis" / "results.json").read_text())


def nearest_labels(queries: np.ndarray, base: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """(Q, k) labels of the k nearest base rows (float64, ties by index), brute force in chunks."""
    base = base.astype(np.float64)
    norms = (base**2).sum(axis=1)
    found = []
    for start in range(0, len(queries), 200):
        q = queries[start : start + 200].astype(np.float64)
        distances = norms[None] - 2 * q @ base.T + (q**2).sum(axis=1)[:, None]
        candidates = np.argpartition(distances, 4 * k, axis=1)[:, : 4 * k]
        exact = ((q[:, None] - base[candidates]) ** 2).sum(-1)
        order = np.lexsort((candidates, exact), axis=1)[:, :k]
        found.append(labels[np.take_along_axis(candidates, order, 1)])
    return np.concatenate(found)


def test_flag_threshold_and_base_rate_recomputed_from_the_files(smoke_site, data_dir):
    results = results_of(smoke_site)
    nb, sample = results["neighbours"], results["near_copies"]["sample_neighbours"]
    flag, k = nb["flag"], nb["k"]
    test_images, test_labels, _ = load_test_set(data_dir)
    train_images, train_labels, _ = load_train_set(data_dir)
    every = np.arange(0, len(test_labels), sample["sample_every"])
    session = ort.InferenceSession(str(smoke_site / "model.onnx"), providers=["CPUExecutionProvider"])
    logits = session.run(["logits"], {"image": test_images[every][:, None].astype(np.float32) / 255})[0]
    right = every[logits.argmax(axis=1) == test_labels[every]]
    labels = nearest_labels(test_images[right].reshape(len(right), -1) / 255,
                            train_images.reshape(len(train_images), -1) / 255, train_labels, k)
    counts = np.array([max(int((row == c).sum()) for c in range(10) if c != own)
                       for row, own in zip(labels, test_labels[right], strict=True)])
    assert sample["correct"] == len(right) == flag["base_rate_images"]
    assert sample["other_class_counts"] == np.bincount(counts, minlength=k + 1).tolist()
    rates = [float((counts >= t).mean()) for t in range(1, k + 1)]
    assert flag["base_rate_by_threshold"] == pytest.approx(rates, abs=1e-12)
    threshold = next((t for t in range(1, k + 1) if rates[t - 1] <= flag["base_rate_limit"]), k)
    assert flag["threshold"] == threshold and flag["base_rate"] == pytest.approx(rates[threshold - 1])
    assert flag["base_rate_count"] == int((counts >= threshold).sum())
    rows = nb["hard_negatives"]
    assert [row["ambiguous"] for row in rows] == [row["pixel_neighbours_of_predicted_class"] >= threshold
                                                  for row in rows]
    assert flag["flagged"] == sum(row["ambiguous"] for row in rows)
    page = (smoke_site / "site" / "hard_negatives.html").read_text()
    text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", page)))
    enough = "all" if threshold == k else f"at least {threshold}"
    assert f"flagged when {enough} of its {k} nearest training images" in text
    assert f"of them {enough} of their {k} pixel neighbours share one class" in text
    assert f"{100 * flag['base_rate']:.1f}% ({flag['base_rate_count']:,} of {len(right):,})" in text
    assert f"{flag['flagged']} of the {len(rows)} hard negatives are flagged" in text


def unescape(text: str) -> str:
    return html.unescape(text)


def blocks_of(page: str) -> dict[int, str]:
    """{test index: the HTML of its detail block}."""
    found = re.findall(r'<div class="hn-item" id="test-(\d+)">(.*?)(?=<div class="hn-item"|</details>)', page, re.S)
    return {int(index): block for index, block in found}


def test_each_block_shows_the_image_its_maps_and_its_own_flag(smoke_site):
    results = results_of(smoke_site)
    page = (smoke_site / "site" / "hard_negatives.html").read_text()
    header = re.search(r"<thead>(.*?)</thead>", page, re.S).group(1)
    assert "Most confident miss" in header and "2nd most confident" in header and "Top-" not in page
    top = page.index('id="overview"')
    assert 'href="#near-copies"' in page[:top] and 'id="near-copies"' in page
    blocks = blocks_of(page)
    items = [i for c in results["hard_negatives"]["classes"] for i in c["items"]]
    assert sorted(blocks) == sorted(i["test_index"] for i in items)
    flags = {row["test_index"]: row["ambiguous"] for row in results["neighbours"]["hard_negatives"]}
    occ = {row["test_index"]: row for row in results["occlusion"]["items"]}
    for item in items:
        block = blocks[item["test_index"]]
        for key in ("image", "predicted_map", "true_map"):
            assert f'src="{occ[item["test_index"]][key]}"' in block
            assert (smoke_site / "site" / occ[item["test_index"]][key]).is_file()
        assert ("hn-flag" in block) == flags[item["test_index"]]
        assert unescape(occ[item["test_index"]]["sentence"]) in unescape(block)
        if "history" in item:  # with --dynamics
            assert f"<p>Over training: {item['history']['summary']}.</p>" in unescape(block)
        else:  # no empty line for it
            assert "Over training" not in block
    assert page.count('<details class="hn-class"') == len(results["hard_negatives"]["classes"])
    assert "<details open" not in page  # collapsed by default


def test_items_carry_their_history_only_with_dynamics(tmp_path):
    labels = np.array([0, 0, 1, 1])
    probabilities = np.array([[0.2, 0.8], [0.9, 0.1], [0.7, 0.3], [0.1, 0.9]])
    ev = Evaluation(["a", "b"], np.zeros((4, 28, 28), np.uint8), labels, np.log(probabilities).astype(np.float32),
                    np.zeros((4, 2), np.float32), probabilities, probabilities.argmax(axis=1), 0.0)
    correct = np.array([[True, True, False, False], [True, True, True, False], [False, True, False, True]])
    dynamics = Dynamics(np.zeros((3, 1), np.float32), np.zeros((3, 1), bool), correct.astype(np.float32), correct)
    config = SimpleNamespace(top_k=2)

    def items(dyn):
        subject = hard_negatives.analyse(SimpleNamespace(evaluation=ev, config=config, dynamics=dyn), tmp_path)
        return [i for c in subject.block["classes"] for i in c["items"]]

    with_history = items(dynamics)
    assert [i["test_index"] for i in with_history] == [0, 2]
    assert with_history[0]["history"] == {"epochs": 3, "correct_epochs": 2, "first_correct": 1, "last_correct": 2,
                                          "summary": "right at epochs 1–2 of 3, wrong since"}
    assert with_history[1]["history"]["summary"] == "right at epoch 2 of 3, wrong since"
    assert all("history" not in i for i in items(None))


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


def test_each_image_links_to_its_details_not_to_a_bare_file(smoke_site):
    results = results_of(smoke_site)
    html_text = (smoke_site / "site" / "hard_negatives.html").read_text()
    images = re.findall(r'<a href="([^"]*)"><img alt="[^"]*" src="([^"]*)"', html_text)
    expected = [(f"#test-{item['test_index']}", quote(item["image"], safe="/"))
                for cls in results["hard_negatives"]["classes"] for item in cls["items"]]
    assert images == expected
    assert not re.search(r'<a href="hard_neg/', html_text)  # no link leaves the report for the bare image file


@pytest.mark.browser
def test_page_is_short_and_details_links_open_their_block(browser, smoke_site):
    results = results_of(smoke_site)
    items = [i for c in results["hard_negatives"]["classes"] for i in c["items"]]
    last = items[-1]["test_index"]
    shots = smoke_site / "screenshots"
    shots.mkdir(exist_ok=True)
    with serve(smoke_site / "site") as base:
        page, problems = visit(browser, base + "hard_negatives.html")
        height = page.evaluate("document.documentElement.scrollHeight")
        print(f"\nhard negatives page: {height} px tall at 1280 px")
        assert height <= MAX_HEIGHT
        page.screenshot(path=str(shots / "hard_negatives_1280.png"), full_page=True)
        assert page.evaluate("[...document.querySelectorAll('details.hn-class')].some(d => d.open)") is False
        page.click(f'a[href="#test-{last}"]')
        page.wait_for_timeout(200)
        assert page.evaluate(f"document.getElementById('test-{last}').closest('details').open") is True
        box = page.evaluate(f"document.getElementById('test-{last}').getBoundingClientRect().top")
        assert 0 <= box < 900  # scrolled into view
        assert problems["console"] == []
        page.close()

        page, problems = visit(browser, base + "hard_negatives.html")
        second = items[1]["test_index"]
        page.click(f'a[href="#test-{second}"] > img')  # the image itself, in the table
        page.wait_for_timeout(200)
        assert page.evaluate("location.pathname + location.hash") == f"/hard_negatives.html#test-{second}"
        assert page.evaluate(f"document.getElementById('test-{second}').closest('details').open") is True
        assert 0 <= page.evaluate(f"document.getElementById('test-{second}').getBoundingClientRect().top") < 900
        assert problems["console"] == []
        page.close()

        page, problems = visit(browser, base + f"hard_negatives.html#test-{items[0]['test_index']}")
        assert page.evaluate(f"document.getElementById('test-{items[0]['test_index']}').closest('details').open")
        assert 0 <= page.evaluate(f"document.getElementById('test-{items[0]['test_index']}')"
                                  ".getBoundingClientRect().top") < 900
        assert problems["console"] == []
        page.set_viewport_size({"width": 420, "height": 900})
        page.evaluate("document.querySelectorAll('details.hn-class').forEach(d => d.open = false)")
        narrow = page.evaluate("document.documentElement.scrollHeight")
        print(f"hard negatives page: {narrow} px tall at 420 px")
        assert narrow <= 2 * MAX_HEIGHT and page.evaluate("document.documentElement.scrollWidth") <= 420
        page.screenshot(path=str(shots / "hard_negatives_420.png"), full_page=True)
        page.close()
