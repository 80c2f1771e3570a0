"""Nearest training images and near-copies, checked against brute force in float64."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from analyzer import near_copies, neighbours, train_points
from analyzer.cli import main
from analyzer.onnx_model import load
from fmnist_common.idx import load_test_set, load_train_set
from tests.handmade import images_with_pixels, linear_pixel_model, write_test_set


def brute_force(queries: np.ndarray, base: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    distances = np.sqrt(((queries[:, None, :].astype(np.float64) - base[None].astype(np.float64)) ** 2).sum(-1))
    order = np.lexsort((np.broadcast_to(np.arange(len(base)), distances.shape), distances), axis=1)[:, :k]
    return order, np.take_along_axis(distances, order, 1)


def test_nearest_matches_brute_force():
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (3000, 784)).astype(np.float32) / 255
    queries = np.concatenate([base[[5, 17]] + 0.001, rng.random((30, 784), dtype=np.float32)])
    indices, distances = neighbours.nearest(queries, base, 5)
    expected, expected_distances = brute_force(queries, base, 5)
    assert indices.tolist() == expected.tolist()
    assert np.allclose(distances, expected_distances, rtol=1e-12)
    assert indices[0, 0] == 5 and indices[1, 0] == 17


@pytest.mark.slow  # over 2 s: left out of make test-quick
def test_near_copies_are_exactly_those_under_the_threshold():
    rng = np.random.default_rng(1)
    train = rng.random((2000, 784), dtype=np.float32)
    test = rng.random((300, 784), dtype=np.float32)
    planted = {3: 10, 50: 1999, 299: 0}
    for t, n in planted.items():
        test[t] = train[n] + rng.normal(scale=0.01, size=784).astype(np.float32)
    _, nearest_distance = brute_force(test, train, 1)
    threshold = 0.5
    pairs = near_copies.pairs_within(test, train, threshold)
    assert {t: n for t, n, _ in pairs} == planted
    assert sorted(t for t, _, _ in pairs) == np.flatnonzero(nearest_distance[:, 0] < threshold).tolist()


def test_hard_negative_neighbours_recomputed_from_scratch(smoke_site, data_dir):
    results = json.loads((smoke_site / "analysis" / "results.json").read_text())
    item = next(i for c in results["hard_negatives"]["classes"] for i in c["items"])
    near = next(row for row in results["neighbours"]["hard_negatives"] if row["test_index"] == item["test_index"])
    train_images, train_labels, _ = load_train_set(data_dir)
    test_images, _, _ = load_test_set(data_dir)
    k = results["neighbours"]["k"]
    query = test_images[item["test_index"]].reshape(1, -1).astype(np.float64) / 255
    expected, distances = brute_force(query, train_images.reshape(len(train_images), -1) / 255, k)
    assert [n["train_index"] for n in near["nearest_pixel"]] == expected[0].tolist()
    assert np.allclose([n["distance"] for n in near["nearest_pixel"]], distances[0], rtol=1e-6)  # float32 pixels
    names = results["class_names"]
    assert [n["label"] for n in near["nearest_pixel"]] == [names[train_labels[i]] for i in expected[0]]
    agreeing = sum(n["label"] == item["predicted_class"] for n in near["nearest_pixel"])
    threshold = results["neighbours"]["flag"]["threshold"]  # recomputed in test_hard_negatives_page
    assert near["ambiguous"] == (agreeing >= threshold) and near["pixel_neighbours_of_predicted_class"] == agreeing
    assert near["majority"] == (agreeing > k / 2)

    session = ort.InferenceSession(str(smoke_site / "model.onnx"), providers=["CPUExecutionProvider"])
    x = train_images[:, None].astype(np.float32) / 255
    train_points = np.concatenate([session.run(["bottleneck"], {"image": x[i : i + 5000]})[0]
                                   for i in range(0, len(x), 5000)])
    point = session.run(["bottleneck"], {"image": test_images[item["test_index"]][None, None] / np.float32(255)})[0]
    expected, _ = brute_force(point, train_points, k)
    assert [n["train_index"] for n in near["nearest_bottleneck"]] == expected[0].tolist()
    for row in near["nearest_pixel"] + near["nearest_bottleneck"]:
        assert (smoke_site / "analysis" / row["image"]).is_file()


def test_near_copy_block_of_the_real_test_set(smoke_site):
    copies = json.loads((smoke_site / "analysis" / "results.json").read_text())["near_copies"]
    assert copies["threshold"] == copies["threshold_of_median"] * copies["sample_median"]
    assert copies["count"] >= len(copies["pairs"]) and all(p["distance"] < copies["threshold"] for p in copies["pairs"])
    assert [p["distance"] for p in copies["pairs"]] == sorted(p["distance"] for p in copies["pairs"])


def test_without_training_files_only_the_neighbours_are_skipped(tmp_path):
    names = ["a", "b"]
    write_test_set(tmp_path / "data", images_with_pixels([(200, 0), (0, 200), (90, 100)]), np.array([0, 1, 0]))
    onnx.save(linear_pixel_model(np.eye(2), np.zeros(2), names), tmp_path / "m.onnx")
    assert main(["--model", str(tmp_path / "m.onnx"), "--data", str(tmp_path / "data"), "--out",
                 str(tmp_path / "out")]) == 0
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["neighbours"] == results["near_copies"] == {
        "available": False,
        "note": f"the training files are not in {tmp_path / 'data' / 'FashionMNIST' / 'raw'}, so no training "
                "image is compared",
    }
    assert "nearest_pixel" not in results["hard_negatives"]["classes"][0]["items"][0]


def test_training_points_are_reused_only_for_the_same_model_and_files(tmp_path):
    images = np.random.default_rng(2).integers(0, 256, (40, 28, 28), dtype=np.uint8)
    expected = images.reshape(40, -1)[:, :2].astype(np.float32) / 255  # the model's points: its first 2 pixels
    onnx.save(linear_pixel_model(np.eye(2), np.zeros(2), ["a", "b"]), tmp_path / "m.onnx")
    model = load(tmp_path / "m.onnx")
    first, second, third = (tmp_path / name for name in ("first", "second", "third"))
    for folder in (first, second, third):
        folder.mkdir()

    coords, seconds = train_points.training_points(model, images, "files-1", 16, tmp_path / "none", first)
    assert seconds is not None and np.array_equal(coords, expected)
    cached = dict(np.load(first / train_points.TRAIN_POINTS))
    np.savez(first / train_points.TRAIN_POINTS, **{**cached, "coords": cached["coords"] + 1})  # tell reuse apart
    coords, seconds = train_points.training_points(model, images, "files-1", 16, first, second)
    assert seconds is None and np.array_equal(coords, expected + 1)  # read from the previous folder
    assert np.array_equal(np.load(second / train_points.TRAIN_POINTS)["coords"], expected + 1)  # and carried on

    coords, seconds = train_points.training_points(model, images, "files-2", 16, first, third)  # other files
    assert seconds is not None and np.array_equal(coords, expected)
    onnx.save(linear_pixel_model(np.eye(2), np.ones(2), ["a", "b"]), tmp_path / "other.onnx")  # other model
    coords, seconds = train_points.training_points(load(tmp_path / "other.onnx"), images, "files-1", 16, first, third)
    assert seconds is not None and np.array_equal(coords, expected)
    (first / train_points.TRAIN_POINTS).write_bytes(b"not an npz")  # damaged: computed again
    coords, seconds = train_points.training_points(model, images, "files-1", 16, first, third)
    assert seconds is not None and np.array_equal(coords, expected)
