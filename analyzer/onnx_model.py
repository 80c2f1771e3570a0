"""Loading an ONNX classifier that follows the documented interface, and running it.

The interface: one input `image`, float32 [N, 1, 28, 28] with values in [0, 1] (or in [0, 255]
when `metadata_props["input_range"]` says "0..255"); outputs `logits` [N, C] and `bottleneck`
[N, D] of any float or integer type, read as float32; `metadata_props["class_names"]` a JSON list
of the C class names in index order. Any model that keeps this contract can be analysed, whoever
trained it.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from fmnist_common.interface import (
    DEFAULT_RANGE,
    INPUT_NAME,
    INPUT_RANGES,
    INPUT_SHAPE,
    OUTPUT_NAMES,
    PROBABILITY_TOLERANCE,
    looks_like_probabilities,
    run_batches,
)

PROBE_BATCH = 3  # images of the trial run at load time: any size but a fixed batch's likely 1
# element types onnxruntime returns as numpy numbers; each is read as float32
NUMERIC_TYPES = {f"tensor({t})" for t in ("float", "double", "float16", "int8", "int16", "int32", "int64",
                                          "uint8", "uint16", "uint32", "uint64")}
# The confusion matrix and its gallery draw C x C cells, each with its count: at 100 classes the figure
# is 8,400 x 6,600 pixels with 300-character names (87 s, 1.6 GB); 10,000 classes ran out of memory.
MAX_CLASSES = 100
# Class names label the figures' axes, so the figures grow with the longest name: 300 characters
# (a sentence) keep the confusion matrix within a few thousand pixels; 3,000 drew 1.36 gigapixels.
MAX_NAME_CHARS = 300
# Embeddings, overrides and isolates: unclosed in a name, they run on past it (an override reverses
# what follows), and the pages quote names inside sentences. Right-to-left scripts need none of them.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# The analysis sums squared coordinates in float32 (largest 3.4e38), so values near 1e19 overflow to
# infinity and NaN; no trained network's logits or bottleneck come within many orders of 1e15.
MAX_MAGNITUDE = 1e15


class ModelError(ValueError):
    """The ONNX file is missing or does not follow the interface; the message says what is expected."""


@dataclass
class LoadedModel:
    path: Path
    session: ort.InferenceSession
    metadata: dict[str, str]  # metadata_props as stored
    class_names: list[str]
    sha256: str
    inputs: list[dict]  # name, shape, type of each graph input
    outputs: list[dict]
    bottleneck_dim: int  # D, from the trial run
    input_range: str  # a key of INPUT_RANGES: the pixel values the graph expects


def available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def describe(args) -> list[dict]:
    return [
        {"name": a.name, "shape": [d if isinstance(d, int) else str(d) for d in a.shape], "type": a.type}
        for a in args
    ]


def load(path: str | Path, threads: int = 0) -> LoadedModel:
    """Open `path` in onnxruntime (CPU, `threads` threads or all cores) and check it against the
    interface, including a trial run on a few blank images, so a model that cannot be analysed
    is refused before any work is done."""
    path = Path(path)
    check_model_path(path)
    data = path.read_bytes()
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or available_cores()
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises several unrelated types for a bad file
        raise ModelError(f"{path} is not a loadable ONNX model ({exc})") from exc
    meta = dict(session.get_modelmeta().custom_metadata_map)
    check_interface(path, session, meta)
    class_names = parse_class_names(path, meta)
    input_range = parse_input_range(path, meta)
    return LoadedModel(
        path=path,
        session=session,
        metadata=meta,
        class_names=class_names,
        sha256=hashlib.sha256(data).hexdigest(),
        inputs=describe(session.get_inputs()),
        outputs=describe(session.get_outputs()),
        bottleneck_dim=trial_run(path, session, class_names),
        input_range=input_range,
    )


def check_model_path(path: Path) -> None:
    """Refuse a path that is not a file, naming the model file when `path` is a folder that holds one."""
    if path.is_dir():
        inside = sorted(path.glob("*.onnx"))
        if len(inside) == 1:
            raise ModelError(f"{path} is a folder; pass the .onnx file inside it: --model {inside[0]}")
        if inside:
            listed = ", ".join(p.name for p in inside)
            raise ModelError(f"{path} is a folder; pass one of the .onnx files inside it ({listed}) as --model")
        raise ModelError(f"{path} is a folder and holds no .onnx file; pass the model file as --model")
    if not path.is_file():
        raise ModelError(f"{path} not found; pass an ONNX model as --model (\"make export\" writes RUN/model.onnx)")


def check_interface(path: Path, session: ort.InferenceSession, meta: dict[str, str]) -> None:
    """Refuse a model that breaks the interface with one message that lists every violation, so that a
    foreign model (a scikit-learn MLP breaks five rules) takes one run to diagnose, and that names the
    command that mends the model."""
    found = violations(path, session, meta)
    if not found:
        return
    mendable = [m for m in found if "is of type" not in m and "'input_range'" not in m]
    mend = f"python -m exporter.adopt {path} --out adopted.onnx mends" if mendable else ""
    if len(found) == 1:
        raise ModelError(f"{found[0]}; {mend} it (docs/model-interface.md)" if mend else found[0])
    listed = "; ".join(f"({i}) {m.removeprefix(str(path)).removeprefix(':').strip()}" for i, m in enumerate(found, 1))
    raise ModelError(f"{path} breaks the model interface in {len(found)} ways: {listed}"
                     + (f"; {mend} them (docs/model-interface.md)" if mend else ""))


def violations(path: Path, session: ort.InferenceSession, meta: dict[str, str]) -> list[str]:
    """Every way the model's inputs, outputs and required metadata break the interface, in words."""
    found = []
    inputs = session.get_inputs()
    expected = "one input 'image' of type float32 and shape [N, 1, 28, 28]"
    if len(inputs) != 1 or inputs[0].name != INPUT_NAME or inputs[0].type != "tensor(float)":
        found.append(f"{path} has inputs {[(i.name, i.type) for i in inputs]}; expected {expected}")
    shape = inputs[0].shape if len(inputs) == 1 else [None, *INPUT_SHAPE]
    if len(shape) != 4 or tuple(shape[1:]) != INPUT_SHAPE:
        found.append(f"{path} input '{inputs[0].name}' has shape {shape}; expected {expected}")
    if shape and isinstance(shape[0], int):
        found.append(f"{path} input '{inputs[0].name}' has a fixed batch size of {shape[0]}; expected a dynamic "
                     "batch axis N (export with a dynamic first dimension)")
    names = [o.name for o in session.get_outputs()]
    missing = [n for n in OUTPUT_NAMES if n not in names]
    if missing:
        found.append(f"{path} lacks the output(s) {missing} (it has {names}); expected 'logits' [N, C] "
                     "and 'bottleneck' [N, D]")
    found += [f"{path}: output '{o.name}' is of type {o.type}; expected numbers (float32, or any float or integer "
              "type, which the analysis reads as float32)"
              for o in session.get_outputs() if o.name in OUTPUT_NAMES and o.type not in NUMERIC_TYPES]
    if "class_names" not in meta:
        found.append(f"{path} has no 'class_names' metadata; expected metadata_props['class_names'] = "
                     "a JSON list of class names in index order")
    try:
        parse_input_range(path, meta)
    except ModelError as exc:
        found.append(str(exc))
    return found


def parse_class_names(path: Path, meta: dict[str, str]) -> list[str]:
    if "class_names" not in meta:
        raise ModelError(
            f"{path} has no 'class_names' metadata; expected metadata_props['class_names'] = "
            "a JSON list of class names in index order"
        )
    try:
        names = json.loads(meta["class_names"])
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path}: metadata 'class_names' is not JSON ({exc})") from exc
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise ModelError(f"{path}: metadata 'class_names' must be a non-empty JSON list of strings")
    if len(names) > MAX_CLASSES:
        raise ModelError(f"{path}: metadata 'class_names' names {len(names):,} classes; the analysis draws at most "
                         f"{MAX_CLASSES} (its confusion matrix has one row and column per class)")
    longest = max(range(len(names)), key=lambda i: len(names[i]))
    if len(names[longest]) > MAX_NAME_CHARS:
        raise ModelError(f"{path}: metadata 'class_names': class {longest}'s name is {len(names[longest]):,} "
                         f"characters long; the figures label their axes with the names, so each may be at most "
                         f"{MAX_NAME_CHARS}; shorten it")
    if len(set(names)) != len(names):
        raise ModelError(f"{path}: metadata 'class_names' repeats a name: {names}")
    blank = next((i for i, name in enumerate(names) if not name.strip()), None)
    if blank is not None:  # it would show as nothing (or as bare Markdown) on every page
        spaces = " (only whitespace)" if names[blank] else ""
        raise ModelError(
            f"{path}: metadata 'class_names': class {blank}'s name is empty{spaces}; give every class a visible name"
        )
    for index, name in enumerate(names):
        control = next((c for c in name if c in BIDI_CONTROLS), None)
        if control is not None:
            raise ModelError(f"{path}: metadata 'class_names': class {index}'s name holds the bidirectional control "
                             f"U+{ord(control):04X}, which would reorder the text after the name in every sentence "
                             "that quotes it; remove it (right-to-left names need none)")
    return names


def parse_input_range(path: Path, meta: dict[str, str]) -> str:
    """The pixel range the graph expects: the metadata's `input_range`, "0..1" when absent."""
    value = meta.get("input_range", DEFAULT_RANGE)
    if value not in INPUT_RANGES:
        raise ModelError(
            f"{path}: metadata 'input_range' is {value!r}; expected '0..1' (pixels scaled to [0, 1]) "
            "or '0..255' (raw pixel values), the two ranges the analysis can feed"
        )
    return value


def trial_run(path: Path, session: ort.InferenceSession, class_names: list[str]) -> int:
    """Run a few blank images; check the outputs' ranks and widths; return the bottleneck width D."""
    blank = np.zeros((PROBE_BATCH, *INPUT_SHAPE), np.float32)
    try:
        logits, coords = session.run(list(OUTPUT_NAMES), {INPUT_NAME: blank})
    except Exception as exc:  # onnxruntime raises several unrelated types for a failed run
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"{path} fails on a batch of {PROBE_BATCH} images: {first}") from exc
    if logits.ndim != 2 or logits.shape[0] != PROBE_BATCH:
        raise ModelError(f"{path}: 'logits' has shape {list(logits.shape)} for {PROBE_BATCH} images; expected [N, C]")
    if logits.shape[1] != len(class_names):
        raise ModelError(
            f"{path}: 'logits' is {logits.shape[1]} wide, but metadata 'class_names' names {len(class_names)} "
            "classes; it must list one name per logit"
        )
    if coords.ndim != 2 or coords.shape[0] != PROBE_BATCH:
        raise ModelError(
            f"{path}: 'bottleneck' has shape {list(coords.shape)} for {PROBE_BATCH} images; expected [N, D]"
        )
    if coords.shape[1] < 1:
        raise ModelError(f"{path}: 'bottleneck' has no units per image; the analysis draws at least one")
    return int(coords.shape[1])


def infer(model: LoadedModel, images: np.ndarray, batch_size: int, images_are: str = "test images",
          image: Callable[[int], str] = "test image {}".format) -> tuple[np.ndarray, np.ndarray, float]:
    """(logits (N, C) float32, bottleneck (N, D) float32, seconds) for uint8 images (N, 28, 28).

    `images_are` (plural) and `image(i)` name the images in a refusal, so that a model failing on
    the occlusion's copies is not reported as failing on test images.

    Every output must be finite: NaN or infinity would turn every figure and the JSON into nonsense.
    And `logits` must not be probabilities already: their softmax would flatten every confidence.
    """
    started = time.perf_counter()
    logits, coords = run_batches(model.session, images, batch_size, model.input_range)
    seconds = time.perf_counter() - started
    for name, values in (("bottleneck", coords), ("logits", logits)):  # upstream first
        bad = np.flatnonzero(~np.isfinite(values).all(axis=1))
        if len(bad):
            raise ModelError(
                f"{model.path}: '{name}' holds NaN or infinity for {len(bad):,} of {len(values):,} {images_are} "
                f"(first: {image(bad[0])}); the model is broken, so nothing was analysed"
            )
        huge = np.flatnonzero((np.abs(values) > MAX_MAGNITUDE).any(axis=1))
        if len(huge):
            raise ModelError(
                f"{model.path}: '{name}' holds values beyond ±{MAX_MAGNITUDE:.0e} for {len(huge):,} of "
                f"{len(values):,} {images_are} (first: {image(huge[0])}, largest {np.abs(values).max():.3g}); "
                "the analysis squares them in float32, which overflows; export a model whose outputs stay "
                f"within ±{MAX_MAGNITUDE:.0e}"
            )
    if looks_like_probabilities(logits):
        raise ModelError(
            f"{model.path}: 'logits' holds probabilities, not logits: all {len(logits):,} rows are non-negative "
            f"and sum to 1 (within {PROBABILITY_TOLERANCE:g}); export the scores before the softmax as 'logits' "
            "(the analysis takes the softmax itself)"
        )
    return logits, coords, seconds
