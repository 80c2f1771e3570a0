"""The training-dynamics subject on the smoke run: the data map's regions and the forgetting counts
recomputed from `dynamics.npz` by hand, the last epoch's test pass against the ONNX model, every
test image's history in the confusion gallery, and the page that shows them."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from analyzer.inputs import Dynamics
from analyzer.onnx_model import infer, load
from fmnist_common.idx import load_test_set, load_train_set
from tests.html_pages import read_page


@pytest.fixture(scope="module")
def arrays(smoke_site) -> dict[str, np.ndarray]:
    with np.load(smoke_site / "dynamics.npz") as npz:
        return {name: npz[name] for name in npz.files}


@pytest.fixture(scope="module")
def block(smoke_site) -> dict:
    return json.loads((smoke_site / "analysis" / "results.json").read_text())["dynamics"]


def by_hand(probabilities: np.ndarray) -> list[tuple[float, float]]:
    """(confidence, population std) of each column, one image at a time in float64."""
    rows = []
    for column in probabilities.T.astype(np.float64):
        mean = sum(column) / len(column)
        rows.append((mean, math.sqrt(sum((p - mean) ** 2 for p in column) / len(column))))
    return rows


def test_regions_are_counted_from_the_thresholds(arrays, block):
    cart = block["cartography"]
    assert (cart["hard_below"], cart["easy_at_least"], cart["variability_below"]) == (0.25, 0.75, 0.2)
    counts = {"easy-to-learn": 0, "ambiguous": 0, "hard-to-learn": 0}
    for confidence, variability in by_hand(arrays["train_true_probability"]):
        if variability < 0.2 and confidence >= 0.75:
            counts["easy-to-learn"] += 1
        elif variability < 0.2 and confidence < 0.25:
            counts["hard-to-learn"] += 1
        else:
            counts["ambiguous"] += 1
    assert cart["counts"] == counts
    assert sum(counts.values()) == block["train_images"] == arrays["train_correct"].shape[1]


def test_forgetting_events_are_counted_image_by_image(arrays, block):
    events_total = never_learned = unforgettable = forgotten = 0
    per_image = []
    for history in arrays["train_correct"].T.tolist():
        events = sum(1 for e in range(len(history) - 1) if history[e] and not history[e + 1])
        per_image.append(events)
        events_total += events
        never_learned += not any(history)
        unforgettable += any(history) and not events
        forgotten += events > 0
    fg = block["forgetting"]
    assert (fg["events_total"], fg["never_learned"], fg["unforgettable"], fg["forgotten_at_least_once"]) == (
        events_total, never_learned, unforgettable, forgotten)
    bars = {row["events"]: row["images"] for row in fg["histogram"]}
    assert bars.pop("never learned") == never_learned
    assert bars == {k: sum(1 for n, h in zip(per_image, arrays["train_correct"].T, strict=True) if n == k and h.any())
                    for k in range(len(arrays["train_correct"]) // 2 + 1)}


def test_classes_forgotten_most_come_first(smoke_site, data_dir, arrays, block):
    labels = load_train_set(data_dir)[1][:block["train_images"]]
    correct = arrays["train_correct"]
    forgotten = (correct[:-1] & ~correct[1:]).any(axis=0)
    rows = block["forgetting"]["per_class"]
    shares = [row["share_forgotten"] for row in rows]
    assert shares == sorted(shares, reverse=True)
    names = json.loads((smoke_site / "analysis" / "results.json").read_text())["class_names"]
    for row in rows:
        mine = labels == names.index(row["class"])
        assert (row["images"], row["forgotten_at_least_once"]) == (int(mine.sum()), int(forgotten[mine].sum()))


def test_hardest_to_learn_are_each_class_lowest_confidence(data_dir, arrays, block):
    labels = load_train_set(data_dir)[1][:block["train_images"]]
    confidence = arrays["train_true_probability"].astype(np.float64).mean(axis=0)
    for c, row in enumerate(block["cartography"]["hardest_per_class"]):
        shown = [item["train_index"] for item in row["items"]]
        assert all(labels[i] == c for i in shown)
        assert len(shown) == min(5, int((labels == c).sum()))
        assert np.isclose(sorted(confidence[labels == c])[:len(shown)], confidence[shown]).all()
        assert [item["correct_epochs"] for item in row["items"]] == [int(arrays["train_correct"][:, i].sum())
                                                                     for i in shown]


def test_last_test_row_is_the_onnx_models_correctness(smoke_site, data_dir, arrays):
    """Image by image; an image whose true class ties exactly with another at the top of the logits
    could go either way under two argmax implementations, so it is left out (none in the smoke run)."""
    images, labels, _ = load_test_set(data_dir)
    logits, _, _ = infer(load(str(smoke_site / "model.onnx"), 0), images, 1000)
    top = logits.max(axis=1)
    tied = (logits[np.arange(len(labels)), labels] == top) & ((logits == top[:, None]).sum(axis=1) > 1)
    right = logits.argmax(axis=1) == labels
    assert int(tied.sum()) == 0
    assert np.array_equal(arrays["test_correct"][-1][~tied], right[~tied])


def test_gallery_tooltips_hold_every_test_images_history(smoke_site, arrays):
    text = (smoke_site / "analysis" / "confusion" / "cells.js").read_text()
    history = json.loads(text.removeprefix("window.CONFUSION_CELLS = ").removesuffix(";\n"))["history"]
    dynamics = Dynamics(arrays["train_true_probability"], arrays["train_correct"], arrays["test_true_probability"],
                        arrays["test_correct"])
    assert len(history["of"]) == 10_000
    assert len(set(history["summaries"])) == len(history["summaries"])
    for index in range(10_000):
        assert history["summaries"][history["of"][index]] == dynamics.test_history(index)["summary"]


def test_page_states_the_measured_numbers(smoke_site, arrays, block):
    page = read_page(smoke_site / "site" / "training_dynamics.html")
    text = " ".join(page.text.split())
    fg, te = block["forgetting"], block["test"]
    assert (f"had {fg['events_total']:,} forgetting events: {fg['forgotten_at_least_once']:,} images were "
            "forgotten") in text
    correct = arrays["test_correct"]
    lost = int((correct.any(axis=0) & ~correct[-1]).sum())
    assert te["learned_then_lost"] == lost
    assert f"{lost:,} were learned and then lost by the end" in text
    for region, count in block["cartography"]["counts"].items():
        assert f"{region} | " not in text and f"{count:,}" in text
    thumbnails = [src for src in page.sources if src.startswith("dynamics/")]
    assert len(thumbnails) == sum(len(row["items"]) for row in block["cartography"]["hardest_per_class"]) + 10
    assert all((smoke_site / "site" / src).is_file() for src in thumbnails)
    assert "data_map.png" in page.sources and "forgetting.png" in page.sources


def test_forgetting_labels_do_not_overlap_in_a_long_run(tmp_path, monkeypatch):
    """24 epochs give 14 bars: no tick label, and no count above a bar, may run into another."""
    from analyzer import dynamics

    drawn = {}
    monkeypatch.setattr(dynamics, "save_canvas", lambda fig, path: drawn.setdefault("fig", fig))
    counts = [386, 44313, 5161, 2988, 2419, 2089, 1523, 754, 302, 60, 5, 0, 0, 0]
    dynamics.forgetting_figure([{"events": "never learned", "images": counts[0]}]
                               + [{"events": k, "images": n} for k, n in enumerate(counts[1:])], tmp_path / "f.png")
    fig = drawn["fig"]
    fig.canvas.draw()
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    boxes = [label.get_window_extent(renderer) for label in ax.get_xticklabels()]
    boxes += [text.get_window_extent(renderer) for text in ax.texts]
    assert len(boxes) == 2 * len(counts)
    overlapping = [(i, j) for i in range(len(boxes)) for j in range(i) if boxes[i].overlaps(boxes[j])]
    assert not overlapping
    assert ax.texts[1].get_text() == "44,313\nunforgettable"
    assert fig.axes[0].get_window_extent(renderer).contains(*boxes[len(counts) + 1].corners()[1])  # inside the axes
