"""Which tensors of a foreign classifier become `logits` and `bottleneck`, and in which class order.

Scores: the one float output of rank 2 (or ZipMap of probabilities), traced back through Identity,
Cast and ZipMap to the input of its Softmax (never the log of probabilities that underflow); a
LogSoftmax is taken as it is; probabilities with no Softmax in the graph are taken as logs. The
bottleneck: the data input of the last Gemm or MatMul that feeds the scores, walking back through
Identity, Cast, Dropout, a bias Add and Softmax; refused when it is only the reshaped image.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import helper

from exporter.adopt.source import FLOAT_TYPES, AdoptError, Source, session
from fmnist_common.interface import looks_like_probabilities

FASHION_MNIST = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                 "Ankle boot"]
THROUGH = {"Identity", "Cast", "Dropout"}  # ops that leave values as they are at inference
# ops that only move, scale or shift the image: a layer reading their result reads the image itself
IMAGE_OPS = THROUGH | {"Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Mul", "Add", "Sub", "Div",
                       "Scaler", "Normalizer"}
HIDDEN_HINT = "pass --bottleneck TENSOR to choose one anyway (--list-tensors lists them)"


@dataclass
class Scores:
    output: str  # the graph output (or --logits tensor) the scores were traced from
    tensor: str  # the tensor that becomes `logits`
    derived: str  # how, in words
    log: bool  # take its log: probabilities with no Softmax in the graph
    labels: list | None  # the class label of each column (a ZipMap's), None for index order


@dataclass
class Bottleneck:
    tensor: str
    derived: str


def node_label(node: onnx.NodeProto) -> str:
    return f"{node.op_type} '{node.name}'" if node.name else node.op_type


def nearest(name: str, names: list[str]) -> str:
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.4)
    return f"nearest: {', '.join(close)}" if close else "see --list-tensors"


def score_outputs(source: Source) -> list[str]:
    """Graph outputs that can hold the scores: float tensors of rank 2 (or unknown rank) and ZipMaps."""
    found = []
    for output in source.model.graph.output:
        node = source.producers.get(output.name)
        kind = output.type.WhichOneof("value")
        if kind == "tensor_type":
            tensor = output.type.tensor_type
            rank = len(tensor.shape.dim) if tensor.HasField("shape") else 2
            if tensor.elem_type in FLOAT_TYPES and rank == 2:
                found.append(output.name)
        elif kind == "sequence_type" and node is not None and node.op_type == "ZipMap":
            found.append(output.name)
    if len(found) > 1 and "logits" in found:  # a model that already follows the interface
        return ["logits"]
    return found


def find_scores(source: Source, asked: str | None, sample: np.ndarray) -> Scores:
    """The scores the model classifies by, from --logits or its one candidate output; `sample` is the
    model's input for a few test images, to tell probabilities from scores."""
    if asked:
        if asked not in source.tensors():
            raise AdoptError(f"--logits {asked}: {source.path} has no such tensor; {nearest(asked, source.tensors())}")
        output = asked
    else:
        candidates = score_outputs(source)
        if not candidates:
            raise AdoptError(f"{source.path} has no output of scores (a float [N, C] tensor or a ZipMap); "
                             "name the scores with --logits TENSOR (--list-tensors lists them)")
        if len(candidates) > 1:
            raise AdoptError(f"{source.path} has {len(candidates)} candidate score outputs ({', '.join(candidates)}); "
                             "choose one with --logits")
        output = candidates[0]
    name, labels = output, None
    while (node := source.producers.get(name)) is not None:
        if node.op_type == "ZipMap":
            labels = zipmap_labels(node)
        elif node.op_type == "Softmax":
            return Scores(output, node.input[0], f"the input of {node_label(node)}", False, labels)
        elif node.op_type == "LogSoftmax":
            return Scores(output, name, f"the output of {node_label(node)}, as it is", False, labels)
        elif node.op_type not in THROUGH:
            break
        name = node.input[0]
    values = source_run(source, [name], sample)[0]
    if looks_like_probabilities(values.reshape(len(values), -1)):
        return Scores(output, name, f"the log of '{name}', probabilities with no Softmax in the graph", True, labels)
    return Scores(output, name, f"'{name}' as it is", False, labels)


def zipmap_labels(node: onnx.NodeProto) -> list:
    for attribute in node.attribute:
        if attribute.name in ("classlabels_int64s", "classlabels_strings"):
            values = helper.get_attribute_value(attribute)
            return [v.decode() if isinstance(v, bytes) else int(v) for v in values]
    raise AdoptError(f"{node_label(node)} names no class labels; pass --class-names")


def source_run(source: Source, names: list[str], sample: np.ndarray) -> list[np.ndarray]:
    """The tensors `names` of the original model for the input `sample`."""
    return session(source.model, names).run(names, {source.input_name: sample})


def find_bottleneck(source: Source, scores: Scores, asked: str | None) -> Bottleneck:
    """The tensor drawn as the bottleneck: --bottleneck TENSOR, --bottleneck <NODE, or the input of the
    last Gemm or MatMul that feeds the scores."""
    if asked and asked.startswith("<"):
        nodes = {n.name: n for n in source.model.graph.node if n.name}
        node = nodes.get(asked[1:])
        if node is None:
            raise AdoptError(f"--bottleneck {asked}: {source.path} has no node '{asked[1:]}'; "
                             f"{nearest(asked[1:], list(nodes))}")
        data = [n for n in node.input if n and n not in source.constants]
        return Bottleneck(data[0] if data else node.input[0], f"the input of {node_label(node)}, as asked")
    if asked:
        names = [source.input_name, *source.tensors()]
        if asked not in names:
            raise AdoptError(f"--bottleneck {asked}: {source.path} has no tensor '{asked}'; {nearest(asked, names)}")
        return Bottleneck(asked, "as asked")
    name = scores.tensor
    while (node := source.producers.get(name)) is not None:
        if node.op_type in ("Gemm", "MatMul"):
            data = [n for n in node.input[:2] if n not in source.constants]
            if len(data) != 1:
                break
            if reads_image(source, data[0]):
                raise AdoptError(f"{source.path}: its last layer, {node_label(node)}, reads the image itself: a linear "
                                 f"classifier has no hidden layer to draw; {HIDDEN_HINT}")
            return Bottleneck(data[0], f"the input of {node_label(node)}")
        if node.op_type == "Add":
            data = [n for n in node.input if n not in source.constants]
            if len(data) != 1:
                break
            name = data[0]
        elif node.op_type in THROUGH | {"Softmax", "LogSoftmax"}:
            name = node.input[0]
        else:
            break
    made_by = f"{node_label(node)}" if node is not None else "the input"
    raise AdoptError(f"{source.path}: its scores come from {made_by}, not from a Gemm or MatMul layer, so it has "
                     f"no hidden layer to draw (a tree ensemble or a linear classifier); {HIDDEN_HINT}")


def reads_image(source: Source, name: str) -> bool:
    """Whether `name` is the image only moved, scaled or shifted by constants."""
    while name != source.input_name:
        node = source.producers.get(name)
        if node is None or node.op_type not in IMAGE_OPS:
            return False
        data = [n for n in node.input if n and n not in source.constants]
        if len(data) != 1:
            return False
        name = data[0]
    return True


def class_columns(source: Source, scores: Scores, width: int, asked: list[str] | None) -> tuple[list[str], list]:
    """(class names in index order, the score column of each class or None for a class the model lacks)."""
    names = asked or source_class_names(source) or FASHION_MNIST
    if scores.labels is None:
        if width != len(names):
            raise AdoptError(f"{source.path}: the scores '{scores.tensor}' are {width} wide, but there are "
                             f"{len(names)} class names; pass --class-names with {width} names in column order")
        return names, list(range(width))
    columns: list = [None] * len(names)
    for column, label in enumerate(scores.labels):
        index = label_index(label, names)
        if index is None:
            raise AdoptError(f"{source.path}: class label {label!r} is neither a class index nor one of the class "
                             "names; pass --class-names in the order of the labels' indices")
        columns[index] = column
    return names, columns


def label_index(label, names: list[str]) -> int | None:
    if isinstance(label, str) and label.strip().isdigit():
        label = int(label)
    if isinstance(label, int):
        return label if 0 <= label < len(names) else None
    lowered = [n.lower() for n in names]
    return lowered.index(label.lower()) if label.lower() in lowered else None


def source_class_names(source: Source) -> list[str] | None:
    """The class names an earlier adoption or this project's exporter left in the metadata."""
    props = {p.key: p.value for p in source.model.metadata_props}
    try:
        names = json.loads(props["class_names"])
    except (KeyError, json.JSONDecodeError):
        return None
    return names if isinstance(names, list) and all(isinstance(n, str) for n in names) else None

