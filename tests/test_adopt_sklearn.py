"""Adoption of real skl2onnx output: scikit-learn MLPs trained here for seconds, then exported.

Each kind the issue lists (hidden layers (64, 2); string labels, which ZipMap sorts as strings; a
class never seen in training; float64; a Pipeline with a scaler) is adopted, and the adopted model's
predictions are checked against skl2onnx's own `label` output on every test image, outside the
command's own proof. One of them is analysed and published as a site.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import skl2onnx
from skl2onnx import to_onnx
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from analyzer.onnx_model import load
from exporter.adopt.cli import main
from fmnist_common.idx import load_test_set, load_train_set
from fmnist_common.interface import run_batches
from tests.handmade import FMNIST
from tests.html_pages import read_page

TRAIN_IMAGES = 2000
# 15 iterations on 2,000 images: scikit-learn warns that the MLP has not converged, as meant
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def train(data_dir) -> tuple[np.ndarray, np.ndarray]:
    images, labels, _ = load_train_set(data_dir)
    return images[:TRAIN_IMAGES].reshape(-1, 784).astype(np.float32) / 255, labels[:TRAIN_IMAGES]


def mlp(hidden=(64, 2)) -> MLPClassifier:
    return MLPClassifier(hidden, max_iter=15, random_state=0)


def fitted(kind: str, x: np.ndarray, y: np.ndarray) -> tuple[object, np.ndarray]:
    """(the estimator of one kind trained on (x, y), a sample row of the type it is exported for)."""
    if kind == "string labels":
        return mlp().fit(x, np.array(FMNIST)[y]), x[:1]
    if kind == "without a class":
        keep = y != 3
        return mlp().fit(x[keep], y[keep]), x[:1]
    if kind == "float64":
        return mlp().fit(x.astype(np.float64), y), x[:1].astype(np.float64)
    if kind == "pipeline":
        return make_pipeline(StandardScaler(), mlp((32,))).fit(x, y), x[:1]
    return mlp().fit(x, y), x[:1]


def predictions(estimator, sample: np.ndarray, images: np.ndarray) -> np.ndarray:
    """The class index skl2onnx's model predicts for each uint8 image, exported without ZipMap, which
    onnxruntime cannot run on float64 probabilities."""
    reference = to_onnx(estimator, sample, options={MLPClassifier: {"zipmap": False}})
    session = ort.InferenceSession(reference.SerializeToString(), providers=["CPUExecutionProvider"])
    x = (images.reshape(-1, 784).astype(np.float32) / 255).astype(sample.dtype)
    labels = session.run(["label"], {"X": x})[0]
    return np.array([FMNIST.index(v) if isinstance(v, str) else v for v in labels])


# kind -> (bottleneck width, input type, classes the model lacks)
KINDS = {
    "hidden layers (64, 2)": (2, "float", []),
    "string labels": (2, "float", []),
    "without a class": (2, "float", ["Dress"]),
    "float64": (2, "double", []),
    "pipeline": (32, "float", []),
}


@pytest.mark.parametrize("kind", KINDS)
def test_a_scikit_learn_mlp_is_adopted_with_its_own_predictions(kind, train, data_dir, tmp_path, capsys):
    dim, input_type, missing = KINDS[kind]
    estimator, sample = fitted(kind, *train)
    onnx.save(to_onnx(estimator, sample), tmp_path / "mlp.onnx")
    out = tmp_path / "adopted" / "model.onnx"
    assert main([str(tmp_path / "mlp.onnx"), "--out", str(out), "--data", str(data_dir)]) == 0
    images, _, _ = load_test_set(data_dir)
    expected = predictions(estimator, sample, images)
    model = load(out)
    logits, coords = run_batches(model.session, images, 1000)
    np.testing.assert_array_equal(logits.argmax(axis=1), expected)
    assert (model.class_names, model.bottleneck_dim, coords.shape) == (FMNIST, dim, (len(images), dim))
    report = json.loads((out.parent / "adopt_report.json").read_text())
    assert (report["passed"], report["predictions_equal"], report["predictions_differ"]) == (True, 10_000, 0)
    adopted_from = json.loads(model.metadata["adopted_from"])
    assert adopted_from["producer"].startswith("skl2onnx ")
    assert adopted_from["input"] == {"name": "X", "shape": ["N", 784], "type": input_type, "layout": "flat",
                                     "range": "0..1", "range_given": False}
    assert adopted_from["classes"]["missing"] == missing
    assert adopted_from["logits"]["derived"].startswith("the input of Softmax ")
    if missing:
        assert "  missing     Dress: never predicted\n" in capsys.readouterr().out
        assert 3 not in logits.argmax(axis=1)


def test_string_labels_are_put_in_fashion_mnist_order(train, data_dir, tmp_path):
    onnx.save(to_onnx(*fitted("string labels", *train)), tmp_path / "mlp.onnx")
    out = tmp_path / "model.onnx"
    assert main([str(tmp_path / "mlp.onnx"), "--out", str(out), "--data", str(data_dir)]) == 0
    classes = json.loads(load(out).metadata["adopted_from"])["classes"]
    assert classes["labels"] == sorted(FMNIST)  # ZipMap's columns: the labels sorted as strings
    assert classes["columns"] == [sorted(FMNIST).index(name) for name in FMNIST]


@pytest.mark.slow  # over 2 s: left out of make test-quick
def test_an_adopted_mlp_is_analysed_and_published(train, data_dir, tmp_path):
    from analyzer.cli import main as analyze
    from site_renderer.cli import main as render

    onnx.save(to_onnx(*fitted("hidden layers (64, 2)", *train)), tmp_path / "mlp.onnx")
    run = tmp_path / "run"
    assert main([str(tmp_path / "mlp.onnx"), "--out", str(run / "model.onnx"), "--data", str(data_dir)]) == 0
    assert analyze(["--model", str(run / "model.onnx"), "--data", str(data_dir), "--out", str(run / "analysis")]) == 0
    assert render(["--run", str(run)]) == 0
    sha256 = hashlib.sha256((tmp_path / "mlp.onnx").read_bytes()).hexdigest()
    producer = f"skl2onnx {skl2onnx.__version__}"
    index, model = read_page(run / "site" / "index.html"), read_page(run / "site" / "model.html")
    assert (f"A classifier trained elsewhere, adopted from mlp.onnx ({producer}, sha256 {sha256[:16]}…): its tensor "
            "next_activations1 has 2 units, so every image becomes a point on a plane; its scores are add_result2 "
            "(where it came from).") in " ".join(index.text.split())
    assert "convolutional" not in index.text and "normalises them itself" not in model.text
    assert model.tables[0] == [
        ["What", "Value"],
        ["source", f"mlp.onnx, sha256 {sha256[:16]}…"],
        ["producer", producer],
        ["its input", "X [N, 784] float, layout flat, pixels in 0..1 (assumed: a graph does not say)"],
        ["logits", "add_result2: the input of Softmax 'Relu2'"],
        ["bottleneck", "next_activations1, 2 units, drawn as they are"],
    ]


def test_a_tree_ensemble_is_refused(train, data_dir, tmp_path, capsys):
    onnx.save(to_onnx(DecisionTreeClassifier(max_depth=4).fit(*train), train[0][:1]), tmp_path / "tree.onnx")
    assert main([str(tmp_path / "tree.onnx"), "--out", str(tmp_path / "out.onnx"), "--data", str(data_dir)]) == 2
    assert capsys.readouterr().err == (
        f"error: {tmp_path / 'tree.onnx'}: its scores come from TreeEnsembleClassifier 'TreeEnsembleClassifier', not "
        "from a Gemm or MatMul layer, so it has no hidden layer to draw (a tree ensemble or a linear classifier); "
        "pass --bottleneck TENSOR to choose one anyway (--list-tensors lists them)\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tree.onnx"]


def test_a_linear_classifier_is_adopted_with_the_bottleneck_asked_and_logs_of_its_probabilities(
        train, data_dir, tmp_path, capsys):
    estimator = LogisticRegression(max_iter=20).fit(*train)
    onnx.save(to_onnx(estimator, train[0][:1]), tmp_path / "linear.onnx")
    out = tmp_path / "model.onnx"
    assert main([str(tmp_path / "linear.onnx"), "--out", str(out), "--data", str(data_dir), "--bottleneck", "X",
                 "--input-range", "0..1"]) == 0
    assert capsys.readouterr().err == ("warning: 'probabilities' holds probabilities with no Softmax in the graph; "
                                       "their log serves as logits (a probability of 0 becomes about -85)\n")
    images = load_test_set(data_dir)[0]
    model = load(out)
    logits, coords = run_batches(model.session, images, 1000)
    expected = estimator.predict(images.reshape(-1, 784).astype(np.float32) / 255)
    assert (logits.argmax(axis=1) != expected).sum() <= 2  # scikit-learn computes in float64, ONNX in float32
    np.testing.assert_array_equal(coords, images.reshape(-1, 784).astype(np.float32) / 255)
    assert json.loads(model.metadata["adopted_from"])["logits"]["derived"] == (
        "the log of 'probabilities', probabilities with no Softmax in the graph")
