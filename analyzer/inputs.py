"""What the analysis reads, read once: the model's answers on the test set, the training set
when its files are there, and the training run's snapshots and history when given.

Every subject module receives these objects in one `Inputs` and returns a `Subject`; none of them
opens the model or a run file itself.
"""

from __future__ import annotations

import json
import math
import zipfile
import zlib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from analyzer import metrics
from analyzer.npz_files import read_npz
from analyzer.onnx_model import LoadedModel, infer
from fmnist_common.idx import has_train_set, load_train_set

if TYPE_CHECKING:  # both import this module
    from analyzer.bottleneck import Projection
    from analyzer.config import AnalyzeConfig


class RunFileError(ValueError):
    """A training-run file (snapshots, history) is unreadable or belongs to another model."""


@dataclass(frozen=True)
class Evaluation:
    """The test set and the model's outputs on it."""

    class_names: list[str]
    images: np.ndarray  # (N, 28, 28) uint8
    labels: np.ndarray  # (N,) int64 true classes
    logits: np.ndarray  # (N, C) float32
    coords: np.ndarray  # (N, D) float32 bottleneck
    probabilities: np.ndarray  # (N, C) float64 softmax
    predictions: np.ndarray  # (N,) int64
    inference_seconds: float

    @property
    def confidence(self) -> np.ndarray:
        """(N,) probability of the predicted class."""
        return self.probabilities[np.arange(len(self.labels)), self.predictions]

    @property
    def accuracy(self) -> float:
        return float((self.predictions == self.labels).mean())


def evaluate(model: LoadedModel, images: np.ndarray, labels: np.ndarray, batch_size: int) -> Evaluation:
    """Run the model over the test set (onnxruntime) and derive probabilities and predictions."""
    logits, coords, seconds = infer(model, images, batch_size)
    probabilities = metrics.softmax(logits)
    return Evaluation(model.class_names, images, labels, logits, coords, probabilities,
                      probabilities.argmax(axis=1), seconds)


@dataclass(frozen=True)
class TrainSet:
    """The training split, for the subjects that compare test images with training images."""

    images: np.ndarray  # (N, 28, 28) uint8
    labels: np.ndarray  # (N,) int64
    sha256: str

    @cached_property
    def vectors(self) -> np.ndarray:
        """(N, 784) float32 pixels, made once for both subjects that search them (190 MB)."""
        return as_vectors(self.images)


def as_vectors(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28) uint8 -> (N, 784) float32 in [0, 1]."""
    vectors = images.reshape(len(images), -1).astype(np.float32)
    vectors *= 1 / 255
    return vectors


def read_train_set(data_dir: str) -> TrainSet | None:
    """The training split, or None when its files are not in the data folder (they are optional)."""
    return TrainSet(*load_train_set(data_dir)) if has_train_set(data_dir) else None


@dataclass(frozen=True)
class Snapshots:
    """The bottleneck of fixed test images at the trainer's snapshot steps (`snapshots.npz`).

    `read_snapshots` has checked every array: labels are classes of the model, coordinates are
    finite, and the lengths agree, so the GIF, replay and information plane need not check again.
    """

    indices: np.ndarray  # (P,) int64 test indices of the probe images
    labels: np.ndarray  # (P,) int64
    steps: np.ndarray  # (F,) int64 optimiser step of each frame, non-decreasing
    epochs: np.ndarray  # (F,)
    coords: np.ndarray  # (F, P, D)
    info_labels: np.ndarray | None  # (M,) int64, the information subset, when recorded
    info_coords: np.ndarray | None  # (F, M, D)

    @property
    def probes_per_class(self) -> int:
        return int(np.bincount(self.labels).max())

    @property
    def info_per_class(self) -> int | None:
        return None if self.info_labels is None else int(np.bincount(self.info_labels).max())


SNAPSHOTS_FIX = "pass the snapshots.npz written by the same training run as the model"
INFO_ARRAYS = ("info_indices", "info_labels", "info_coords")
KINDS = {"iu": "integers", "iuf": "numbers", "f": "floating-point numbers", "b": "booleans"}


def snapshot_error(path: Path, problem: str, fix: str = SNAPSHOTS_FIX) -> RunFileError:
    return RunFileError(f"{path}: {problem}; {fix}")


def load_npz(path: Path, what: str = "snapshots", fix: str = SNAPSHOTS_FIX) -> dict[str, np.ndarray]:
    """Every array of the file, read now: a truncated, corrupt, oversized or hostile member fails
    here, before any work and before its data is allocated (see `analyzer.npz_files`)."""
    try:
        return read_npz(path)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise RunFileError(f"{path} is not a {what} file written by the trainer ({exc}); {fix}") from exc


def array(path: Path, arrays: dict[str, np.ndarray], name: str, ndim: int, kinds: str,
          fix: str = SNAPSHOTS_FIX) -> np.ndarray:
    """arrays[name], present, `ndim`-dimensional and of a dtype kind in `kinds` (bool is not a number)."""
    if name not in arrays:
        raise snapshot_error(path, f"it has no array '{name}'", fix)
    value = arrays[name]
    if value.ndim != ndim or value.dtype.kind not in kinds:
        raise snapshot_error(path, f"'{name}' is a {value.ndim}-D array of {value.dtype}; expected a {ndim}-D array "
                                   f"of {KINDS[kinds]}", fix)
    return value


def check_length(path: Path, name: str, value: np.ndarray, axis: int, expected: int, source: str,
                 fix: str = SNAPSHOTS_FIX) -> None:
    """Refuse an array whose `axis` is not as long as the array it pairs with (named by `source`)."""
    if value.shape[axis] != expected:
        raise snapshot_error(path, f"'{name}' has {value.shape[axis]} along axis {axis} (shape "
                                   f"{list(value.shape)}), but {source} has {expected}", fix)


def check_range(path: Path, name: str, value: np.ndarray, stop: int, meaning: str) -> None:
    """Refuse an integer array with a value outside 0..stop-1; name the first one."""
    bad = np.flatnonzero((value < 0) | (value >= stop))
    if len(bad):
        raise snapshot_error(path, f"{name}[{bad[0]}] is {value[bad[0]]}, outside 0..{stop - 1} ({meaning})")


def check_finite(path: Path, name: str, value: np.ndarray, fix: str = SNAPSHOTS_FIX) -> None:
    """Refuse NaN or infinity; name how many and the first position."""
    bad = ~np.isfinite(value)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise snapshot_error(path, f"'{name}' holds NaN or infinity in {int(bad.sum()):,} of {value.size:,} values "
                                   f"(first: {name}[{', '.join(map(str, first))}] = {value[first]})", fix)


def check_training_order(path: Path, name: str, value: np.ndarray) -> None:
    """Frames are in training order: from 0 up, never going down."""
    if value[0] < 0:
        raise snapshot_error(path, f"{name}[0] is {value[0]}; training starts at 0")
    down = np.flatnonzero(np.diff(value) < 0)
    if len(down):
        i = down[0] + 1
        raise snapshot_error(path, f"{name}[{i}] is {value[i]}, less than {name}[{i - 1}] = {value[i - 1]}; "
                                   "frames must be in training order")


def check_class_names(path: Path, arrays: dict[str, np.ndarray], class_names: list[str]) -> None:
    names = arrays.get("class_names")
    if names is None or names.ndim != 1 or names.dtype.kind != "U":
        raise snapshot_error(path, "it has no 1-D array of strings 'class_names'")
    if names.tolist() != class_names:
        raise snapshot_error(path, f"it names the classes {names.tolist()}, the model {class_names}")


def read_subset(path: Path, arrays: dict[str, np.ndarray], prefix: str, classes: int,
                test_images: int) -> tuple[np.ndarray, np.ndarray]:
    """(indices, labels) of the probe set (prefix "") or the information subset ("info_")."""
    indices = array(path, arrays, f"{prefix}indices", 1, "iu")
    if not len(indices):
        raise snapshot_error(path, f"'{prefix}indices' is empty; the analysis needs at least one image")
    check_range(path, f"{prefix}indices", indices, test_images, f"the test set holds {test_images:,} images")
    labels = array(path, arrays, f"{prefix}labels", 1, "iu")
    check_length(path, f"{prefix}labels", labels, 0, len(indices), f"'{prefix}indices'")
    check_range(path, f"{prefix}labels", labels, classes, f"the model names {classes} classes")
    return indices.astype(np.int64), labels.astype(np.int64)


def read_coords(path: Path, arrays: dict[str, np.ndarray], name: str, frames: int, images: tuple[int, str],
                dim: int) -> np.ndarray:
    """(frames, images, dim) finite coordinates; `images` is the expected count and its source."""
    coords = array(path, arrays, name, 3, "f")
    check_length(path, name, coords, 0, frames, "'steps' (one frame per step)")
    check_length(path, name, coords, 1, *images)
    check_length(path, name, coords, 2, dim, "the model's 'bottleneck'")
    check_finite(path, name, coords)
    return coords


def read_snapshots(path: Path, class_names: list[str], dim: int, test_images: int) -> Snapshots:
    """`snapshots.npz`, checked in full against the model and test set it is analysed with: every
    array the GIF, the replay and the information plane read, so none of them fails halfway."""
    arrays = load_npz(path)
    check_class_names(path, arrays, class_names)
    classes = len(class_names)
    indices, labels = read_subset(path, arrays, "", classes, test_images)
    steps = array(path, arrays, "steps", 1, "iu").astype(np.int64)
    if not len(steps):
        raise snapshot_error(path, "'steps' is empty; the analysis needs at least one frame")
    check_training_order(path, "steps", steps)
    epochs = array(path, arrays, "epochs", 1, "iuf")
    check_length(path, "epochs", epochs, 0, len(steps), "'steps'")
    check_finite(path, "epochs", epochs)
    check_training_order(path, "epochs", epochs)
    coords = read_coords(path, arrays, "coords", len(steps), (len(labels), "'labels'"), dim)
    present = [name for name in INFO_ARRAYS if name in arrays]
    if not present:
        return Snapshots(indices, labels, steps, epochs, coords, None, None)
    if len(present) < len(INFO_ARRAYS):
        missing = [name for name in INFO_ARRAYS if name not in arrays]
        raise snapshot_error(path, f"it holds {present} but not {missing}; the information subset needs all three")
    _, info_labels = read_subset(path, arrays, "info_", classes, test_images)
    info_coords = read_coords(path, arrays, "info_coords", len(steps), (len(info_labels), "'info_labels'"), dim)
    return Snapshots(indices, labels, steps, epochs, coords, info_labels, info_coords)


HISTORY_FIX = "pass the history.json written by the same training run as the model"
# what the training curves plot and the overview page sums, with the range each must lie in
PLOTTED = {"train_loss": (0, math.inf), "test_loss": (0, math.inf), "train_accuracy": (0, 1),
           "test_accuracy": (0, 1), "seconds": (0, math.inf)}


def history_error(path: Path, problem: str) -> RunFileError:
    return RunFileError(f"{path}: {problem}; {HISTORY_FIX}")


def json_kind(value: object) -> str:
    """The JSON name of a parsed value's type, for messages."""
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def check_history_row(path: Path, position: int, row: object) -> None:
    """One epoch: a positive integer epoch, finite plotted numbers in range, no nested values."""
    where = f"history[{position}]"
    if not isinstance(row, dict):
        raise history_error(path, f"{where} is {json_kind(row)}; expected an object with 'epoch' and {sorted(PLOTTED)}")
    missing = [key for key in ("epoch", *PLOTTED) if key not in row]
    if missing:
        raise history_error(path, f"{where} lacks {missing}")
    for key, value in row.items():
        if isinstance(value, dict | list):
            raise history_error(path, f"{where}['{key}'] is {json_kind(value)}; expected a single value")
        if isinstance(value, float) and not math.isfinite(value):
            raise history_error(path, f"{where}['{key}'] is {json.dumps(value)}; expected a finite number")
    epoch = row["epoch"]
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 1:
        raise history_error(path, f"{where}['epoch'] is {json.dumps(epoch)}; expected a positive integer")
    for key, (low, high) in PLOTTED.items():
        value = row[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            wanted = f"a number from {low} to {high}" if high < math.inf else f"a number of at least {low}"
            raise history_error(path, f"{where}['{key}'] is {json.dumps(value)}; expected {wanted}")


def read_history(path: Path) -> list[dict]:
    """`history.json`: one row per epoch with the keys the training curves plot, checked in full
    (Python's json reads NaN and Infinity, which strict readers of results.json reject)."""
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunFileError(f"{path} is not readable JSON ({exc}); {HISTORY_FIX}") from exc
    if not isinstance(rows, list) or not rows:
        found = "an empty list" if rows == [] else json_kind(rows)
        raise history_error(path, f"it holds {found}; expected a list with one object per epoch")
    for position, row in enumerate(rows):
        check_history_row(path, position, row)
    for position in range(1, len(rows)):
        if rows[position]["epoch"] <= rows[position - 1]["epoch"]:
            raise history_error(path, f"history[{position}]['epoch'] is {rows[position]['epoch']}, not after "
                                      f"history[{position - 1}]['epoch'] = {rows[position - 1]['epoch']}")
    return rows


@dataclass(frozen=True)
class Dynamics:
    """Each image's true-label probability and correctness after every epoch (`dynamics.npz`).

    Rows are epochs; columns are dataset positions: every test image, and the first N training
    images (N is the trainer's `train_subset`, or all 60,000). The last test row is the exported
    model's test pass.
    """

    train_true_probability: np.ndarray  # (E, N) float32
    train_correct: np.ndarray  # (E, N) bool
    test_true_probability: np.ndarray  # (E, 10000) float32
    test_correct: np.ndarray  # (E, 10000) bool

    @property
    def epochs(self) -> int:
        return len(self.test_correct)

    def test_history(self, index: int) -> dict:
        """One test image over training: how many epochs had it right, the first and last of them
        (1-based; None when it was never right), and that said in words (`history_summary`)."""
        right = np.flatnonzero(self.test_correct[:, index]) + 1
        history = {
            "epochs": self.epochs,
            "correct_epochs": int(len(right)),
            "first_correct": int(right[0]) if len(right) else None,
            "last_correct": int(right[-1]) if len(right) else None,
        }
        return {**history, "summary": history_summary(**history)}


def history_summary(epochs: int, correct_epochs: int, first_correct: int | None, last_correct: int | None) -> str:
    """A test image's history in words: "right at epochs 3–17 of 24, wrong since", the one
    wording of the hard negatives' details and the confusion gallery's tooltips."""
    if not correct_epochs:
        return f"wrong at every epoch (0 of {epochs})"
    if correct_epochs == epochs:
        return f"right at every epoch ({epochs} of {epochs})"
    unbroken = last_correct - first_correct + 1 == correct_epochs
    if unbroken and last_correct == epochs:
        return (f"wrong until epoch {first_correct - 1}, right since epoch {first_correct} "
                f"({correct_epochs} of {epochs})")
    if unbroken:
        when = f"epoch {first_correct}" if first_correct == last_correct else f"epochs {first_correct}–{last_correct}"
        return f"right at {when} of {epochs}, wrong since"
    tail = ", wrong since" if last_correct < epochs else ""
    return f"right at {correct_epochs} of {epochs} epochs, first at epoch {first_correct}, last at {last_correct}{tail}"


DYNAMICS_FIX = "pass the dynamics.npz written by the same training run as the model"
TRAIN_IMAGES = 60_000  # Fashion-MNIST's training split, the widest a training row can be


def check_probabilities(path: Path, name: str, value: np.ndarray) -> None:
    """Refuse a probability that is NaN, infinite or outside [0, 1]; name how many and the first."""
    check_finite(path, name, value, DYNAMICS_FIX)
    bad = (value < 0) | (value > 1)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise snapshot_error(path, f"'{name}' holds {int(bad.sum()):,} of {value.size:,} values outside [0, 1] "
                                   f"(first: {name}[{', '.join(map(str, first))}] = {value[first]})", DYNAMICS_FIX)


# float16 rounding of a probability (2^-11 of it) and of fp32 softmax sums, with room to spare
CONSISTENCY_TOLERANCE = 1e-3


def check_agreement(path: Path, split: str, probability: np.ndarray, correct: np.ndarray, classes: int) -> None:
    """A right answer's true-class probability is the largest of `classes`, so at least 1/classes; a
    wrong one's is at most that of the class chosen instead, so at most 1/2. Refuse the first image
    whose probability and correctness contradict each other: the file was not written by one model."""
    low = 1 / classes - CONSISTENCY_TOLERANCE
    for right, bad, bound in ((True, correct & (probability < low),
                               f"under 1/{classes} = {1 / classes:.3g}, the least a right answer's can be"),
                              (False, ~correct & (probability > 0.5 + CONSISTENCY_TOLERANCE),
                               "over 0.5, the most a wrong answer's can be")):
        if bad.any():
            epoch, image = (int(i) for i in np.argwhere(bad)[0])
            raise snapshot_error(path, f"'{split}_true_probability' contradicts '{split}_correct' in "
                                       f"{int(bad.sum()):,} of {bad.size:,} values (first: [{epoch}, {image}] is "
                                       f"{'right' if right else 'wrong'} with a true-class probability of "
                                       f"{probability[epoch, image]:.4g}, {bound})", DYNAMICS_FIX)


def check_epochs_agree(path: Path, dynamics: Dynamics, history_path: Path, history: list[dict]) -> None:
    """The dynamics and the history of one training run cover the same epochs; the page would say one
    count while the curves show the other."""
    last = history[-1]["epoch"]
    if dynamics.epochs != last:
        raise RunFileError(f"{path} records {dynamics.epochs} epochs, but {history_path} records {last}; pass the "
                           "dynamics.npz and history.json written by the same training run")


def read_dynamics(path: Path, test_images: int, train_images_available: int | None, classes: int) -> Dynamics:
    """`dynamics.npz`, checked in full against the test set it is analysed with: four 2-D arrays of
    one epoch count, the test rows as wide as the test set, the training rows at most as wide as the
    training set (`train_images_available`, or Fashion-MNIST's 60,000 without the training files),
    probabilities finite, in [0, 1] and agreeing with the correctness of the model's `classes`
    classes. Probabilities are widened from float16 to float32."""
    arrays = load_npz(path, "dynamics", DYNAMICS_FIX)
    train_p = array(path, arrays, "train_true_probability", 2, "f", DYNAMICS_FIX)
    train_c = array(path, arrays, "train_correct", 2, "b", DYNAMICS_FIX)
    test_p = array(path, arrays, "test_true_probability", 2, "f", DYNAMICS_FIX)
    test_c = array(path, arrays, "test_correct", 2, "b", DYNAMICS_FIX)
    epochs = len(test_c)
    if not epochs:
        raise snapshot_error(path, "'test_correct' has no rows; the analysis needs at least one epoch", DYNAMICS_FIX)
    for name, value in (("train_true_probability", train_p), ("train_correct", train_c),
                        ("test_true_probability", test_p)):
        check_length(path, name, value, 0, epochs, "'test_correct' (one row per epoch)", DYNAMICS_FIX)
    check_length(path, "test_correct", test_c, 1, test_images, f"the test set ({test_images:,} images)",
                 DYNAMICS_FIX)
    check_length(path, "test_true_probability", test_p, 1, test_images, f"the test set ({test_images:,} images)",
                 DYNAMICS_FIX)
    train_images = train_images_available or TRAIN_IMAGES
    width = train_c.shape[1]
    if not 1 <= width <= train_images:
        raise snapshot_error(path, f"'train_correct' is {width:,} images wide; expected 1 to {train_images:,} "
                                   "(the first images of the training set)", DYNAMICS_FIX)
    check_length(path, "train_true_probability", train_p, 1, width, "'train_correct'", DYNAMICS_FIX)
    check_probabilities(path, "train_true_probability", train_p)
    check_probabilities(path, "test_true_probability", test_p)
    check_agreement(path, "train", train_p, train_c, classes)
    check_agreement(path, "test", test_p, test_c, classes)
    return Dynamics(train_p.astype(np.float32), train_c, test_p.astype(np.float32), test_c)


# logits closer than this are a tie: the trainer's last test pass (torch, any device) and onnxruntime
# differ by about 3e-5 (the exporter's parity check), which can flip an argmax between near-equal logits
TIE_TOLERANCE = 1e-3


def near_ties(ev: Evaluation) -> np.ndarray:
    """(N,) bool: the true class's logit and the highest other class's lie within TIE_TOLERANCE,
    so whether the image counts as right depends on the implementation that computed them."""
    rows = np.arange(len(ev.labels))
    others = ev.logits.copy()
    others[rows, ev.labels] = -np.inf
    return np.abs(ev.logits[rows, ev.labels] - others.max(axis=1)) < TIE_TOLERANCE


def check_dynamics_answers(path: Path, dynamics: Dynamics, ev: Evaluation) -> None:
    """The last epoch's test pass is the exported model's: its `test_correct` row must equal the
    model's correctness image by image (near ties aside), or the file is another run's."""
    differ = np.flatnonzero((dynamics.test_correct[-1] != (ev.predictions == ev.labels)) & ~near_ties(ev))
    if len(differ):
        raise snapshot_error(path, f"its last epoch's test pass (test_correct[{dynamics.epochs - 1}]) disagrees with "
                                   f"the model on {len(differ):,} of {len(ev.labels):,} test images (first: test "
                                   f"image {differ[0]}), so it is not this model's training run", DYNAMICS_FIX)


@dataclass(frozen=True)
class Inputs:
    """Everything a subject may read: the inputs, read once, and the blocks of the subjects before it.

    `blocks` holds only what a later subject genuinely needs from an earlier one (the neighbours
    need the hard negatives' test indices); a subject reads them and never changes them.
    """

    config: AnalyzeConfig
    model: LoadedModel
    evaluation: Evaluation
    projection: Projection  # the one plane every page draws the bottleneck in
    snapshots: Snapshots | None
    history: list[dict] | None
    train: TrainSet | None  # None: the training files are not in the data folder
    previous: Path  # the analysis folder this run replaces, whose cached files may be reused
    dynamics: Dynamics | None = None  # None: no dynamics.npz given (--dynamics)
    blocks: dict[str, dict | list | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Subject:
    """What one subject module returns: its block of results.json (None: its input is absent)
    and the figures it wrote, {key: file name under OUT}."""

    block: dict | list | None
    figures: dict[str, str] = field(default_factory=dict)
