"""Hostile `--snapshots` and `--history` files: one `error:` line naming the file, the array or
field, the value and its first position, and the fix; exit status 2; no output folder."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest

from analyzer import animation
from analyzer.cli import main
from tests.handmade import images_with_pixels, linear_pixel_model, write_test_set

NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress"]
LABELS = np.arange(12) % 4
IMAGES = images_with_pixels([(10 * i, 200 - 10 * i) for i in range(12)])
SNAPSHOTS_FIX = "; pass the snapshots.npz written by the same training run as the model\n"
HISTORY_FIX = "; pass the history.json written by the same training run as the model\n"


def good_arrays() -> dict[str, np.ndarray]:
    """What the trainer writes, scaled down: 3 frames, 8 probes, an information subset of all 12."""
    rng = np.random.default_rng(0)
    steps = np.array([0, 5, 10])
    return {
        "indices": np.arange(8), "labels": LABELS[:8], "steps": steps, "epochs": steps / 5,
        "coords": rng.normal(size=(3, 8, 2)).astype(np.float32), "class_names": np.asarray(NAMES),
        "info_indices": np.arange(12), "info_labels": LABELS,
        "info_coords": rng.normal(size=(3, 12, 2)).astype(np.float32),
    }


def good_history() -> list[dict]:
    return [{"epoch": e, "step": 5 * e, "train_loss": 1.0 / e, "test_loss": 1.1 / e, "train_accuracy": 0.5 + e / 10,
             "test_accuracy": 0.45 + e / 10, "learning_rate": 0.1, "seconds": 2.5, "images_per_second": 4.8}
            for e in (1, 2)]


def analyse(tmp_path: Path, *flags: str) -> tuple[int, Path]:
    write_test_set(tmp_path / "data", IMAGES, LABELS)
    weight = np.arange(8, dtype=np.float64).reshape(2, 4) / 10
    onnx.save(linear_pixel_model(weight, np.zeros(4), NAMES), tmp_path / "model.onnx")
    out = tmp_path / "out"
    argv = ["--model", str(tmp_path / "model.onnx"), "--data", str(tmp_path / "data"), "--out", str(out), *flags]
    return main(argv), out


def changed(**changes) -> Callable[[dict], None]:
    """A mutation of the good arrays: each key set to its value, or removed when the value is None."""
    def apply(arrays: dict) -> None:
        for name, value in changes.items():
            if value is None:
                del arrays[name]
            else:
                arrays[name] = value
    return apply


def with_value(name: str, position: tuple, value: float) -> Callable[[dict], None]:
    """A mutation setting one element of arrays[name] (as float, so NaN fits)."""
    def apply(arrays: dict) -> None:
        arrays[name] = arrays[name].astype(np.float32 if arrays[name].dtype.kind == "f" else np.int64)
        arrays[name][position] = value
    return apply


BAD_ARRAYS = {
    "no class names": (changed(class_names=None), "it has no 1-D array of strings 'class_names'"),
    "other class names": (changed(class_names=np.asarray(["a", "b", "c", "d"])),
                          "it names the classes ['a', 'b', 'c', 'd'], the model ['T-shirt/top', 'Trouser', "),
    "no labels": (changed(labels=None), "it has no array 'labels'"),
    "no probes": (changed(indices=np.arange(0), labels=LABELS[:0], coords=np.zeros((3, 0, 2), np.float32)),
                  "'indices' is empty; the analysis needs at least one image"),
    "no frames": (changed(steps=np.arange(0), epochs=np.arange(0.0), coords=np.zeros((0, 8, 2), np.float32),
                          info_coords=np.zeros((0, 12, 2), np.float32)),
                  "'steps' is empty; the analysis needs at least one frame"),
    "negative label": (with_value("labels", (5,), -1), "labels[5] is -1, outside 0..3 (the model names 4 classes)"),
    "label of a fifth class": (with_value("labels", (2,), 4), "labels[2] is 4, outside 0..3 (the model names 4 "),
    "float labels": (changed(labels=LABELS[:8].astype(float)),
                     "'labels' is a 1-D array of float64; expected a 1-D array of integers"),
    "boolean labels": (changed(labels=LABELS[:8] > 1), "'labels' is a 1-D array of bool; expected a 1-D array of "),
    "2-D labels": (changed(labels=LABELS[:8].reshape(2, 4)), "'labels' is a 2-D array of int64; expected a 1-D "),
    "labels shorter than indices": (changed(labels=LABELS[:7]),
                                    "'labels' has 7 along axis 0 (shape [7]), but 'indices' has 8"),
    "coords for fewer probes": (changed(coords=np.zeros((3, 7, 2), np.float32)),
                                "'coords' has 7 along axis 1 (shape [3, 7, 2]), but 'labels' has 8"),
    "coords for fewer frames": (changed(coords=np.zeros((2, 8, 2), np.float32)),
                                "'coords' has 2 along axis 0 (shape [2, 8, 2]), but 'steps' (one frame per step) "
                                "has 3"),
    "coords of another width": (changed(coords=np.zeros((3, 8, 3), np.float32)),
                                "'coords' has 3 along axis 2 (shape [3, 8, 3]), but the model's 'bottleneck' has 2"),
    "integer coords": (changed(coords=np.zeros((3, 8, 2), np.int64)),
                       "'coords' is a 3-D array of int64; expected a 3-D array of floating-point numbers"),
    "NaN coords": (with_value("coords", (1, 4, 0), np.nan),
                   "'coords' holds NaN or infinity in 1 of 48 values (first: coords[1, 4, 0] = nan)"),
    "infinite coords": (with_value("coords", (2, 0, 1), -np.inf),
                        "'coords' holds NaN or infinity in 1 of 48 values (first: coords[2, 0, 1] = -inf)"),
    "epochs shorter than steps": (changed(epochs=np.array([0.0, 1.0])),
                                  "'epochs' has 2 along axis 0 (shape [2]), but 'steps' has 3"),
    "NaN epoch": (with_value("epochs", (1,), np.nan), "'epochs' holds NaN or infinity in 1 of 3 values (first: "
                                                      "epochs[1] = nan)"),
    "steps going back": (changed(steps=np.array([0, 10, 5])),
                         "steps[2] is 5, less than steps[1] = 10; frames must be in training order"),
    "negative first step": (changed(steps=np.array([-1, 5, 10])), "steps[0] is -1; training starts at 0"),
    "index past the test set": (with_value("indices", (3,), 12),
                                "indices[3] is 12, outside 0..11 (the test set holds 12 images)"),
    "negative index": (with_value("indices", (0,), -3), "indices[0] is -3, outside 0..11 (the test set holds 12 "),
    "information subset in part": (changed(info_coords=None),
                                   "it holds ['info_indices', 'info_labels'] but not ['info_coords']; the "
                                   "information subset needs all three"),
    "info labels shorter than info indices": (changed(info_labels=LABELS[:11]),
                                              "'info_labels' has 11 along axis 0 (shape [11]), but 'info_indices' "
                                              "has 12"),
    "info coords for fewer images": (changed(info_coords=np.zeros((3, 11, 2), np.float32)),
                                     "'info_coords' has 11 along axis 1 (shape [3, 11, 2]), but 'info_labels' has "
                                     "12"),
    "info coords for fewer frames": (changed(info_coords=np.zeros((4, 12, 2), np.float32)),
                                     "'info_coords' has 4 along axis 0 (shape [4, 12, 2]), but 'steps' (one frame "
                                     "per step) has 3"),
    "info label out of range": (with_value("info_labels", (11,), 9),
                                "info_labels[11] is 9, outside 0..3 (the model names 4 classes)"),
    "info index past the test set": (with_value("info_indices", (4,), 100),
                                     "info_indices[4] is 100, outside 0..11 (the test set holds 12 images)"),
    "infinite info coords": (with_value("info_coords", (0, 7, 0), np.inf),
                             "'info_coords' holds NaN or infinity in 1 of 72 values (first: info_coords[0, 7, 0] = "
                             "inf)"),
}


def expect_refusal(capsys, code: int, out: Path, path: Path, fragment: str, fix: str) -> None:
    """Exit 2, one `error:` line naming the file, holding the fragment and the fix; no --out."""
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"error: {path}") and err.count("\n") == 1, err
    assert fragment in err
    assert err.endswith(fix)
    assert not out.exists()


@pytest.mark.parametrize("case", BAD_ARRAYS)
def test_hostile_snapshots_are_refused_before_any_work(tmp_path, capsys, case):
    mutate, fragment = BAD_ARRAYS[case]
    arrays = good_arrays()
    mutate(arrays)
    np.savez(tmp_path / "snapshots.npz", **arrays)
    code, out = analyse(tmp_path, "--snapshots", str(tmp_path / "snapshots.npz"))
    expect_refusal(capsys, code, out, tmp_path / "snapshots.npz", f": {fragment}", SNAPSHOTS_FIX)


def good_npz_bytes(tmp_path: Path) -> bytes:
    np.savez(tmp_path / "good.npz", **good_arrays())
    return (tmp_path / "good.npz").read_bytes()


def npy_bytes() -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.arange(3))
    return buffer.getvalue()


BAD_FILES = {
    "empty": (lambda tmp: b"", "(No data left in file)"),
    "truncated": (lambda tmp: good_npz_bytes(tmp)[:700], "(File is not a zip file)"),
    "corrupt member": (lambda tmp: good_npz_bytes(tmp).replace(b"False", b"Falsf", 1),
                       "(Bad CRC-32 for file 'indices.npy')"),
    "text": (lambda tmp: b"not an npz\n" * 8, "(This file contains pickled (object) data."),
    "one .npy array": (lambda tmp: npy_bytes(), "(it holds one array, not the named arrays of an .npz)"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_unreadable_snapshots_are_refused(tmp_path, capsys, case):
    contents, fragment = BAD_FILES[case]
    path = tmp_path / "snapshots.npz"
    path.write_bytes(contents(tmp_path))
    code, out = analyse(tmp_path, "--snapshots", str(path))
    expect_refusal(capsys, code, out, path, f"{path} is not a snapshots file written by the trainer {fragment}",
                   SNAPSHOTS_FIX)


def set_field(position: int, key: str, value: object) -> Callable[[list], object]:
    def apply(rows: list) -> list:
        rows[position][key] = value
        return rows
    return apply


def drop_field(key: str) -> Callable[[list], object]:
    def apply(rows: list) -> list:
        del rows[1][key]
        return rows
    return apply


BAD_HISTORIES = {
    "NaN loss": (set_field(1, "test_loss", float("nan")), "history[1]['test_loss'] is NaN; expected a finite number"),
    "infinite seconds": (set_field(0, "seconds", float("inf")),
                         "history[0]['seconds'] is Infinity; expected a finite number"),
    "NaN in a field not plotted": (set_field(0, "learning_rate", float("nan")),
                                   "history[0]['learning_rate'] is NaN; expected a finite number"),
    "a list as a value": (set_field(1, "train_loss", [0.5]), "history[1]['train_loss'] is a list; expected a single "),
    "an object as a value": (set_field(0, "step", {"n": 5}), "history[0]['step'] is an object; expected a single "),
    "a string accuracy": (set_field(1, "test_accuracy", "0.9"),
                          "history[1]['test_accuracy'] is \"0.9\"; expected a number from 0 to 1"),
    "a boolean loss": (set_field(0, "train_loss", True),
                       "history[0]['train_loss'] is true; expected a number of at least 0"),
    "a null accuracy": (set_field(0, "train_accuracy", None),
                        "history[0]['train_accuracy'] is null; expected a number from 0 to 1"),
    "accuracy in percent": (set_field(1, "test_accuracy", 91.2),
                            "history[1]['test_accuracy'] is 91.2; expected a number from 0 to 1"),
    "negative loss": (set_field(1, "test_loss", -0.1), "history[1]['test_loss'] is -0.1; expected a number of at "),
    "epoch zero": (set_field(0, "epoch", 0), "history[0]['epoch'] is 0; expected a positive integer"),
    "fractional epoch": (set_field(1, "epoch", 1.5), "history[1]['epoch'] is 1.5; expected a positive integer"),
    "boolean epoch": (set_field(0, "epoch", True), "history[0]['epoch'] is true; expected a positive integer"),
    "string epoch": (set_field(0, "epoch", "1"), "history[0]['epoch'] is \"1\"; expected a positive integer"),
    "epochs out of order": (set_field(1, "epoch", 1),
                            "history[1]['epoch'] is 1, not after history[0]['epoch'] = 1"),
    "a missing field": (drop_field("seconds"), "history[1] lacks ['seconds']"),
    "a row that is a number": (lambda rows: [rows[0], 3], "history[1] is a number; expected an object with 'epoch' "),
    "an object instead of a list": (lambda rows: {"epochs": rows},
                                    "it holds an object; expected a list with one object per epoch"),
    "an empty list": (lambda rows: [], "it holds an empty list; expected a list with one object per epoch"),
}


@pytest.mark.parametrize("case", BAD_HISTORIES)
def test_hostile_history_is_refused_before_any_work(tmp_path, capsys, case):
    mutate, fragment = BAD_HISTORIES[case]
    path = tmp_path / "history.json"
    path.write_text(json.dumps(mutate(good_history())))  # json.dumps writes NaN and Infinity, as Python reads them
    code, out = analyse(tmp_path, "--history", str(path))
    expect_refusal(capsys, code, out, path, f"{path}: {fragment}", HISTORY_FIX)


def test_history_that_is_not_json(tmp_path, capsys):
    path = tmp_path / "history.json"
    path.write_text('[{"epoch": 1,')
    code, out = analyse(tmp_path, "--history", str(path))
    expect_refusal(capsys, code, out, path, f"{path} is not readable JSON (Expecting property name", HISTORY_FIX)


@pytest.mark.slow  # over 2 s: left out of make test-quick
def test_valid_run_files_are_analysed(tmp_path):
    np.savez(tmp_path / "snapshots.npz", **good_arrays())
    (tmp_path / "history.json").write_text(json.dumps(good_history()))
    code, out = analyse(tmp_path, "--snapshots", str(tmp_path / "snapshots.npz"),
                        "--history", str(tmp_path / "history.json"))
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    snap = results["bottleneck"]["animation"]
    assert (snap["frames"], snap["probe_images"], snap["probes_per_class"]) == (3, 8, 2)
    assert snap["steps"] == [0, 5, 10] and snap["epochs"] == [0.0, 1.0, 2.0]
    assert results["information_plane"]["images"] == 12
    assert results["training_curves"] == good_history()


def test_the_explorer_replays_at_the_gif_frame_time(tmp_path):
    np.savez(tmp_path / "snapshots.npz", **good_arrays())
    code, out = analyse(tmp_path, "--snapshots", str(tmp_path / "snapshots.npz"), "--gif-frame-ms", "230")
    assert code == 0
    data = json.loads((out / "explorer" / "data.js").read_text()
                      .removeprefix("window.EXPLORER_DATA = ").removesuffix(";\n"))
    assert data["replay"]["frameMs"] == 230 != animation.FRAME_MS
    assert json.loads((out / "results.json").read_text())["bottleneck"]["animation"]["frame_ms"] == 230
