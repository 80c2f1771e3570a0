"""Reading a foreign ONNX classifier: the file with its external data, its one image input, its tensors.

`read(path, layout)` checks what adoption needs before anything is rewritten: an opset new enough
to extend, every external-data file beside the model, and one image input of 784 grey pixels
whose layout its shape gives (or `--input-layout` names). `session` runs the model with any of its
inner tensors as extra outputs; `feed` turns uint8 test images into what the original input expects.
Nothing here changes the model.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, external_data_helper, numpy_helper

from exporter.adopt.graph import prune

OLDEST_OPSET = 7  # the opset the inserted nodes (Mul, Add, Reshape, Transpose, Cast, MatMul, Log) are valid from
LAYOUTS = {"nchw": (1, 28, 28), "nhwc": (28, 28, 1), "hw": (28, 28), "flat": (784,)}  # shape after the batch axis
IMAGE_SHAPES = "[N, 1, 28, 28], [N, 28, 28, 1], [N, 28, 28] or [N, 784]"
FLOAT_TYPES = {TensorProto.FLOAT: np.float32, TensorProto.DOUBLE: np.float64, TensorProto.FLOAT16: np.float16}
RANGES = {"0..1": (1.0, 0.0), "0..255": (255.0, 0.0), "-1..1": (2.0, -1.0)}  # name -> (scale, shift) of x in 0..1


class AdoptError(ValueError):
    """The model cannot be adopted as asked; the message names the reason and the fix."""


@dataclass
class Source:
    path: Path
    model: onnx.ModelProto  # external data loaded into it
    sha256: str  # of the .onnx file as given
    input_name: str
    input_type: int  # TensorProto element type of the image input
    input_dims: list[int | None]  # None where the graph leaves a dimension open
    layout: str  # a key of LAYOUTS
    producers: dict[str, onnx.NodeProto]  # tensor name -> the node that writes it
    constants: set[str]  # initializers and outputs of Constant nodes

    @property
    def batch(self) -> int | None:
        """The batch size baked into the input's shape, None when the axis is dynamic."""
        return self.input_dims[0]

    @property
    def opsets(self) -> dict[str, int]:
        return {entry.domain or "ai.onnx": entry.version for entry in self.model.opset_import}

    @property
    def producer(self) -> str:
        return " ".join(p for p in (self.model.producer_name, self.model.producer_version) if p) or "unknown"

    def tensors(self) -> list[str]:
        """Every tensor a node writes, in graph order: the candidates for --logits and --bottleneck."""
        return [name for node in self.model.graph.node for name in node.output if name]


def read(path: Path, layout: str | None) -> Source:
    """The model at `path`, checked for what adoption needs; `layout` is --input-layout or None."""
    if not path.is_file():
        raise AdoptError(f"{path} not found; pass the ONNX file to adopt")
    data = path.read_bytes()
    try:
        model = onnx.load_model_from_string(data)
    except Exception as exc:  # protobuf raises DecodeError and others for a file that is not ONNX
        raise AdoptError(f"{path} is not an ONNX model ({type(exc).__name__}); pass a .onnx file") from exc
    opset = next((e.version for e in model.opset_import if e.domain in ("", "ai.onnx")), 0)
    if opset < OLDEST_OPSET:
        raise AdoptError(f"{path} uses opset {opset}; adopt needs opset {OLDEST_OPSET} or newer: convert it first "
                         "with onnx.version_converter.convert_version(model, 13)")
    load_external_data(path, model)
    graph = model.graph
    initializers = {t.name for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initializers]
    if len(inputs) != 1:
        names = ", ".join(repr(i.name) for i in inputs) or "none"
        raise AdoptError(f"{path} has {len(inputs)} inputs ({names}); adopt takes a model with one image input")
    image = inputs[0]
    if not image.type.HasField("tensor_type") or image.type.tensor_type.elem_type not in FLOAT_TYPES:
        raise AdoptError(f"{path}: input '{image.name}' is not a float tensor; adopt takes float32, float64 or "
                         "float16 images")
    dims = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None
            for d in image.type.tensor_type.shape.dim]
    producers = {name: node for node in graph.node for name in node.output}
    constants = initializers | {n.output[0] for n in graph.node if n.op_type == "Constant"}
    return Source(path, model, hashlib.sha256(data).hexdigest(), image.name, image.type.tensor_type.elem_type,
                  dims, image_layout(path, image.name, dims, layout), producers, constants)


def load_external_data(path: Path, model: onnx.ModelProto) -> None:
    """Load the weights kept beside the model, refusing with the first missing file's name."""
    for tensor in model.graph.initializer:
        if external_data_helper.uses_external_data(tensor):
            location = external_data_helper.ExternalDataInfo(tensor).location
            if not (path.parent / location).is_file():
                raise AdoptError(f"{path} keeps its weights in '{location}', which is not in {path.parent}; "
                                 "put that file beside the model")
    external_data_helper.load_external_data_for_model(model, str(path.parent))


def image_layout(path: Path, name: str, dims: list[int | None], asked: str | None) -> str:
    """The layout of one grey 28x28 image per row that the input's shape gives, or that `asked` names."""
    shown = "[" + ", ".join("?" if d is None else str(d) for d in dims) + "]"
    tail = tuple(dims[1:])
    if asked:
        wanted = LAYOUTS[asked]
        if len(tail) != len(wanted) or any(d not in (None, w) for d, w in zip(tail, wanted, strict=True)):
            raise AdoptError(f"{path}: input '{name}' has shape {shown}, which is not the layout {asked} "
                             f"[N, {', '.join(map(str, wanted))}]; give the layout that fits, or leave "
                             "--input-layout out")
        return asked
    for layout, shape in LAYOUTS.items():
        if tail == shape:
            return layout
    if None in tail and len(tail) in (1, 2, 3):
        raise AdoptError(f"{path}: input '{name}' has shape {shown}, whose sizes the graph leaves open; "
                         "pass --input-layout nchw, nhwc, hw or flat")
    raise AdoptError(f"{path}: input '{name}' has shape {shown}; adopt takes one grey 28x28 image per row, "
                     f"{IMAGE_SHAPES} (a colour or other-sized model cannot read Fashion-MNIST)")


def parse_range(text: str) -> tuple[float, float]:
    """(scale, shift) with which the model's input is `scale * x + shift` for pixels x in 0..1."""
    if text in RANGES:
        return RANGES[text]
    try:
        mean, std = (float(v) for v in text.split(","))
    except ValueError:
        mean, std = 0.0, 0.0
    if std <= 0:
        raise AdoptError(f"--input-range {text!r} is not one of 0..1, 0..255, -1..1 or MEAN,STD "
                         "(e.g. 0.2860,0.3530)")
    return 1.0 / std, -mean / std


def feed(source: Source, images: np.ndarray, scale: float, shift: float) -> np.ndarray:
    """uint8 images (N, 28, 28) as the original input expects them: layout, range and float type."""
    x = images.astype(np.float32) / np.float32(255)
    if scale != 1:
        x = x * np.float32(scale)
    if shift != 0:
        x = x + np.float32(shift)
    x = x.reshape(len(images), *LAYOUTS[source.layout])
    return x.astype(FLOAT_TYPES[source.input_type], copy=False)


def session(model: onnx.ModelProto, outputs: list[str]) -> ort.InferenceSession:
    """An onnxruntime session of `model` cut down to what the tensors `outputs` need, so that a node
    onnxruntime cannot run but these do not need (skl2onnx's ZipMap of float64) is left out."""
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    del copy.graph.output[:]
    copy.graph.output.extend(onnx.ValueInfoProto(name=n) for n in dict.fromkeys(outputs))
    prune(copy.graph)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(copy.SerializeToString(), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises several unrelated types for a graph it cannot load
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise AdoptError(f"onnxruntime cannot load the model: {first}") from exc


def constant_value(source: Source, name: str) -> np.ndarray | None:
    """The value of a constant tensor (initializer or Constant node), None for a computed one."""
    for tensor in source.model.graph.initializer:
        if tensor.name == name:
            return numpy_helper.to_array(tensor)
    node = source.producers.get(name)
    if node is not None and node.op_type == "Constant":
        value = next((a for a in node.attribute if a.name == "value"), None)
        return None if value is None else numpy_helper.to_array(value.t)
    return None


