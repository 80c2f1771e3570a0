"""One adoption from file to file: read, choose the tensors, rewrite, prove, write.

`adopt_file(request)` writes `OUT.onnx` and `adopt_report.json` beside it only once the proof over
the test set has passed; `tensor_table(request)` lists the model's float tensors for --list-tensors.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

from exporter.adopt import proof, rewrite
from exporter.adopt.source import FLOAT_TYPES, AdoptError, Source, feed, parse_range, read, session
from exporter.adopt.trace import Bottleneck, Scores, class_columns, find_bottleneck, find_scores, source_run
from fmnist_common.artifacts import write_bytes, write_json
from fmnist_common.idx import load_test_set
from fmnist_common.interface import DEFAULT_RANGE

REPORT_NAME = "adopt_report.json"
SAMPLE = 8  # test images run to tell probabilities from scores and to measure the chosen tensors


@dataclass
class Request:
    """The command line, parsed."""

    model: Path
    out: Path | None
    data: Path
    bottleneck: str | None = None
    logits: str | None = None
    class_names: list[str] | None = None
    layout: str | None = None
    input_range: str | None = None


def input_range(source: Source, request: Request) -> tuple[str, bool]:
    """(the range of the pixels the model was trained on, whether it was given rather than assumed)."""
    if request.input_range:
        return request.input_range, True
    stated = {p.key: p.value for p in source.model.metadata_props}.get("input_range")
    return (stated, True) if stated in ("0..1", "0..255") else (DEFAULT_RANGE, False)


def check_output(out: Path, model: Path) -> None:
    """Refuse an --out that could not be written, or that would replace the model being adopted."""
    if out.suffix != ".onnx":
        raise AdoptError(f"--out {out} does not end in .onnx; choose a .onnx name")
    if out.is_dir():
        raise AdoptError(f"--out {out} is a folder; choose a .onnx file name")
    if out.resolve() == model.resolve():
        raise AdoptError(f"--out {out} is the model being adopted; choose another name")
    if out.exists() and not adopted_before(out):
        raise AdoptError(f"--out {out} is a model this command did not write (it has no 'adopted_from' metadata); "
                         "adopting would replace it, so it is left as it is; choose another name")
    report = out.parent / REPORT_NAME
    if report.exists() and not own_report(report):
        raise AdoptError(f"{report} is not a report this command wrote; adopting writes its report beside --out, so "
                         "it is left as it is; choose another folder for --out")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AdoptError(f"cannot write into {out.parent} ({exc.strerror}); choose a writable --out") from exc
    if not os.access(out.parent, os.W_OK | os.X_OK):
        raise AdoptError(f"cannot write into {out.parent}; choose a writable --out")


def adopted_before(path: Path) -> bool:
    """Whether `path` is an ONNX model an earlier adoption wrote: one a rerun may replace."""
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception:  # a protobuf, I/O or onnx error: whatever the file is, it is not one of ours
        return False
    return any(prop.key == "adopted_from" for prop in model.metadata_props)


def own_report(path: Path) -> bool:
    """Whether `path` is an adopt_report.json an earlier adoption wrote."""
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(report, dict) and isinstance(report.get("adopted_from"), dict)


def make_plan(source: Source, request: Request, images: np.ndarray) -> tuple[rewrite.Plan, Scores, Bottleneck,
                                                                               list[str]]:
    """Every choice, from the graph and the flags, checked on a few test images."""
    scale, shift = parse_range(input_range(source, request)[0])
    sample = feed(source, images[: source.batch or SAMPLE], scale, shift)
    scores = find_scores(source, request.logits, sample)
    bottleneck = find_bottleneck(source, scores, request.bottleneck)
    score_values, coords = source_run(source, [scores.tensor, bottleneck.tensor], sample)
    if score_values.ndim != 2 or score_values.dtype.type not in FLOAT_TYPES.values():
        raise AdoptError(f"{source.path}: the scores '{scores.tensor}' are {score_values.dtype} of shape "
                         f"{list(score_values.shape)} for {len(sample)} images; expected floats [N, C]: "
                         "name them with --logits")
    if coords.ndim < 2 or coords.shape[0] != len(sample) or coords.dtype.type not in FLOAT_TYPES.values():
        raise AdoptError(f"{source.path}: the bottleneck '{bottleneck.tensor}' is {coords.dtype} of shape "
                         f"{list(coords.shape)} for {len(sample)} images; choose a float tensor with the batch "
                         "first with --bottleneck")
    dim = math.prod(coords.shape[1:])
    if dim < 1:
        raise AdoptError(f"{source.path}: the bottleneck '{bottleneck.tensor}' has no units per image; the report "
                         "draws at least one: choose another with --bottleneck")
    names, columns = class_columns(source, scores, score_values.shape[1], request.class_names)
    plan = rewrite.Plan(scale, shift, scores.tensor, scores.log, columns,
                        helper.np_dtype_to_tensor_dtype(score_values.dtype), bottleneck.tensor, coords.ndim,
                        helper.np_dtype_to_tensor_dtype(coords.dtype), dim)
    return plan, scores, bottleneck, names


def provenance(source: Source, request: Request, plan: rewrite.Plan, scores: Scores, bottleneck: Bottleneck,
               names: list[str]) -> dict:
    """The `adopted_from` metadata: where the model came from and everything adoption did to it."""
    range_text, given = input_range(source, request)
    return {
        "source": source.path.name,
        "sha256": source.sha256,
        "producer": source.producer,
        "ir_version": source.model.ir_version,
        "opsets": source.opsets,
        "input": {"name": source.input_name, "shape": ["N" if d is None else d for d in source.input_dims],
                  "type": TensorProto.DataType.Name(source.input_type).lower(), "layout": source.layout,
                  "range": range_text, "range_given": given},
        "logits": {"output": scores.output, "tensor": scores.tensor, "derived": scores.derived},
        "bottleneck": {"tensor": bottleneck.tensor, "derived": bottleneck.derived, "dim": plan.bottleneck_dim},
        "classes": {"labels": scores.labels, "columns": plan.columns,
                    "missing": [n for n, c in zip(names, plan.columns, strict=True) if c is None]},
        "rewritten": plan.rewritten,
        "renamed": plan.renamed,
        "pruned_nodes": plan.pruned,
    }


def adopt_file(request: Request) -> dict:
    """Adopt, prove and write; return the report (also in adopt_report.json beside the model)."""
    source = read(request.model, request.layout)
    assert request.out is not None
    check_output(request.out, request.model)
    images, labels, sha256 = load_test_set(request.data)
    plan, scores, bottleneck, names = make_plan(source, request, images)
    model = rewrite.adopt(source, plan)
    adopted_from = provenance(source, request, plan, scores, bottleneck, names)
    props = {p.key: p.value for p in model.metadata_props}
    del model.metadata_props[:]
    helper.set_model_props(model, {**props, "class_names": json.dumps(names), "input_range": DEFAULT_RANGE,
                                   "bottleneck_dim": str(plan.bottleneck_dim),
                                   "adopted_from": json.dumps(adopted_from)})
    data = model.SerializeToString()
    report = proof.compare(source, plan, data, images, labels)
    found = proof.problems(report)
    if found:
        raise AdoptError(f"{request.out} not written: the adopted model differs from {source.path} on the test set: "
                         f"{'; '.join(found)}")
    report.update(model=str(request.out), dataset_sha256=sha256, adopted_from=adopted_from, passed=True)
    write_bytes(request.out, data)
    write_json(request.out.parent / REPORT_NAME, report)
    return report


def tensor_table(request: Request) -> list[str]:
    """One line per float tensor: name, shape on a batch of blank images, producing op, and the
    tensors adoption would choose marked."""
    source = read(request.model, request.layout)
    blank = feed(source, np.zeros((source.batch or 2, 28, 28), np.uint8), 1.0, 0.0)
    marks: dict[str, list[str]] = {}
    try:
        scores = find_scores(source, request.logits, blank)
        marks.setdefault(scores.tensor, []).append("<- logits")
        marks.setdefault(find_bottleneck(source, scores, request.bottleneck).tensor, []).append("<- bottleneck")
    except AdoptError as exc:
        marks.setdefault("", []).append(str(exc))
    sequences = {n.output[0] for n in source.model.graph.node if n.op_type == "ZipMap"}  # maps, never floats
    names = [source.input_name, *(n for n in source.tensors() if n not in sequences)]
    values = session(source.model, names[1:]).run(names[1:], {source.input_name: blank})
    rows = []
    for name, value in zip(names, [blank, *values], strict=True):
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            dims = [*(["N"] if value.ndim and value.shape[0] == len(blank) else []), *value.shape[1:]]
            op = source.producers[name].op_type if name in source.producers else "input"
            rows.append((name, "[" + ", ".join(map(str, dims)) + "]", op, " ".join(marks.get(name, []))))
    width = max(len(r[0]) for r in rows)
    lines = [f"{n:<{width}}  {s:<16}  {o:<14}  {m}".rstrip() for n, s, o, m in rows]
    return lines + [f"(no default: {m})" for m in marks.get("", [])]
