"""Rebuild the trained model from its checkpoint and export it as a self-describing ONNX graph.

The graph has one input `image` (float32 [batch, 1, 28, 28] in [0, 1], dynamic batch) and two
outputs, `logits` [batch, C] and `bottleneck` [batch, D]. It is exported in eval mode with torch's
dynamo exporter (which needs onnxscript), so batch norms are in inference form and there is no
dropout; the metadata in `metadata_props` carries what the analyzer needs to know about it.
"""

from __future__ import annotations

import io
import json
import warnings
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import onnx
import torch

from fmnist_common.interface import INPUT_NAME, OUTPUT_NAMES
from trainer.config import TrainConfig
from trainer.model import BottleneckCNN, build_model

OPSET = 18


class ExportError(RuntimeError):
    """The checkpoint cannot be exported, or the exported graph failed a check."""


def package_version() -> str:
    try:
        return version("fmnist-bottleneck")
    except PackageNotFoundError:
        return "unknown"


def load_trained(checkpoint_path: Path) -> tuple[BottleneckCNN, dict]:
    """The model in eval mode and the raw checkpoint, with clear errors for a wrong file."""
    if not checkpoint_path.is_file():
        raise ExportError(f"{checkpoint_path} not found; run \"make train\" first")
    # not trainer.checkpoint's reader: it imports the training data module, and editing that must
    # not make `make` export again
    foreign = f"{checkpoint_path} is not a checkpoint written by \"python -m trainer train\""
    try:
        checkpoint = torch.load(checkpoint_path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch's own message runs to lines and suggests loading the file unsafely
        raise ExportError(f"{foreign} (torch.load: {type(exc).__name__})") from exc
    try:
        config = TrainConfig.from_json(checkpoint["config"])
    except Exception as exc:  # any other content gets the same advice
        raise ExportError(f"{foreign} ({exc})") from exc
    if not checkpoint.get("complete"):
        raise ExportError(
            f"{checkpoint_path} is from an unfinished run (epoch {checkpoint['epoch']} of "
            f"{config.epochs}); finish it with \"make train RESUME=1\" first"
        )
    model = build_model(config, len(checkpoint["class_names"]))
    try:
        model.load_state_dict(checkpoint["model"])
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[-1].strip()  # e.g. "size mismatch for ..."
        raise ExportError(
            f"{checkpoint_path} does not fit the architecture its config describes "
            f"(widths {config.widths}, bottleneck {config.bottleneck_dim}): {first}"
        ) from exc
    return model.eval(), checkpoint


def metadata(checkpoint: dict, dataset_sha256: str) -> dict[str, str]:
    """The documented `metadata_props` of the exported model (all values are strings)."""
    config = TrainConfig.from_json(checkpoint["config"])
    return {
        "class_names": json.dumps(checkpoint["class_names"], ensure_ascii=False),
        "bottleneck_dim": str(config.bottleneck_dim),
        "squeeze_activation": config.squeeze_activation,
        "input_range": "0..1",
        "test_accuracy": repr(checkpoint["history"][-1]["test_accuracy"]),
        "dataset_sha256": dataset_sha256,
        "epochs": str(checkpoint["epoch"]),
        "seed": str(config.seed),
        "preset": config.preset,
        "created_by": f"fmnist-bottleneck {package_version()}",
        "torch_version": torch.__version__,
    }


def check_inference_only(graph: onnx.GraphProto) -> None:
    """Refuse nodes that behave differently in training: batch norms with a nonzero `training_mode`
    (they would normalise with each batch's own statistics) and any `Dropout`."""
    found = []
    for node in graph.node:
        modes = [a.i for a in node.attribute if a.name == "training_mode"]
        if node.op_type == "Dropout" or (node.op_type == "BatchNormalization" and any(modes)):
            found.append(f"{node.op_type} {node.name!r}")
    if found:
        raise ExportError(f"the exported graph still holds training-only nodes: {', '.join(found)}")


def export_onnx(model: BottleneckCNN, properties: dict[str, str]) -> onnx.ModelProto:
    """Export `model` (eval mode, fp32) and attach `properties`; returns the checked graph."""
    example = torch.rand(2, 1, 28, 28)
    batch = torch.export.Dim("batch", min=1, max=65536)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's progress chatter, not problems
        program = torch.onnx.export(
            model,
            (example,),
            input_names=[INPUT_NAME],
            output_names=list(OUTPUT_NAMES),
            dynamic_shapes={"images": {0: batch}},
            opset_version=OPSET,
            dynamo=True,
            optimize=True,
            verbose=False,
        )
    program.save(buffer)
    proto = onnx.load_from_string(buffer.getvalue())
    onnx.helper.set_model_props(proto, properties)
    proto.doc_string = "Fashion-MNIST bottleneck classifier: image [N,1,28,28] in [0,1] -> logits, bottleneck"
    try:
        onnx.checker.check_model(proto, full_check=True)
    except onnx.checker.ValidationError as exc:
        raise ExportError(f"the exported graph fails onnx.checker: {exc}") from exc
    check_inference_only(proto.graph)
    return proto
