"""A model that is finite on the test images but not on the occlusion's copies of them: one `error:`
line that names those copies (how many, which image and patch first), never a count of "test
images"; exit status 2; no output folder."""

from __future__ import annotations

import numpy as np
import onnx

from analyzer.cli import main
from tests.handmade import images_with_pixels, linear_pixel_model, write_test_set
from tests.test_bad_input import LABELS, NAMES


def test_nan_on_occluded_copies_names_the_copies(tmp_path, capsys):
    """The bottleneck is the log of the first two pixels, all positive in the test images: hiding
    them under the patch (pixel value 0) gives -inf."""
    images = images_with_pixels([(10 * i + 10, 200 - 10 * i, 5 * i) for i in range(12)])
    write_test_set(tmp_path / "data", images, LABELS)
    weight = np.arange(8, dtype=np.float64).reshape(2, 4) / 10
    onnx.save(linear_pixel_model(weight, np.zeros(4), NAMES, bottleneck_op="Log"), tmp_path / "model.onnx")
    out = tmp_path / "out"
    code = main(["--model", str(tmp_path / "model.onnx"), "--data", str(tmp_path / "data"), "--out", str(out)])
    assert code == 2 and not out.exists()
    assert capsys.readouterr().err == (
        f"error: {tmp_path / 'model.onnx'}: 'bottleneck' holds NaN or infinity for 9 of 18 copies of the hard "
        "negatives with one patch hidden, made for the occlusion maps, although its outputs on the test images "
        "themselves are finite (first: test image 1 with the patch over rows 0-3, columns 0-3); the model is "
        "broken, so nothing was analysed\n")
