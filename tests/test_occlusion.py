"""Occlusion maps of the hard negatives, recomputed independently of analyzer/occlusion.py."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from PIL import Image

from analyzer import occlusion
from analyzer.cli import main
from analyzer.config import AnalyzeConfig, ConfigError
from tests.handmade import images_with_pixels, linear_pixel_model, write_test_set


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits.astype(np.float64) - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def maps_by_loop(session: ort.InferenceSession, image: np.ndarray, true: int, patch: int,
                 stride: int) -> tuple[np.ndarray, np.ndarray]:
    """(predicted drop, true rise), one onnxruntime call per patch position."""
    def probabilities(picture: np.ndarray) -> np.ndarray:
        x = picture[None, None].astype(np.float32) / 255
        return softmax(session.run(["logits"], {"image": x})[0])[0]

    original = probabilities(image)
    predicted = int(original.argmax())
    side = (28 - patch) // stride + 1
    drop, rise = np.zeros((side, side)), np.zeros((side, side))
    for i in range(side):
        for j in range(side):
            covered = image.copy()
            covered[i * stride : i * stride + patch, j * stride : j * stride + patch] = 0
            p = probabilities(covered)
            drop[i, j] = original[predicted] - p[predicted]
            rise[i, j] = p[true] - original[true]
    return drop, rise


def test_maps_of_two_hard_negatives_match_a_plain_loop(smoke_site, data_dir):
    from fmnist_common.idx import load_test_set

    analysis = smoke_site / "analysis"
    results = json.loads((analysis / "results.json").read_text())
    block = results["occlusion"]
    assert (block["patch"], block["stride"], block["fill"], block["file"]) == (4, 2, 0, "occlusion.npz")
    with np.load(analysis / "occlusion.npz") as saved:
        index, drop, rise = saved["test_index"], saved["predicted_drop"], saved["true_rise"]
    listed = [i["test_index"] for c in results["hard_negatives"]["classes"] for i in c["items"]]
    assert index.tolist() == listed and drop.shape == rise.shape == (len(listed), 13, 13)
    assert drop.dtype == rise.dtype == np.float32
    images, labels, _ = load_test_set(data_dir)
    session = ort.InferenceSession(str(smoke_site / "model.onnx"), providers=["CPUExecutionProvider"])
    for row in (0, len(listed) - 1):
        expected_drop, expected_rise = maps_by_loop(session, images[index[row]], int(labels[index[row]]), 4, 2)
        assert np.allclose(drop[row], expected_drop, atol=2e-5), row
        assert np.allclose(rise[row], expected_rise, atol=2e-5), row
        item = block["items"][row]
        i, j = np.unravel_index(expected_drop.argmax(), expected_drop.shape)
        assert item["lowered"]["rows"] == [2 * i, 2 * i + 3] and item["lowered"]["columns"] == [2 * j, 2 * j + 3]
        assert item["lowered"]["occluded"] == pytest.approx(item["lowered"]["original"] - expected_drop.max(),
                                                            abs=2e-5)
        assert item["sentence"].startswith(("Covering the ", "No 4×4 patch lowers "))
        for key in ("image", "predicted_map", "true_map"):
            with Image.open(analysis / item[key]) as picture:
                assert picture.size == (112, 112)
        with Image.open(analysis / item["predicted_map"]) as picture:
            red, _, blue = np.asarray(picture.convert("RGB"))[4 * (2 * i + 2), 4 * (2 * j + 2)].astype(int)
        assert expected_drop.max() < 0.01 or red > blue  # the largest drop is drawn red


@pytest.mark.parametrize(("i", "j", "words"), [
    (0, 0, "the upper left"), (0, 6, "the upper centre"), (6, 6, "the centre"), (6, 12, "the centre right"),
    (12, 0, "the lower left"), (12, 12, "the lower right"),
])
def test_regions_are_named_by_thirds_of_the_image(i, j, words):
    assert occlusion.region(i, j, 4, 2) == words


def test_copies_cover_exactly_the_patch_and_skip_blank_ones():
    image = np.full((1, 28, 28), 7, np.uint8)
    image[0, :6, :6] = 0  # the first patch positions cover only background
    copies, changed = occlusion.occluded_copies(image, 4, 2)
    assert copies.shape == (1, 13, 13, 28, 28) and changed.shape == (1, 13, 13)
    assert not changed[0, 0, 0] and not changed[0, 1, 1] and changed[0, 2, 2] and changed[0, 12, 12]
    covered = copies[0, 3, 5] == 0
    expected = np.zeros((28, 28), bool)
    expected[6:10, 10:14] = True
    assert np.array_equal(covered & (image[0] > 0), expected & (image[0] > 0))


@pytest.mark.parametrize(("patch", "stride", "side"), [(4, 2, 13), (28, 1, 1), (5, 3, 8), (1, 1, 28)])
def test_grid_size(patch, stride, side):
    assert occlusion.grid_size(patch, stride) == side


def test_a_patch_larger_than_the_image_is_refused():
    with pytest.raises(ConfigError, match=r"^--occlusion-patch 29 must be at most 28 \(the image's side\)$"):
        AnalyzeConfig(model="m", data="d", out="o", occlusion_patch=29)


def test_exact_maps_of_a_model_with_three_units_and_one_image_per_class(tmp_path):
    """Logits = 10 x the first three pixels: covering pixel 0 (only the patches of column 0) changes
    the answer, every other patch leaves it exactly as it was. Class c has no miss; top_k = 1."""
    names = ["a", "b", "c"]
    images = images_with_pixels([(200, 0, 0), (0, 200, 0), (0, 0, 200), (200, 100, 0), (0, 200, 0)])
    labels = np.array([1, 1, 2, 1, 0])
    write_test_set(tmp_path / "data", images, labels)
    onnx.save(linear_pixel_model(np.eye(3) * 10, np.zeros(3), names), tmp_path / "m.onnx")
    assert main(["--model", str(tmp_path / "m.onnx"), "--data", str(tmp_path / "data"), "--top-k", "1",
                 "--out", str(tmp_path / "run" / "analysis")]) == 0
    analysis = tmp_path / "run" / "analysis"
    results = json.loads((analysis / "results.json").read_text())
    with np.load(analysis / "occlusion.npz") as saved:
        index, drop, rise = saved["test_index"], saved["predicted_drop"], saved["true_rise"]
    assert index.tolist() == [4, 0]  # a's only miss, then b's most confident one (c has none)
    p = softmax(np.array([200 / 255 * 10, 0, 0]))  # image 0: a, wrongly; covered at (0, 0): uniform
    expected = np.zeros((13, 13))
    expected[0, 0] = p[0] - 1 / 3
    assert np.allclose(drop[1], expected, atol=1e-6)
    expected[0, 0] = 1 / 3 - p[1]
    assert np.allclose(rise[1], expected, atol=1e-6)
    item = results["occlusion"]["items"][1]
    assert item["sentence"] == (f"Covering the upper left (rows 0–3, columns 0–3) lowers a from {p[0]:.2%} to 33%; "
                                f"covering the same patch raises b from {100 * p[1]:.2f}% to 33%.")
    assert item["positions_answering_true"] == 0  # a tie of three: argmax says a
    assert [c["items"] for c in results["hard_negatives"]["classes"]][2] == []
