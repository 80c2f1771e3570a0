"""Tiny ONNX models built with onnx.helper and tiny IDX test sets, whose answers are known.

`linear_pixel_model(weight, bias)` reads the first two pixels of each image as its 2-D bottleneck
and applies `logits = z @ weight + bias`; with images whose first two pixels we choose, every
logit, probability and prediction can be worked out in numpy.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# Fashion-MNIST's class names, in label order
FMNIST = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def linear_pixel_model(
    weight: np.ndarray,
    bias: np.ndarray,
    class_names: list[str] | None,
    outputs: tuple[str, str] = ("logits", "bottleneck"),
    input_shape=("N", 1, 28, 28),
    extra_metadata: dict[str, str] | None = None,
    squared: bool = False,
    bottleneck_op: str | None = None,
    output_types: tuple[int, int] = (TensorProto.FLOAT, TensorProto.FLOAT),
    logits_op: str | None = None,
) -> onnx.ModelProto:
    """image -> first D pixels (bottleneck, D = rows of weight) -> Gemm (logits).

    With `squared`, the head sees the bottleneck squared: logits are no longer affine in it.
    With `bottleneck_op` (a unary ONNX op such as "Log"), the bottleneck is that op of the pixels.
    With `logits_op` (such as "Softmax"), the `logits` output is that op of the Gemm's result.
    With `output_types` other than float (TensorProto element types of logits and bottleneck),
    each output is a Cast of the float value; the head reads the float bottleneck.
    """
    dims, classes = weight.shape
    bottleneck = outputs[1] if output_types[1] == TensorProto.FLOAT else "z"
    scores = outputs[0] if output_types[0] == TensorProto.FLOAT and not logits_op else "scores"
    head_input = "z_squared" if squared else bottleneck
    gathered = "pixels" if bottleneck_op else bottleneck
    nodes = [
        helper.make_node("Reshape", ["image", "flat_shape"], ["flat"]),
        helper.make_node("Gather", ["flat", "pixel_ids"], [gathered], axis=1),
        *([helper.make_node(bottleneck_op, ["pixels"], [bottleneck])] if bottleneck_op else []),
        *([helper.make_node("Mul", [bottleneck, bottleneck], ["z_squared"])] if squared else []),
        helper.make_node("Gemm", [head_input, "W", "B"], [scores]),
        *output_nodes(scores, outputs[0], output_types[0], logits_op),
        *output_nodes(bottleneck, outputs[1], output_types[1], None),
    ]
    inits = [
        numpy_helper.from_array(np.array([-1, 784], np.int64), "flat_shape"),
        numpy_helper.from_array(np.arange(dims, dtype=np.int64), "pixel_ids"),
        numpy_helper.from_array(weight.astype(np.float32), "W"),
        numpy_helper.from_array(bias.astype(np.float32), "B"),
    ]
    graph = helper.make_graph(
        nodes, "handmade",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, list(input_shape))],
        [helper.make_tensor_value_info(outputs[0], output_types[0], [input_shape[0], classes]),
         helper.make_tensor_value_info(outputs[1], output_types[1], [input_shape[0], dims])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    props = dict(extra_metadata or {})
    if class_names is not None:
        props["class_names"] = json.dumps(class_names)
    helper.set_model_props(model, props)
    onnx.checker.check_model(model, full_check=True)
    return model


def output_nodes(value: str, output: str, element_type: int, op: str | None) -> list[onnx.NodeProto]:
    """Nodes from the float `value` to the graph output `output`: `op`, then a Cast when the
    output is not float (none when `value` already is the output)."""
    if value == output:
        return []
    nodes = [helper.make_node(op, [value], [f"{value}_{op}"])] if op else []
    source = f"{value}_{op}" if op else value
    if element_type == TensorProto.FLOAT:
        return [*nodes, helper.make_node("Identity", [source], [output])]
    return [*nodes, helper.make_node("Cast", [source], [output], to=element_type)]


def write_test_set(data_dir: Path, images: np.ndarray, labels: np.ndarray, packed: bool = False,
                   split: str = "t10k") -> None:
    """IDX test files (extracted, or .gz when packed) under data_dir/FashionMNIST/raw/; with
    split="train", the training files instead."""
    raw = data_dir / "FashionMNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    n = len(labels)
    image_bytes = (2051).to_bytes(4, "big") + b"".join(v.to_bytes(4, "big") for v in (n, 28, 28))
    image_bytes += images.astype(np.uint8).tobytes()
    label_bytes = (2049).to_bytes(4, "big") + n.to_bytes(4, "big") + labels.astype(np.uint8).tobytes()
    for name, payload in ((f"{split}-images-idx3-ubyte", image_bytes), (f"{split}-labels-idx1-ubyte", label_bytes)):
        if packed:
            (raw / f"{name}.gz").write_bytes(gzip.compress(payload))
        else:
            (raw / name).write_bytes(payload)


def images_with_pixels(values: list[tuple[int, ...]]) -> np.ndarray:
    """Blank images whose first pixels hold the given byte values."""
    images = np.zeros((len(values), 28, 28), np.uint8)
    for i, row in enumerate(values):
        images[i, 0, : len(row)] = row
    return images
