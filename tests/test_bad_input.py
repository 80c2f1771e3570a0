"""Bad models, bad output paths, reruns and concurrent runs of the analyzer: one `error:` line,
exit status 2, and an output folder left exactly as it was."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

from analyzer import inputs, report
from analyzer.cli import main
from analyzer.onnx_model import MAX_CLASSES, MAX_NAME_CHARS, available_cores
from fmnist_common.artifacts import folder_lock
from tests.handmade import images_with_pixels, linear_pixel_model, write_test_set

NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress"]
LABELS = np.arange(12) % 4
IMAGES = images_with_pixels([(10 * i, 200 - 10 * i, 5 * i) for i in range(12)])


def good_model(names=NAMES, dims: int = 2) -> onnx.ModelProto:
    weight = np.arange(dims * len(names), dtype=np.float64).reshape(dims, len(names)) / 10
    return linear_pixel_model(weight, np.zeros(len(names)), names)


def run(tmp_path: Path, model: onnx.ModelProto, *extra: str, out: Path | None = None,
        labels: np.ndarray = LABELS) -> tuple[int, Path]:
    data = tmp_path / "data"
    if not data.exists():
        write_test_set(data, IMAGES, labels)
    onnx.save(model, tmp_path / "model.onnx")
    out = out or tmp_path / "out"
    return main(["--model", str(tmp_path / "model.onnx"), "--data", str(data), "--out", str(out), *extra]), out


def snapshot_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def analysed(tmp_path) -> Path:
    """An output folder holding a good earlier analysis."""
    code, out = run(tmp_path, good_model())
    assert code == 0
    return out


def scaled_bottleneck(scale: float) -> onnx.ModelProto:
    """The good model with its bottleneck (the first two pixels) multiplied by `scale`."""
    model = good_model()
    gather = next(node for node in model.graph.node if node.op_type == "Gather")
    gather.output[0] = "pixels"
    model.graph.initializer.append(numpy_helper.from_array(np.array(scale, np.float32), "scale"))
    model.graph.node.insert(2, helper.make_node("Mul", ["pixels", "scale"], ["bottleneck"]))
    onnx.checker.check_model(model, full_check=True)
    return model


MANY = [f"class {i}" for i in range(MAX_CLASSES + 1)]

BAD_MODELS = {
    "nan logits": (linear_pixel_model(np.zeros((2, 4)), np.array([0, np.nan, 0, 0]), NAMES),
                   "'logits' holds NaN or infinity for 12 of 12 test images (first: test image 0); "
                   "the model is broken, so nothing was analysed"),
    "infinite logits": (linear_pixel_model(np.zeros((2, 4)), np.array([0, np.inf, 0, 0]), NAMES),
                        "'logits' holds NaN or infinity for 12 of 12 test images (first: test image 0)"),
    "infinite bottleneck": (linear_pixel_model(np.ones((2, 4)), np.zeros(4), NAMES, bottleneck_op="Log"),
                            "'bottleneck' holds NaN or infinity for 1 of 12 test images (first: test image 0)"),
    "fixed batch": (linear_pixel_model(np.ones((2, 4)), np.zeros(4), NAMES, input_shape=(1, 1, 28, 28)),
                    "input 'image' has a fixed batch size of 1; expected a dynamic batch axis N"),
    "names shorter than logits": (linear_pixel_model(np.ones((2, 4)), np.zeros(4), NAMES[:3]),
                                  "'logits' is 4 wide, but metadata 'class_names' names 3 classes"),
    "more classes than the limit": (good_model(MANY), f"metadata 'class_names' names {MAX_CLASSES + 1} classes; the "
                                                      f"analysis draws at most {MAX_CLASSES} (its confusion matrix has "
                                                      "one row and column per class)"),
    "a name longer than the limit": (good_model(["a", "b" * (MAX_NAME_CHARS + 1), "c", "d"]),
                                     f"metadata 'class_names': class 1's name is {MAX_NAME_CHARS + 1} characters long; "
                                     f"the figures label their axes with the names, so each may be at most "
                                     f"{MAX_NAME_CHARS}; shorten it"),
    "a name of 20,000 characters": (good_model(["a", "b", "c" * 20_000, "d"]),
                                    "class 2's name is 20,000 characters long"),
    "a bottleneck of 1e31": (scaled_bottleneck(1e31),
                             "'bottleneck' holds values beyond ±1e+15 for 12 of 12 test images (first: test image 0, "
                             "largest 7.84e+30); the analysis squares them in float32, which overflows; export a model "
                             "whose outputs stay within ±1e+15"),
}


@pytest.mark.parametrize("case", BAD_MODELS)
def test_bad_model_is_one_line_and_leaves_the_output(tmp_path, analysed, capsys, case):
    before = snapshot_of(analysed)
    capsys.readouterr()
    model, message = BAD_MODELS[case]
    code, _ = run(tmp_path, model)
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"error: {tmp_path / 'model.onnx'}") and err.count("\n") == 1
    assert message in err
    assert snapshot_of(analysed) == before
    published = os.readlink(analysed)  # the build `out` links to; a refused run leaves nothing else
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out")) == [published, ".out.lock"]


@pytest.fixture
def no_inference(monkeypatch):
    """Fail the test if the model is run over the test set: output checks come before the work."""
    def refuse(*args, **kwargs):
        raise AssertionError("inference ran before the output was checked")
    monkeypatch.setattr(inputs, "infer", refuse)


def test_output_that_is_a_file(tmp_path, capsys, no_inference):
    target = tmp_path / "results"
    target.write_text("keep me")
    code, _ = run(tmp_path, good_model(), out=target)
    assert code == 2
    assert capsys.readouterr().err == f"error: --out {target} is a file; choose a folder\n"
    assert target.read_text() == "keep me"


def test_output_under_a_file(tmp_path, capsys, no_inference):
    (tmp_path / "plain").write_text("keep me")
    target = tmp_path / "plain" / "deeper" / "out"
    code, _ = run(tmp_path, good_model(), out=target)
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: --out {target} lies under a file (") and err.count("\n") == 1
    assert (tmp_path / "plain").read_text() == "keep me"


@pytest.mark.parametrize("kind", ["missing", "a file"])
def test_data_that_is_no_folder_is_named_as_such(tmp_path, capsys, kind):
    data = tmp_path / "nowhere"
    if kind == "a file":
        data.write_text("keep me")
    onnx.save(good_model(), tmp_path / "model.onnx")
    assert main(["--model", str(tmp_path / "model.onnx"), "--data", str(data), "--out", str(tmp_path / "out")]) == 2
    what = "not found" if kind == "missing" else "is not a folder"
    assert capsys.readouterr().err == (
        f"error: {data} {what}; pass the folder holding the Fashion-MNIST files (the two t10k files; the two train "
        'files add the nearest training images), or the data root where "make data" put them under '
        "FashionMNIST/raw/\n")


def test_a_failed_analysis_leaves_no_folders_behind(tmp_path, capsys):
    model = good_model()
    model.graph.output.pop()  # no 'bottleneck': refused once the model is read, before any work
    code, out = run(tmp_path, model, out=tmp_path / "fresh" / "a" / "analysis")
    assert code == 2 and "lacks the output(s) ['bottleneck']" in capsys.readouterr().err
    assert not (tmp_path / "fresh").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_output_in_a_read_only_folder(tmp_path, capsys, no_inference):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        code, _ = run(tmp_path, good_model(), out=locked / "out")
    finally:
        locked.chmod(0o755)
    assert code == 2
    assert capsys.readouterr().err == f"error: cannot write into {locked}; choose a writable --out\n"


def strict_json(path: Path) -> dict:
    def refuse(constant):
        raise ValueError(f"{path} holds {constant}, which is not JSON")
    return json.loads(path.read_text(), parse_constant=refuse)


def test_a_class_without_test_images_gives_strict_json(tmp_path):
    labels = np.array([0, 1, 3] * 4)  # no Pullover in the test set
    code, out = run(tmp_path, good_model(), labels=labels)
    assert code == 0
    results = strict_json(out / "results.json")
    assert results["confusion"]["per_class"][2] == {"class": "Pullover", "precision": 0.0, "recall": 0.0, "f1": 0.0,
                                       "support": 0}
    assert results["bottleneck"]["class_centres"][2] is None
    assert results["confusion"]["matrix"]["row_normalised"][2] == [0.0] * 4


@pytest.mark.slow  # over 2 s: left out of make test-quick
def test_rerun_replaces_the_whole_folder(tmp_path):
    names = ["a", "b", "c", "d"]
    code, out = run(tmp_path, good_model(names), "--top-k", "3")
    assert code == 0
    first = {p.relative_to(out) for p in (out / "hard_neg").rglob("*.png")}
    assert first and all(str(p).startswith("hard_neg/") for p in first)
    (tmp_path / ".out-killed").mkdir()  # what a killed run leaves beside the folder
    code, _ = run(tmp_path, good_model(NAMES), "--top-k", "1")
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    listed = {Path(i["image"]) for c in results["hard_negatives"]["classes"] for i in c["items"]}
    assert {p.relative_to(out) for p in (out / "hard_neg").rglob("*.png")} == listed
    assert not listed & first
    assert not (tmp_path / ".out-killed").exists()


def test_a_second_run_into_a_held_folder_refuses(tmp_path, capsys, analysed):
    before = snapshot_of(analysed)
    capsys.readouterr()
    with folder_lock(analysed):
        code, _ = run(tmp_path, good_model(["w", "x", "y", "z"]))
    assert code == 2
    assert capsys.readouterr().err == (
        f"error: {analysed} is being written by another run (it holds {tmp_path / '.out.lock'}); wait for it "
        "to finish or choose another output folder\n"
    )
    assert snapshot_of(analysed) == before
    code, _ = run(tmp_path, good_model(["w", "x", "y", "z"]))  # released: the next run goes ahead
    assert code == 0


def test_hostile_class_names_reach_the_figures_as_text(tmp_path):
    names = [r"$\undefinedcmd$", "$x$ and $y$", "a/b", "a_b"]
    code, out = run(tmp_path, good_model(names))
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    assert results["class_names"] == names
    folders = sorted(p.name for p in (out / "hard_neg").iterdir())
    assert len(folders) == len({f.split("_", 1)[0] for f in folders})  # collisions numbered, none merged
    assert all(".." not in f and "/" not in f for f in folders)


def write_snapshots(path: Path, coords: np.ndarray, labels: np.ndarray, names: list[str]) -> None:
    frames = len(coords)
    np.savez(path, indices=np.arange(coords.shape[1]), labels=labels, steps=np.arange(frames) * 10,
             epochs=np.arange(frames) / 4, coords=coords.astype(np.float32), class_names=np.asarray(names),
             info_indices=np.arange(coords.shape[1]), info_labels=labels, info_coords=coords.astype(np.float32))


@pytest.mark.slow  # over 2 s: left out of make test-quick
def test_one_projection_for_every_page_of_a_wide_bottleneck(tmp_path):
    rng = np.random.default_rng(1)
    coords = rng.normal(size=(5, 12, 16)) * np.linspace(3, 0.1, 16)
    write_snapshots(tmp_path / "snap.npz", coords, LABELS, NAMES)
    code, out = run(tmp_path, good_model(dims=16), "--snapshots", str(tmp_path / "snap.npz"))
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    plane = results["bottleneck"]["plane"]
    assert plane["kind"] == "pca" and np.array(plane["axes"]).shape == (2, 16)
    emb = np.load(out / "embeddings.npz")
    expected = (emb["coords"] - plane["mean"]) @ np.array(plane["axes"]).T
    data = json.loads((out / "explorer/data.js").read_text().removeprefix("window.EXPLORER_DATA = ").rstrip(";\n"))
    assert np.allclose([p[:2] for p in data["points"]], expected, atol=2e-3)
    replay = (coords - plane["mean"]) @ np.array(plane["axes"]).T
    assert np.allclose(data["replay"]["frames"], replay, atol=2e-3)
    info = results["information_plane"]  # D = 16 >= 13: binning must not overflow
    assert info["binning_ceiling_bits"] == pytest.approx(np.log2(12))


@pytest.mark.slow  # over 2 s: left out of make test-quick
def test_a_one_unit_bottleneck_is_drawn_with_a_row_per_class(tmp_path):
    rng = np.random.default_rng(2)
    coords = rng.normal(size=(5, 12, 1)) * np.arange(1, 6)[:, None, None]
    write_snapshots(tmp_path / "snap.npz", coords, LABELS, NAMES)
    code, out = run(tmp_path, good_model(dims=1), "--snapshots", str(tmp_path / "snap.npz"))
    assert code == 0
    block = json.loads((out / "results.json").read_text())["bottleneck"]
    assert (block["dim"], block["projection"], block["regions_drawn"]) == (1, "strip", True)
    assert block["axis_labels"] == ["bottleneck unit 1", "true class (a row each)"]
    emb = np.load(out / "embeddings.npz")
    row = block["plane"]["row_height"]
    assert row == pytest.approx(float(np.ptp(emb["coords"])) / len(NAMES))
    data = json.loads((out / "explorer/data.js").read_text().removeprefix("window.EXPLORER_DATA = ").rstrip(";\n"))
    points = np.array([p[:2] for p in data["points"]])
    assert np.allclose(points[:, 0], emb["coords"][:, 0], atol=2e-3)  # across: the unit itself
    assert np.abs(points[:, 1] / row - emb["labels"]).max() <= 0.3 + 1e-2  # up: inside the true class's row
    assert len(set(points[:, 1].round(3))) > len(NAMES)  # the points of a row are spread apart
    assert [w[1] for w in data["head"]["weight"]] == [0.0] * len(NAMES)  # the rows do not change the prediction
    frames = np.array(data["replay"]["frames"])  # (F, P, 2): the same row offsets in every frame
    assert np.allclose(frames[..., 0], coords[..., 0], atol=2e-3)
    assert np.allclose(frames[:, :, 1], frames[0, :, 1]) and np.abs(frames[0, :, 1] / row - LABELS).max() <= 0.31
    assert (out / "bottleneck_map.png").is_file() and (out / "information_bottleneck.gif").is_file()


@pytest.mark.parametrize(("flags", "message"), [
    (["--top-k", "0"], "--top-k 0 must be at least 1"),
    (["--gif-frame-ms", "85"], "--gif-frame-ms 85 must be a multiple of 10 (GIF delays are in 1/100 s)"),
    (["--information-noise", "0"], "--information-noise 0.0 must be positive and finite"),
    (["--information-noise", "inf"], "--information-noise inf must be positive and finite"),
    (["--neighbours", "100000"], "--neighbours 100000 must be at most 10 (a row of thumbnails under each hard "
                                 "negative)"),
    (["--batch-size", "0"], "--batch-size 0 must be at least 1"),
    (["--threads", "100000"], f"--threads 100000 must be at most {available_cores()} (the cores this process may use)"),
    (["--calibration-bins", "1000000"], "--calibration-bins 1000000 must be at most 100 (bins of 1 percentage point)"),
    (["--gif-frame-ms", "10000000"], "--gif-frame-ms 10000000 must be at most 655,350 (the longest delay a GIF can "
                                     "store)"),
])
def test_out_of_range_flags(tmp_path, capsys, flags, message):
    code, out = run(tmp_path, good_model(), *flags)
    assert code == 2
    assert capsys.readouterr().err == f"error: {message}\n"
    assert not out.exists()


def test_every_config_field_is_a_flag():
    from analyzer.config import AnalyzeConfig, build_parser

    flags = {a.dest for a in build_parser("")._actions if a.dest != "help"}
    assert flags == set(AnalyzeConfig.__dataclass_fields__)


def test_analysis_checks_output_before_loading_data(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "load_test_set", lambda *a: pytest.fail("data read before the output check"))
    (tmp_path / "f").write_text("")
    code, _ = run(tmp_path, good_model(), out=tmp_path / "f")
    assert code == 2
