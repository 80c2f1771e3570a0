"""Rewriting a foreign classifier into the documented interface, computing nothing else.

In front: the input `image` float32 [N, 1, 28, 28] in 0..1, scaled to the model's range, moved to its
layout and cast to its float type. Behind: `logits` (the chosen scores, their log where they are
probabilities, columns in class order, a class the model lacks filled so it is never predicted) and
`bottleneck` (the chosen tensor, flattened), both float32. A batch size baked into the input and into
`Reshape` constants is made dynamic; names that clash with the interface's are renamed; every node no
output needs is pruned. The foreign IR version and opsets are kept: the inserted nodes are valid from
opset 7 and their constants are Constant nodes, which IR 3 allows without graph inputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from exporter.adopt.graph import prune, rename
from exporter.adopt.source import FLOAT_TYPES, LAYOUTS, Source, constant_value
from fmnist_common.interface import INPUT_NAME, OUTPUT_NAMES

ABSENT_SCORE = -1e4  # logit of a class the model lacks: its softmax probability is 0 in float32
TINY = 1e-37  # added before the log of probabilities, so that a probability of 0 gives a finite logit


@dataclass
class Plan:
    """What to rewrite: every choice made from the graph or the flags."""

    scale: float  # the model's input is scale * x + shift for x in 0..1
    shift: float
    scores: str
    log: bool
    columns: list  # the score column of each class, None for a class the model lacks
    scores_type: int  # TensorProto element type of the scores tensor
    bottleneck: str
    bottleneck_rank: int
    bottleneck_type: int
    bottleneck_dim: int  # D, its width once flattened
    rewritten: list[str] = field(default_factory=list)  # what was changed, in words
    renamed: dict[str, str] = field(default_factory=dict)
    pruned: int = 0


class Builder:
    """Appends nodes with fresh names to `graph`; keeps its Constant nodes aside, to go first."""

    def __init__(self, graph: onnx.GraphProto, taken: set[str]):
        self.graph, self.taken = graph, taken
        self.constants: list[onnx.NodeProto] = []

    def fresh(self, stem: str) -> str:
        name, count = f"adopt_{stem}", 1
        while name in self.taken:
            count += 1
            name = f"adopt_{stem}_{count}"
        self.taken.add(name)
        return name

    def constant(self, stem: str, value: np.ndarray) -> str:
        name = self.fresh(stem)
        self.constants.append(helper.make_node("Constant", [], [name], name=name,
                                               value=numpy_helper.from_array(value, name)))
        return name

    def node(self, op: str, inputs: list[str], output: str | None = None, **attributes) -> str:
        output = output or self.fresh(op.lower())
        self.graph.node.append(helper.make_node(op, inputs, [output], name=self.fresh(op), **attributes))
        return output


def adopt(source: Source, plan: Plan) -> onnx.ModelProto:
    """The adopted model, metadata as in the source; `plan.rewritten`, `.renamed` and `.pruned` record
    what changed."""
    model = onnx.ModelProto()
    model.CopyFrom(source.model)
    graph = model.graph
    taken = ({n for node in graph.node for n in (*node.input, *node.output, node.name)}
             | {v.name for v in (*graph.input, *graph.initializer)})
    plan.renamed = rename(graph, {n: fresh_name(n, taken) for n in (INPUT_NAME, *OUTPUT_NAMES) if n in taken})
    scores, bottleneck, original = (plan.renamed.get(n, n) for n in (plan.scores, plan.bottleneck, source.input_name))
    build = Builder(graph, taken)
    if source.batch is not None:
        plan.rewritten.append(f"input batch {source.batch} -> N")
        unbake_reshapes(source, graph, build, plan)
        del graph.value_info[:]  # shapes inferred for the fixed batch
    count = len(graph.node)
    front(source, plan, graph, build, original)
    first = [*graph.node[count:]]  # the nodes that make the original input
    del graph.node[count:]
    del graph.output[:]
    width = len(plan.columns)
    graph.output.extend([
        helper.make_tensor_value_info(OUTPUT_NAMES[0], TensorProto.FLOAT, ["N", width]),
        helper.make_tensor_value_info(OUTPUT_NAMES[1], TensorProto.FLOAT, ["N", plan.bottleneck_dim]),
    ])
    head(plan, build, scores)
    tail(plan, build, bottleneck)
    nodes = [*build.constants, *first, *graph.node]  # in graph order: constants, input, the model, outputs
    del graph.node[:]
    graph.node.extend(nodes)
    plan.pruned = prune(graph)
    return model


def fresh_name(name: str, taken: set[str]) -> str:
    new, count = f"{name}_source", 1
    while new in taken:
        count += 1
        new = f"{name}_source{count}"
    taken.add(new)
    return new


def unbake_reshapes(source: Source, graph: onnx.GraphProto, build: Builder, plan: Plan) -> None:
    """A `Reshape` of computed values to a constant shape that starts with the fixed batch size: that
    size becomes -1 (or 0, "as in the input", where the shape already has a -1)."""
    for node in graph.node:
        if node.op_type != "Reshape" or node.input[0] in source.constants:
            continue
        shape = constant_value(source, node.input[1])
        if shape is None or shape.size == 0 or int(shape[0]) != source.batch:
            continue
        new = shape.astype(np.int64).copy()
        new[0] = 0 if -1 in shape else -1
        node.input[1] = build.constant("shape", new)
        plan.rewritten.append(f"{node.op_type} '{node.name}' shape {shape.tolist()} -> {new.tolist()}")


def front(source: Source, plan: Plan, graph: onnx.GraphProto, build: Builder, original: str) -> None:
    """Replace the image input by `image` [N, 1, 28, 28] and the nodes that make the original input of it."""
    position = next(i for i, v in enumerate(graph.input) if v.name == original)
    del graph.input[position]
    graph.input.insert(0, helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["N", 1, 28, 28]))
    steps = []
    if plan.scale != 1:
        steps.append(("Mul", np.float32(plan.scale)))
    if plan.shift != 0:
        steps.append(("Add", np.float32(plan.shift)))
    if source.layout == "nhwc":
        steps.append(("Transpose", [0, 2, 3, 1]))
    elif source.layout != "nchw":
        steps.append(("Reshape", np.array([-1, *LAYOUTS[source.layout]], np.int64)))
    if source.input_type != TensorProto.FLOAT:
        steps.append(("Cast", source.input_type))
    if not steps:
        rename(graph, {original: INPUT_NAME})
        if plan.renamed.get(INPUT_NAME) == original:  # renamed away and back: no rename to report
            del plan.renamed[INPUT_NAME]
        return
    value = INPUT_NAME
    for index, (op, argument) in enumerate(steps):
        output = original if index == len(steps) - 1 else None
        if op == "Transpose":
            value = build.node(op, [value], output, perm=argument)
        elif op == "Cast":
            value = build.node(op, [value], output, to=argument)
        else:
            value = build.node(op, [value, build.constant(op.lower(), np.array(argument))], output)


def head(plan: Plan, build: Builder, scores: str) -> None:
    """`logits` float32 [N, C] from the scores: their log if probabilities, then the columns in class
    order (an exact 0/1 MatMul, with ABSENT_SCORE added for a class the model lacks)."""
    value, dtype = scores, FLOAT_TYPES[plan.scores_type]
    if plan.log:
        value = build.node("Log", [build.node("Add", [value, build.constant("tiny", np.array(TINY, dtype))])])
    width_in = 1 + max(c for c in plan.columns if c is not None)
    if plan.columns != list(range(width_in)):
        order = np.zeros((width_in, len(plan.columns)), dtype)
        fill = np.zeros(len(plan.columns), dtype)
        for index, column in enumerate(plan.columns):
            if column is None:
                fill[index] = ABSENT_SCORE
            else:
                order[column, index] = 1
        value = build.node("MatMul", [value, build.constant("class_order", order)])
        if fill.any():
            value = build.node("Add", [value, build.constant("absent_classes", fill)])
    finish(build, value, plan.scores_type, OUTPUT_NAMES[0])


def tail(plan: Plan, build: Builder, bottleneck: str) -> None:
    """`bottleneck` float32 [N, D]: the chosen tensor, flattened after the batch axis if needed."""
    value = bottleneck
    if plan.bottleneck_rank != 2:
        value = build.node("Flatten", [value], axis=1)
        plan.rewritten.append(f"bottleneck '{plan.bottleneck}' flattened to [N, D]")
    finish(build, value, plan.bottleneck_type, OUTPUT_NAMES[1])


def finish(build: Builder, value: str, element_type: int, output: str) -> None:
    if element_type == TensorProto.FLOAT:
        build.node("Identity", [value], output)
    else:
        build.node("Cast", [value], output, to=TensorProto.FLOAT)
