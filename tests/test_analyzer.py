"""The analyzer on handmade ONNX models whose every answer is known in advance."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from PIL import Image

from analyzer.cli import main
from tests.handmade import FMNIST, images_with_pixels, linear_pixel_model, write_test_set


def analyse(tmp_path, model, images, labels, *extra, packed=False):
    data = tmp_path / "data"
    write_test_set(data, images, labels, packed=packed)
    onnx.save(model, tmp_path / "model.onnx")
    out = tmp_path / "out"
    code = main(["--model", str(tmp_path / "model.onnx"), "--data", str(data), "--out", str(out), *extra])
    results = json.loads((out / "results.json").read_text()) if code == 0 else None
    return code, results, out


def test_always_class_3(tmp_path):
    bias = np.zeros(10)
    bias[3] = 5.0
    labels = np.array(list(range(10)) * 2)
    code, results, out = analyse(tmp_path, linear_pixel_model(np.zeros((2, 10)), bias, FMNIST),
                                 np.zeros((20, 28, 28), np.uint8), labels, "--top-k", "2")
    assert code == 0
    expected = np.zeros((10, 10), int)
    expected[:, 3] = 2
    assert results["confusion"]["matrix"]["counts"] == expected.tolist()
    assert results["confusion"]["matrix"]["class_names"] == FMNIST
    assert results["accuracy"] == 0.1 and results["correct"] == 2
    dress = results["confusion"]["per_class"][3]
    assert dress == {"class": "Dress", "precision": 0.1, "recall": 1.0, "f1": pytest.approx(2 * 0.1 / 1.1),
                     "support": 2}
    tshirt = results["confusion"]["per_class"][0]
    assert tshirt["precision"] == 0.0 and tshirt["f1"] == 0.0
    classes = results["hard_negatives"]["classes"]
    assert [len(c["items"]) for c in classes] == [2, 2, 2, 0, 2, 2, 2, 2, 2, 2]
    # equal confidence everywhere: ties keep test-set order
    assert [i["test_index"] for i in classes[0]["items"]] == [0, 10]
    assert classes[3]["note"] == "only 0 of Dress's test images are misclassified"
    assert classes[0]["note"] is None
    confidence = np.exp(5) / (np.exp(5) + 9)
    first = classes[9]["items"][0]
    assert first["confidence"] == pytest.approx(confidence, rel=1e-6)
    assert results["hard_negatives"]["mean_confidence"] == pytest.approx(confidence, rel=1e-6)  # on their page
    assert "mean_confidence_hard_negatives" not in results["calibration"]
    assert first["image"] == "hard_neg/Ankle boot/hard_neg_1(Dress).png"
    assert first["top3"][0] == {"class": "Dress", "probability": pytest.approx(confidence, rel=1e-6)}
    assert [t["class"] for t in first["top3"]] == ["Dress", "T-shirt/top", "Trouser"]  # ties in index order
    assert (out / "hard_neg/T-shirt_top/hard_neg_1(Dress).png").is_file()
    assert not (out / "hard_neg/T-shirt").exists()


def test_ranking_by_wrong_class_probability(tmp_path):
    names = ["T-shirt/top", "Trouser", "Ankle boot", "Bag"]
    weight = np.array([[0.0, 4.0, 0.0, 2.0], [0.0, 0.0, 4.0, 2.0]])  # logits: 0, 4a, 4b, 2(a+b)
    pairs = [(255, 0), (128, 0), (0, 200), (255, 0), (60, 60), (0, 0), (200, 10), (255, 255), (0, 255)]
    labels = np.array([0, 0, 0, 0, 0, 1, 1, 2, 3])
    images = images_with_pixels(pairs)
    code, results, out = analyse(tmp_path, linear_pixel_model(weight, np.zeros(4), names), images, labels,
                                 "--top-k", "3", packed=True)
    assert code == 0
    z = images[:, 0, :2].astype(np.float64) / 255
    logits = z @ weight
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    pred = p.argmax(1)
    for c, cls in enumerate(results["hard_negatives"]["classes"]):
        wrong = [i for i in range(len(labels)) if labels[i] == c and pred[i] != c]
        expected = sorted(wrong, key=lambda i: (-p[i, pred[i]], i))[:3]
        assert [item["test_index"] for item in cls["items"]] == expected
        assert cls["misclassified"] == len(wrong)
        for item in cls["items"]:
            assert item["confidence"] == pytest.approx(p[item["test_index"], pred[item["test_index"]]], rel=1e-5)
            assert item["predicted_class"] == names[pred[item["test_index"]]] != item["true_class"]
    tshirt = results["hard_negatives"]["classes"][0]["items"]
    assert [i["test_index"] for i in tshirt] == [0, 3, 2]  # 0 and 3 tie: index order
    assert len(results["hard_negatives"]["classes"][0]["items"]) == 3  # 5 misses, top 3 kept
    listed = [item["confidence"] for cls in results["hard_negatives"]["classes"] for item in cls["items"]]
    assert results["hard_negatives"]["mean_confidence"] == pytest.approx(np.mean(listed), rel=1e-12)
    picture = Image.open(out / tshirt[0]["image"])
    assert picture.mode == "L" and picture.size == (112, 112)
    pixels = np.asarray(picture)
    assert pixels[0:4, 0:4].tolist() == [[255] * 4] * 4 and pixels[4:, :].max() == 0  # nearest neighbour
    emb = np.load(out / "embeddings.npz")
    assert np.allclose(emb["coords"], z, atol=1e-6)
    assert emb["predictions"].tolist() == pred.tolist()
    assert results["bottleneck"]["head"]["linear"] is True
    assert np.allclose(results["bottleneck"]["head"]["weight"], weight.T, atol=1e-4)


def test_wider_bottleneck_is_projected_without_regions(tmp_path):
    rng = np.random.default_rng(0)
    values = [tuple(int(v) for v in rng.integers(0, 256, 3)) for _ in range(40)]
    weight = np.array([[3.0, 0, 0, -3], [0, 3, 0, -3], [0, 0, 3, -3]])
    code, results, out = analyse(tmp_path, linear_pixel_model(weight, np.zeros(4), FMNIST[:4]),
                                 images_with_pixels(values), np.arange(40) % 4)
    assert code == 0
    assert results["bottleneck"]["dim"] == 3 and results["bottleneck"]["projection"] == "pca"
    assert results["bottleneck"]["regions_drawn"] is False
    assert np.load(out / "embeddings.npz")["coords"].shape == (40, 3)
    assert Image.open(out / "bottleneck_map.png").size[0] > 500


def test_non_affine_head_gets_points_without_regions(tmp_path):
    weight = np.array([[4.0, 0.0], [0.0, 4.0]])
    values = [(a, b) for a in (0, 90, 180, 250) for b in (10, 120, 240)]
    code, results, _ = analyse(tmp_path, linear_pixel_model(weight, np.zeros(2), FMNIST[:2], squared=True),
                               images_with_pixels(values), np.arange(12) % 2)
    assert code == 0
    assert results["bottleneck"]["head"]["linear"] is False and results["bottleneck"]["regions_drawn"] is False


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"outputs": ("scores", "bottleneck")}, "lacks the output(s) ['logits'] (it has ['scores', 'bottleneck']); "
                                                "expected 'logits' [N, C] and 'bottleneck' [N, D]"),
        ({"input_shape": ("N", 1, 32, 32)}, "input 'image' has shape ['N', 1, 32, 32]; expected one input 'image' "
                                            "of type float32 and shape [N, 1, 28, 28]"),
        ({"class_names": None}, "has no 'class_names' metadata; expected metadata_props['class_names'] = a JSON "
                                "list of class names in index order"),
    ],
)
def test_models_that_break_the_interface(tmp_path, capsys, kwargs, message):
    args = {"class_names": FMNIST, **kwargs}
    model = linear_pixel_model(np.zeros((2, 10)), np.zeros(10), **args)
    code, _, _ = analyse(tmp_path, model, np.zeros((10, 28, 28), np.uint8), np.arange(10))
    assert code == 2
    mend = f"python -m exporter.adopt {tmp_path / 'model.onnx'} --out adopted.onnx mends it (docs/model-interface.md)"
    assert capsys.readouterr().err == f"error: {tmp_path / 'model.onnx'} {message}; {mend}\n"


def test_class_count_must_match_logits(tmp_path, capsys):
    model = linear_pixel_model(np.zeros((2, 10)), np.zeros(10), FMNIST[:9])
    code, _, _ = analyse(tmp_path, model, np.zeros((10, 28, 28), np.uint8), np.arange(10) % 9)
    assert code == 2
    assert capsys.readouterr().err == (
        f"error: {tmp_path / 'model.onnx'}: 'logits' is 10 wide, but metadata 'class_names' names 9 classes; "
        "it must list one name per logit\n"
    )


def test_dataset_fingerprint_mismatch(tmp_path, capsys):
    model = linear_pixel_model(np.zeros((2, 10)), np.zeros(10), FMNIST, extra_metadata={"dataset_sha256": "ab" * 32})
    code, _, out = analyse(tmp_path, model, np.zeros((10, 28, 28), np.uint8), np.arange(10))
    assert code == 2
    err = capsys.readouterr().err
    assert "differs from the model's dataset_sha256 abababababab" in err and "--allow-other-data" in err
    with pytest.warns(UserWarning, match="differs from the model's dataset_sha256"):
        code = main(["--model", str(tmp_path / "model.onnx"), "--data", str(tmp_path / "data"),
                     "--out", str(out), "--allow-other-data"])
    assert code == 0
    assert json.loads((out / "results.json").read_text())["dataset"]["matches_model"] is False


def test_truncated_idx_file(tmp_path, capsys):
    model = linear_pixel_model(np.zeros((2, 10)), np.zeros(10), FMNIST)
    write_test_set(tmp_path / "data", np.zeros((10, 28, 28), np.uint8), np.arange(10))
    images = tmp_path / "data/FashionMNIST/raw/t10k-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:-5])
    onnx.save(model, tmp_path / "model.onnx")
    out = tmp_path / "o"
    assert main(["--model", str(tmp_path / "model.onnx"), "--data", str(tmp_path / "data"), "--out", str(out)]) == 2
    assert capsys.readouterr().err == (f"error: {images}: 7851 bytes, header promises 7856; file truncated?\n")
    assert not (tmp_path / "o" / "results.json").exists()


def test_missing_model(tmp_path, capsys):
    assert main(["--model", str(tmp_path / "none.onnx"), "--data", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    missing = tmp_path / "none.onnx"
    assert capsys.readouterr().err == (f'error: {missing} not found; pass an ONNX model as --model ("make export" '
                                       'writes RUN/model.onnx)\n')


def test_reliability_on_known_cases():
    from analyzer.calibration import reliability

    # two classes; confidence 0.9 on 10 images of which 9 are right, 0.6 on 10 of which 3 are right
    probabilities = np.array([[0.9, 0.1]] * 10 + [[0.6, 0.4]] * 10)
    labels = np.array([0] * 9 + [1] + [0] * 3 + [1] * 7)
    cal = reliability(probabilities, labels, bins=15)
    assert cal["ece"] == pytest.approx(0.5 * 0.0 + 0.5 * 0.3)
    assert cal["confidence_minus_accuracy"] == pytest.approx(0.75 - 0.6)
    filled = [b for b in cal["bins"] if b["count"]]
    assert [(b["count"], b["correct"], b["wrong"]) for b in filled] == [(10, 3, 7), (10, 9, 1)]
    assert filled[1]["low"] == pytest.approx(13 / 15) and filled[1]["accuracy"] == pytest.approx(0.9)
    assert cal["mean_confidence_wrong"] == pytest.approx((0.9 + 7 * 0.6) / 8)
    assert sum(b["count"] for b in cal["bins"]) == 20


def test_confidence_one_falls_in_the_last_bin():
    from analyzer.calibration import reliability

    cal = reliability(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0, 1]), bins=15)
    assert cal["bins"][-1]["count"] == 2 and cal["ece"] == 0.0
