"""Hostile or mismatched `--dynamics` files: one `error:` line naming the file, the array, the value
and the fix; exit status 2; no output folder. A file of the right shapes from another training run
is caught by its last test row, which must be the analysed model's correctness."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest

from analyzer.onnx_model import infer, load
from site_renderer.cli import main as render
from tests.handmade import linear_pixel_model
from tests.html_pages import read_page
from tests.test_bad_run_files import IMAGES, LABELS, NAMES, analyse, changed, expect_refusal, good_history

FIX = "; pass the dynamics.npz written by the same training run as the model\n"


def model_correct(folder: Path) -> np.ndarray:
    """(12,) whether the handmade model of `analyse` is right on each of its test images."""
    weight = np.arange(8, dtype=np.float64).reshape(2, 4) / 10
    onnx.save(linear_pixel_model(weight, np.zeros(4), NAMES), folder / "probe.onnx")
    logits, _, _ = infer(load(str(folder / "probe.onnx"), 1), IMAGES, 12)
    return logits.argmax(axis=1) == LABELS


def good_arrays(folder: Path) -> dict[str, np.ndarray]:
    """What the trainer writes, scaled down: 3 epochs, 20 training images, the 12 test images.
    Probabilities lie in [1/4, 1/2], where a right and a wrong answer of 4 classes can both be."""
    rng = np.random.default_rng(0)
    test_correct = rng.random((3, 12)) < 0.5
    test_correct[-1] = model_correct(folder)
    return {
        "train_true_probability": (0.25 + 0.25 * rng.random((3, 20))).astype(np.float16),
        "train_correct": rng.random((3, 20)) < 0.5,
        "test_true_probability": (0.25 + 0.25 * rng.random((3, 12))).astype(np.float16),
        "test_correct": test_correct,
    }


def with_value(name: str, position: tuple, value: object) -> Callable[[dict], None]:
    def apply(arrays: dict) -> None:
        arrays[name] = arrays[name].copy()
        arrays[name][position] = value
    return apply


def answered(split: str, position: tuple[int, int], right: bool, probability: float) -> Callable[[dict], None]:
    """One image of `split` at one epoch: right or wrong, with this true-class probability."""
    def apply(arrays: dict) -> None:
        with_value(f"{split}_correct", position, right)(arrays)
        with_value(f"{split}_true_probability", position, probability)(arrays)
    return apply


def flipped(position: int) -> Callable[[dict], None]:
    def apply(arrays: dict) -> None:
        arrays["test_correct"] = arrays["test_correct"].copy()
        arrays["test_correct"][-1, position] ^= True
    return apply


BAD = {
    "no test correctness": (changed(test_correct=None), "it has no array 'test_correct'"),
    "integer correctness": (changed(train_correct=np.zeros((3, 20), np.int64)),
                            "'train_correct' is a 2-D array of int64; expected a 2-D array of booleans"),
    "boolean probabilities": (changed(test_true_probability=np.ones((3, 12), bool)),
                              "'test_true_probability' is a 2-D array of bool; expected a 2-D array of "
                              "floating-point numbers"),
    "1-D probabilities": (changed(train_true_probability=np.zeros(20, np.float16)),
                          "'train_true_probability' is a 1-D array of float16; expected a 2-D array of "),
    "no epochs": (changed(train_true_probability=np.zeros((0, 20), np.float16), train_correct=np.zeros((0, 20), bool),
                          test_true_probability=np.zeros((0, 12), np.float16), test_correct=np.zeros((0, 12), bool)),
                  "'test_correct' has no rows; the analysis needs at least one epoch"),
    "fewer training epochs": (changed(train_correct=np.zeros((2, 20), bool)),
                              "'train_correct' has 2 along axis 0 (shape [2, 20]), but 'test_correct' (one row per "
                              "epoch) has 3"),
    "another test set": (changed(test_correct=np.zeros((3, 11), bool)),
                         "'test_correct' has 11 along axis 1 (shape [3, 11]), but the test set (12 images) has 12"),
    "test probabilities of another width": (changed(test_true_probability=np.zeros((3, 13), np.float16)),
                                            "'test_true_probability' has 13 along axis 1 (shape [3, 13]), but the "
                                            "test set (12 images) has 12"),
    "wider than the training set": (changed(train_true_probability=np.zeros((3, 60_001), np.float16),
                                            train_correct=np.zeros((3, 60_001), bool)),
                                    "'train_correct' is 60,001 images wide; expected 1 to 60,000 (the first images "
                                    "of the training set)"),
    "no training images": (changed(train_true_probability=np.zeros((3, 0), np.float16),
                                   train_correct=np.zeros((3, 0), bool)),
                           "'train_correct' is 0 images wide; expected 1 to 60,000"),
    "probabilities for other images": (changed(train_true_probability=np.zeros((3, 19), np.float16)),
                                       "'train_true_probability' has 19 along axis 1 (shape [3, 19]), but "
                                       "'train_correct' has 20"),
    "NaN probability": (with_value("train_true_probability", (1, 7), np.nan),
                        "'train_true_probability' holds NaN or infinity in 1 of 60 values (first: "
                        "train_true_probability[1, 7] = nan)"),
    "probability above 1": (with_value("test_true_probability", (2, 3), 1.5),
                            "'test_true_probability' holds 1 of 36 values outside [0, 1] (first: "
                            "test_true_probability[2, 3] = 1.5)"),
    "negative probability": (with_value("train_true_probability", (0, 0), -0.25),
                             "'train_true_probability' holds 1 of 60 values outside [0, 1] (first: "
                             "train_true_probability[0, 0] = -0.25)"),
    "a right answer with probability 0": (answered("test", (1, 4), True, 0.0),
                                          "'test_true_probability' contradicts 'test_correct' in 1 of 36 values "
                                          "(first: [1, 4] is right with a true-class probability of 0, under 1/4 = "
                                          "0.25, the least a right answer's can be)"),
    "a wrong answer with probability 0.9": (answered("train", (2, 7), False, 0.9),
                                            "'train_true_probability' contradicts 'train_correct' in 1 of 60 values "
                                            "(first: [2, 7] is wrong with a true-class probability of 0.8999, over "
                                            "0.5, the most a wrong answer's can be)"),
    "probabilities all 0, every answer right": (changed(test_true_probability=np.zeros((3, 12), np.float16),
                                                        test_correct=np.ones((3, 12), bool)),
                                                "'test_true_probability' contradicts 'test_correct' in 36 of 36 "
                                                "values (first: [0, 0] is right with a true-class probability of 0, "
                                                "under 1/4 = 0.25"),
    "another run's last epoch": (flipped(5), "its last epoch's test pass (test_correct[2]) disagrees with the model "
                                             "on 1 of 12 test images (first: test image 5), so it is not this "
                                             "model's training run"),
}


@pytest.mark.parametrize("case", BAD)
def test_hostile_dynamics_are_refused(tmp_path, capsys, case):
    mutate, fragment = BAD[case]
    arrays = good_arrays(tmp_path)
    mutate(arrays)
    path = tmp_path / "dynamics.npz"
    np.savez(path, **arrays)
    code, out = analyse(tmp_path, "--dynamics", str(path))
    expect_refusal(capsys, code, out, path, f": {fragment}", FIX)


def test_dynamics_of_another_epoch_count_than_the_history_are_refused(tmp_path, capsys):
    """The page would say 3 epochs while the training curves show 2."""
    np.savez(tmp_path / "dynamics.npz", **good_arrays(tmp_path))
    history = tmp_path / "history.json"
    history.write_text(json.dumps(good_history()))
    code, out = analyse(tmp_path, "--dynamics", str(tmp_path / "dynamics.npz"), "--history", str(history))
    assert code == 2 and not out.exists()
    assert capsys.readouterr().err == (f"error: {tmp_path / 'dynamics.npz'} records 3 epochs, but {history} records "
                                       "2; pass the dynamics.npz and history.json written by the same training run\n")


def test_unreadable_dynamics_are_refused(tmp_path, capsys):
    path = tmp_path / "dynamics.npz"
    path.write_bytes(b"")
    code, out = analyse(tmp_path, "--dynamics", str(path))
    expect_refusal(capsys, code, out, path, f"{path} is not a dynamics file written by the trainer (No data left "
                                            "in file)", FIX)


@pytest.mark.slow  # over 2 s: left out of make test-quick
def test_without_the_training_files_the_page_says_what_it_leaves_out(tmp_path: Path):
    np.savez(tmp_path / "dynamics.npz", **good_arrays(tmp_path))
    code, out = analyse(tmp_path, "--dynamics", str(tmp_path / "dynamics.npz"))
    assert code == 0 and (out / "data_map.png").is_file() and (out / "forgetting.png").is_file()
    assert not (out / "dynamics").exists()  # no training files: no thumbnails
    shutil.copytree(out, tmp_path / "run" / "analysis")
    assert render(["--run", str(tmp_path / "run")]) == 0
    page = read_page(tmp_path / "run" / "site" / "training_dynamics.html")
    text = " ".join(page.text.split())
    assert text.count("The data folder holds no training files, so the training images' labels and pictures are "
                      "unknown: no per-class figures and no thumbnails.") == 3
    assert [src for src in page.sources if src.endswith(".png")] == ["data_map.png", "forgetting.png"]
