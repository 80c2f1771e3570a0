"""Models that keep the interface's names but not its spirit: outputs of another type, class names
too long for a file name or blank, probabilities for logits, another input range, a collapsed
bottleneck, a folder for a model. Each is analysed correctly or refused with one line, before any
work; a collapsed bottleneck is analysed and its report says so."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto

from analyzer.cli import main
from analyzer.hard_negatives import MAX_NAME_BYTES, folder_names
from site_renderer.cli import main as render
from tests.handmade import images_with_pixels, linear_pixel_model, write_test_set
from tests.html_pages import read_page

NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress"]
WEIGHT = np.array([[2.0, -1.0, 0.5, 0.0], [-1.0, 2.0, 0.0, 0.5]])  # (D, C)
BIAS = np.array([0.0, 0.0, 0.5, -0.5])
CORNERS = [(0, 0), (255, 0), (0, 255), (255, 255)]  # pixel values an integer bottleneck keeps exactly
IMAGES = images_with_pixels(CORNERS * 3)  # (12, 28, 28)
LABELS = np.arange(12) % 4
TRAIN_IMAGES = images_with_pixels([(255 * (i % 2), 255 * (i % 3 == 0), i) for i in range(20)])
TRAIN_LABELS = np.arange(20) % 4


def analyse(tmp_path: Path, model: onnx.ModelProto, *extra: str, images: np.ndarray = IMAGES,
            train: bool = True) -> tuple[int, Path]:
    """Save `model`, write the test (and training) set, analyse into RUN/analysis; (exit code, RUN)."""
    data = tmp_path / "data"
    write_test_set(data, images, LABELS)
    if train:
        write_test_set(data, TRAIN_IMAGES, TRAIN_LABELS, split="train")
    onnx.save(model, tmp_path / "model.onnx")
    run = tmp_path / "run"
    code = main(["--model", str(tmp_path / "model.onnx"), "--data", str(data), "--out", str(run / "analysis"),
                 "--neighbours", "3", *extra])
    return code, run


def refused(capsys, code: int, run: Path) -> str:
    """The one error line of a refused model, after checking that nothing was written."""
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: "), err
    assert not (run / "analysis").exists()
    return err


def embeddings(run: Path) -> dict[str, np.ndarray]:
    with np.load(run / "analysis" / "embeddings.npz") as saved:
        return dict(saved)


def softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


PIXELS = IMAGES.reshape(12, -1)[:, :2].astype(np.float32) / 255  # (12, 2) the float bottleneck
OUTPUT_TYPES = {  # (logits type, bottleneck type) -> what the analysis must have read, as float32
    "int64 bottleneck": ((TensorProto.FLOAT, TensorProto.INT64), PIXELS.astype(np.int64)),
    "int32 bottleneck": ((TensorProto.FLOAT, TensorProto.INT32), PIXELS.astype(np.int32)),
    "float16 logits, float64 bottleneck": ((TensorProto.FLOAT16, TensorProto.DOUBLE), PIXELS.astype(np.float64)),
    "int64 logits": ((TensorProto.INT64, TensorProto.FLOAT), PIXELS),
}


@pytest.mark.parametrize("case", OUTPUT_TYPES)
def test_numeric_outputs_of_any_type_are_read_as_float32(tmp_path, case):
    types, expected_coords = OUTPUT_TYPES[case]
    code, run = analyse(tmp_path, linear_pixel_model(WEIGHT, BIAS, NAMES, output_types=types))
    assert code == 0
    saved = embeddings(run)
    assert saved["coords"].dtype == np.float32
    assert saved["coords"].tolist() == expected_coords.astype(np.float32).tolist()
    logits = PIXELS @ WEIGHT.astype(np.float32) + BIAS.astype(np.float32)  # the head reads the float bottleneck
    as_read = {TensorProto.FLOAT: logits, TensorProto.FLOAT16: logits.astype(np.float16),
               TensorProto.INT64: logits.astype(np.int64)}[types[0]].astype(np.float64)
    assert np.allclose(saved["probabilities"], softmax(as_read), atol=1e-6)
    results = json.loads((run / "analysis" / "results.json").read_text())
    assert results["neighbours"]["available"]  # the nearest-neighbour code met the points too
    assert results["neighbours"]["train_images"] == 20


@pytest.mark.parametrize(("element_type", "shown"), [(TensorProto.BOOL, "tensor(bool)"),
                                                     (TensorProto.STRING, "tensor(string)")])
def test_non_numeric_output_is_refused(tmp_path, capsys, element_type, shown):
    model = linear_pixel_model(WEIGHT, BIAS, NAMES, output_types=(TensorProto.FLOAT, element_type))
    code, run = analyse(tmp_path, model)
    assert refused(capsys, code, run) == (
        f"error: {tmp_path / 'model.onnx'}: output 'bottleneck' is of type {shown}; expected numbers "
        "(float32, or any float or integer type, which the analysis reads as float32)\n"
    )


def test_probabilities_for_logits_are_refused(tmp_path, capsys):
    code, run = analyse(tmp_path, linear_pixel_model(WEIGHT, BIAS, NAMES, logits_op="Softmax"))
    assert refused(capsys, code, run) == (
        f"error: {tmp_path / 'model.onnx'}: 'logits' holds probabilities, not logits: all 12 rows are "
        "non-negative and sum to 1 (within 0.001); export the scores before the softmax as 'logits' "
        "(the analysis takes the softmax itself)\n"
    )


def test_non_negative_logits_that_do_not_sum_to_one_are_logits(tmp_path):
    """Relu-like scores are non-negative too; only rows that also sum to 1 are probabilities."""
    code, _ = analyse(tmp_path, linear_pixel_model(np.abs(WEIGHT), np.full(4, 0.1), NAMES))
    assert code == 0


@pytest.mark.parametrize(("metadata", "divisor"), [({}, 255), ({"input_range": "0..1"}, 255),
                                                   ({"input_range": "0..255"}, 1)])
def test_input_range_metadata_decides_the_pixel_values_fed(tmp_path, metadata, divisor):
    images = images_with_pixels([(10 * i, 200 - 10 * i) for i in range(12)])
    code, run = analyse(tmp_path, linear_pixel_model(WEIGHT, BIAS, NAMES, extra_metadata=metadata),
                        images=images, train=False)
    assert code == 0
    expected = images.reshape(12, -1)[:, :2].astype(np.float32) / np.float32(divisor)
    assert embeddings(run)["coords"].tolist() == expected.tolist()


@pytest.mark.parametrize("value", ["-1..1", "[0, 1]", "0..255.0", ""])
def test_other_input_range_is_refused(tmp_path, capsys, value):
    model = linear_pixel_model(WEIGHT, BIAS, NAMES, extra_metadata={"input_range": value})
    code, run = analyse(tmp_path, model)
    assert refused(capsys, code, run) == (
        f"error: {tmp_path / 'model.onnx'}: metadata 'input_range' is {value!r}; expected '0..1' "
        "(pixels scaled to [0, 1]) or '0..255' (raw pixel values), the two ranges the analysis can feed\n"
    )


@pytest.mark.parametrize(("names", "blank", "spaces"), [
    (["a", "b", "", "d"], 2, ""),
    (["a", "b", "c", "   "], 3, " (only whitespace)"),
    (["\t\n", "b", "c", "d"], 0, " (only whitespace)"),
])
def test_blank_class_name_is_refused(tmp_path, capsys, names, blank, spaces):
    code, run = analyse(tmp_path, linear_pixel_model(WEIGHT, BIAS, names))
    assert refused(capsys, code, run) == (
        f"error: {tmp_path / 'model.onnx'}: metadata 'class_names': class {blank}'s name is empty{spaces}; "
        "give every class a visible name\n"
    )


@pytest.mark.parametrize(("names", "index", "control"), [
    (["a", "\u202eevil", "c", "d"], 1, "202E"),  # right-to-left override: "evil and c5" would read "5c dna"
    (["a", "b", "c", "d\u2067"], 3, "2067"),  # an isolate never closed
])
def test_a_class_name_that_would_reorder_the_page_text_is_refused(tmp_path, capsys, names, index, control):
    code, run = analyse(tmp_path, linear_pixel_model(WEIGHT, BIAS, names))
    assert refused(capsys, code, run) == (
        f"error: {tmp_path / 'model.onnx'}: metadata 'class_names': class {index}'s name holds the bidirectional "
        f"control U+{control}, which would reorder the text after the name in every sentence that quotes it; remove "
        "it (right-to-left names need none)\n"
    )


def test_a_right_to_left_class_name_is_analysed(tmp_path):
    names = ["חולצה", "قميص", "c", "d"]  # Hebrew and Arabic: their direction comes from the letters
    code, run = analyse(tmp_path, linear_pixel_model(WEIGHT, BIAS, names))
    assert code == 0 and json.loads((run / "analysis" / "results.json").read_text())["class_names"] == names


@pytest.mark.parametrize("onnx_files", [["model.onnx"], ["a.onnx", "b.onnx"], []])
def test_model_that_is_a_folder_names_the_file_inside(tmp_path, capsys, onnx_files):
    folder = tmp_path / "exported"
    folder.mkdir()
    for name in onnx_files:
        onnx.save(linear_pixel_model(WEIGHT, BIAS, NAMES), folder / name)
    write_test_set(tmp_path / "data", IMAGES, LABELS)
    code = main(["--model", str(folder), "--data", str(tmp_path / "data"), "--out", str(tmp_path / "out")])
    expected = {
        1: f"{folder} is a folder; pass the .onnx file inside it: --model {folder / 'model.onnx'}",
        2: f"{folder} is a folder; pass one of the .onnx files inside it (a.onnx, b.onnx) as --model",
        0: f"{folder} is a folder and holds no .onnx file; pass the model file as --model",
    }[len(onnx_files)]
    assert code == 2
    assert capsys.readouterr().err == f"error: {expected}\n"
    assert not (tmp_path / "out").exists()


LONG_A = "é" * 120 + " a"  # 242 bytes of UTF-8: with 'hard_neg_1(...).png' around it, over 255
LONG_B = "é" * 120 + " b"  # the same first 100 bytes as LONG_A


@pytest.mark.slow  # over 2 s: left out of make test-quick
def test_long_class_names_make_short_distinct_file_names(tmp_path):
    """Every test image is predicted as class 0, so classes 1-3 miss into LONG_A's name."""
    names = [LONG_A, LONG_B, "c" * 300, "d"]
    code, run = analyse(tmp_path, linear_pixel_model(np.zeros((2, 4)), np.array([9.0, 0, 0, 0]), names))
    assert code == 0
    short_a, short_b, short_c = "é" * 49 + "_0", "é" * 49 + "_1", "c" * 98 + "_2"
    results = json.loads((run / "analysis" / "results.json").read_text())
    images = [item["image"] for cls in results["hard_negatives"]["classes"] for item in cls["items"]]
    assert images == [f"hard_neg/{folder}/hard_neg_{k}({short_a}).png"
                      for folder in (short_b, short_c, "d") for k in (1, 2, 3)]
    assert all((run / "analysis" / image).is_file() for image in images)
    assert [c["class"] for c in results["hard_negatives"]["classes"]] == names  # the pages keep the full names


@pytest.mark.parametrize(("names", "expected"), [
    ([LONG_A, LONG_B], ["é" * 49 + "_0", "é" * 49 + "_1"]),
    ([LONG_A, "é" * 49 + "_0"], ["0_" + "é" * 49 + "_0", "1_" + "é" * 49 + "_0"]),  # cut into another name
    (["x" * MAX_NAME_BYTES, "y"], ["x" * MAX_NAME_BYTES, "y"]),  # at the limit: kept whole
])
def test_folder_names_are_cut_and_stay_distinct(names, expected):
    assert folder_names(names) == expected


def collapsed_snapshots(path: Path, dims: int) -> None:
    """snapshots.npz whose every probe and information point sits at one place in every frame."""
    steps = np.array([0, 1, 5, 20])
    np.savez(path, indices=np.arange(8), labels=LABELS[:8], steps=steps, epochs=steps / 20,
             coords=np.full((4, 8, dims), 0.25, np.float32), class_names=np.array(NAMES),
             info_indices=np.arange(12), info_labels=LABELS, info_coords=np.full((4, 12, dims), 0.25, np.float32))


COLLAPSE = ("The bottleneck collapsed. All 12 test images land on one point of the bottleneck, with zero "
            "spread: it carries nothing about the image")


@pytest.mark.slow  # over 2 s: left out of make test-quick
@pytest.mark.parametrize("dims", [2, 3])
def test_collapsed_bottleneck_is_reported_in_words(tmp_path, dims):
    """Every test image has the same first pixels: the bottleneck is one point for all of them."""
    images = IMAGES.copy()
    images[:, 0, :3] = (50, 60, 70)
    images[:, 5, 5] = np.arange(12) * 20  # the images still differ, but not where the model looks
    collapsed_snapshots(tmp_path / "snapshots.npz", dims)
    weight = np.arange(dims * 4, dtype=np.float64).reshape(dims, 4) / 10
    code, run = analyse(tmp_path, linear_pixel_model(weight, BIAS, NAMES), "--snapshots",
                        str(tmp_path / "snapshots.npz"), images=images)
    assert code == 0
    results = json.loads((run / "analysis" / "results.json").read_text())
    assert results["bottleneck"]["collapsed"] is True and results["bottleneck"]["fisher_ratio"] is None
    assert results["bottleneck"]["animation"]["last_frame_collapsed"] is True
    assert results["bottleneck"]["animation"]["fisher_ratio"] == [None] * 4
    assert render(["--run", str(run)]) == 0
    pages = {name: read_page(run / "site" / f"{name}.html").text
             for name in ("index", "bottleneck", "explorer", "calibration", "information_plane")}
    assert COLLAPSE in " ".join(pages["index"].split())
    on_page = " ".join(pages["bottleneck"].split())
    assert COLLAPSE in on_page
    assert "At the last snapshot the bottleneck has collapsed: all 8 of these images sit on one point" in on_page
    for name, text in pages.items():
        assert not {"None", "nan", "NaN", "inf"} & set(text.replace(".", " ").split()), name
    data = json.loads((run / "analysis" / "explorer" / "data.js").read_text()
                      .removeprefix("window.EXPLORER_DATA = ").removesuffix(";\n"))
    (x0, x1), (y0, y1) = data["limits"]
    assert x1 - x0 >= 0.5 and y1 - y0 >= 0.5  # a window the explorer can scale to, not 2e-6 wide
    assert all(x0 < x < x1 and y0 < y < y1 for x, y, *_ in data["points"])  # drawn inside it
