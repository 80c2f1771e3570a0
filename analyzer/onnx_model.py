"""Loading an ONNX classifier that follows the documented interface, and running it.

The interface: one input `image`, float32 [N, 1, 28, 28] with values in [0, 1]; outputs `logits`
[N, C] and `bottleneck` [N, D]; `metadata_props["class_names"]` a JSON list of the C class names in
index order. Any model that keeps this contract can be analysed, whoever trained it.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

INPUT_NAME = "image"
OUTPUT_NAMES = ("logits", "bottleneck")
INPUT_SHAPE = (1, 28, 28)  # after the batch axis
BATCH = 500


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


def available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def describe(args) -> list[dict]:
    return [
        {"name": a.name, "shape": [d if isinstance(d, int) else str(d) for d in a.shape], "type": a.type}
        for a in args
    ]


def load(path: str | Path) -> LoadedModel:
    """Open `path` in onnxruntime (CPU) and check it against the interface."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path} not found; run \"make export\" first or pass --model")
    data = path.read_bytes()
    options = ort.SessionOptions()
    options.intra_op_num_threads = available_cores()
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises several unrelated types for a bad file
        raise ModelError(f"{path} is not a loadable ONNX model ({exc})") from exc
    check_interface(path, session)
    meta = dict(session.get_modelmeta().custom_metadata_map)
    return LoadedModel(
        path=path,
        session=session,
        metadata=meta,
        class_names=parse_class_names(path, meta),
        sha256=hashlib.sha256(data).hexdigest(),
        inputs=describe(session.get_inputs()),
        outputs=describe(session.get_outputs()),
    )


def check_interface(path: Path, session: ort.InferenceSession) -> None:
    inputs = session.get_inputs()
    expected = "one input 'image' of type float32 and shape [N, 1, 28, 28]"
    if len(inputs) != 1 or inputs[0].name != INPUT_NAME or inputs[0].type != "tensor(float)":
        found = [(i.name, i.type) for i in inputs]
        raise ModelError(f"{path} has inputs {found}; expected {expected}")
    shape = inputs[0].shape
    if len(shape) != 4 or tuple(shape[1:]) != INPUT_SHAPE:
        raise ModelError(f"{path} input 'image' has shape {shape}; expected {expected}")
    names = [o.name for o in session.get_outputs()]
    missing = [n for n in OUTPUT_NAMES if n not in names]
    if missing:
        raise ModelError(
            f"{path} lacks the output(s) {missing} (it has {names}); expected 'logits' [N, C] "
            "and 'bottleneck' [N, D]"
        )


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
    if len(set(names)) != len(names):
        raise ModelError(f"{path}: metadata 'class_names' repeats a name: {names}")
    return names


def infer(model: LoadedModel, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(logits (N, C) float32, bottleneck (N, D) float32) for uint8 images (N, 28, 28)."""
    logits, coords = [], []
    for start in range(0, len(images), BATCH):
        x = images[start : start + BATCH, None].astype(np.float32) / 255.0
        out_logits, out_z = model.session.run(list(OUTPUT_NAMES), {INPUT_NAME: x})
        logits.append(out_logits)
        coords.append(out_z)
    logits, coords = np.concatenate(logits), np.concatenate(coords)
    if logits.ndim != 2 or logits.shape[1] != len(model.class_names):
        raise ModelError(
            f"{model.path}: 'logits' has shape {logits.shape}, but the metadata names "
            f"{len(model.class_names)} classes"
        )
    if coords.ndim != 2 or len(coords) != len(logits):
        raise ModelError(f"{model.path}: 'bottleneck' has shape {coords.shape}; expected [N, D]")
    return logits, coords
