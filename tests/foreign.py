"""Fashion-MNIST classifiers as other tools export them, for the adoption tests.

The scikit-learn ones are real skl2onnx output, trained for seconds on the first training images;
the Keras/tf2onnx- and PyTorch-shaped ones are built with onnx.helper and numpy in the shapes those
exporters write: NHWC input with a Transpose, [N, 28, 28] input with MatMul+Add and Softmax then
Identity, a fixed batch of 1 with `Reshape [1, 784]`, -1..1 input and LogSoftmax, IR 3 / opset 8
with the initializers listed as inputs.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HIDDEN = 16  # units of the handmade models' hidden layer: their bottleneck


def weights(seed: int, shape: tuple[int, ...], scale: float = 0.1) -> np.ndarray:
    return (np.random.default_rng(seed).normal(size=shape) * scale).astype(np.float32)


def dense_graph(input_name: str, input_shape: list, front: list[onnx.NodeProto], flat: str, head: list[str],
                output: str, extra: list[onnx.TensorProto] = (), gemm: bool = False,
                output_shape: list | None = None) -> onnx.GraphProto:
    """`front` nodes make the [N, 784] tensor `flat`; then a hidden layer of HIDDEN units with ReLU
    (its output 'hidden' the bottleneck), a layer of 10 scores 'scores', and the `head` ops (e.g.
    Softmax, Identity) in turn to the output `output`."""
    w1, b1, w2, b2 = weights(1, (784, HIDDEN)), weights(2, (HIDDEN,)), weights(3, (HIDDEN, 10), 1.0), weights(4, (10,))
    if gemm:  # torch.onnx writes Linear as Gemm with the weight transposed (transB=1)
        layers = [helper.make_node("Gemm", [flat, "fc1.weight", "fc1.bias"], ["hidden_in"], name="fc1", transB=1),
                  helper.make_node("Relu", ["hidden_in"], ["hidden"], name="relu"),
                  helper.make_node("Gemm", ["hidden", "fc2.weight", "fc2.bias"], ["scores"], name="fc2", transB=1)]
        inits = [numpy_helper.from_array(w1.T.copy(), "fc1.weight"), numpy_helper.from_array(b1, "fc1.bias"),
                 numpy_helper.from_array(w2.T.copy(), "fc2.weight"), numpy_helper.from_array(b2, "fc2.bias")]
    else:  # tf2onnx writes Dense as MatMul and a bias Add
        layers = [helper.make_node("MatMul", [flat, "dense/kernel"], ["hidden_mm"], name="dense/MatMul"),
                  helper.make_node("Add", ["hidden_mm", "dense/bias"], ["hidden_in"], name="dense/BiasAdd"),
                  helper.make_node("Relu", ["hidden_in"], ["hidden"], name="dense/Relu"),
                  helper.make_node("MatMul", ["hidden", "dense_1/kernel"], ["scores_mm"], name="dense_1/MatMul"),
                  helper.make_node("Add", ["scores_mm", "dense_1/bias"], ["scores"], name="dense_1/BiasAdd")]
        inits = [numpy_helper.from_array(w1, "dense/kernel"), numpy_helper.from_array(b1, "dense/bias"),
                 numpy_helper.from_array(w2, "dense_1/kernel"), numpy_helper.from_array(b2, "dense_1/bias")]
    value = "scores"
    for index, op in enumerate(head):
        out = output if index == len(head) - 1 else f"{op.lower()}_out"
        layers.append(helper.make_node(op, [value], [out], name=op.lower()))
        value = out
    return helper.make_graph(
        [*front, *layers], "foreign",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, input_shape)],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, output_shape or [input_shape[0], 10])],
        [*inits, *extra])


def shape_constant(name: str, shape: list[int]) -> onnx.TensorProto:
    return numpy_helper.from_array(np.array(shape, np.int64), name)


def model_of(graph: onnx.GraphProto, opset: int = 13, ir_version: int = 7, producer: str = "") -> onnx.ModelProto:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name=producer)
    model.ir_version = ir_version
    return model


def keras_nhwc() -> onnx.ModelProto:
    """tf2onnx of a Keras Sequential(Flatten, Dense, Dense softmax) on [N, 28, 28, 1] images."""
    front = [helper.make_node("Transpose", ["input_1"], ["nchw"], name="transpose", perm=[0, 3, 1, 2]),
             helper.make_node("Reshape", ["nchw", "flat_shape"], ["flat"], name="flatten/Reshape")]
    return model_of(dense_graph("input_1", ["unk__1", 28, 28, 1], front, "flat", ["Softmax"], "dense_1",
                                [shape_constant("flat_shape", [-1, 784])]), producer="tf2onnx")


def keras_hw() -> onnx.ModelProto:
    """tf2onnx of a Keras model on [N, 28, 28] images, ending in Softmax and an Identity."""
    front = [helper.make_node("Reshape", ["flatten_input", "flat_shape"], ["flat"], name="flatten/Reshape")]
    return model_of(dense_graph("flatten_input", ["N", 28, 28], front, "flat", ["Softmax", "Identity"], "dense_1",
                                [shape_constant("flat_shape", [-1, 784])]), producer="tf2onnx")


def torch_fixed_batch() -> onnx.ModelProto:
    """torch.onnx of a tutorial's MLP: batch 1 baked in, `Reshape [1, 784]`, inputs in -1..1, LogSoftmax."""
    front = [helper.make_node("Reshape", ["input", "onnx::Reshape_1"], ["flat"], name="/Reshape")]
    return model_of(dense_graph("input", [1, 1, 28, 28], front, "flat", ["LogSoftmax"], "output",
                                [shape_constant("onnx::Reshape_1", [1, 784])], gemm=True), producer="pytorch")


def ir3_opset8() -> onnx.ModelProto:
    """An old export: IR 3, opset 8, every initializer listed as a graph input too."""
    front = [helper.make_node("Flatten", ["data"], ["flat"], name="flatten", axis=1)]
    graph = dense_graph("data", ["N", 1, 28, 28], front, "flat", ["Softmax"], "prob", gemm=True)
    graph.input.extend(helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in graph.initializer)
    return model_of(graph, opset=8, ir_version=3, producer="pytorch")


def linear() -> onnx.ModelProto:
    """A linear classifier on [N, 784] pixels: no hidden layer."""
    nodes = [helper.make_node("MatMul", ["x", "w"], ["xw"], name="linear"),
             helper.make_node("Add", ["xw", "b"], ["scores"], name="bias"),
             helper.make_node("Softmax", ["scores"], ["probabilities"], name="softmax")]
    graph = helper.make_graph(nodes, "linear", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 784])],
                              [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 10])],
                              [numpy_helper.from_array(weights(5, (784, 10)), "w"),
                               numpy_helper.from_array(weights(6, (10,)), "b")])
    return model_of(graph)


def with_inputs(model: onnx.ModelProto, *value_infos: onnx.ValueInfoProto) -> onnx.ModelProto:
    """`model` with its one input replaced by `value_infos` (for the refusals of other inputs)."""
    del model.graph.input[:]
    model.graph.input.extend(value_infos)
    return model
