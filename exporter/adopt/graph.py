"""Graph surgery that keeps what it computes: renaming tensors, pruning what no output needs.

Both work on the top graph; subgraphs (If, Loop, Scan) are read for the outer names they use.
"""

from __future__ import annotations

import onnx

from fmnist_common.interface import INPUT_NAME


def rename(graph: onnx.GraphProto, names: dict[str, str]) -> dict[str, str]:
    """Rename tensors everywhere in `graph` (not inside subgraphs, which read outer names rarely)."""
    for node in graph.node:
        node.input[:] = [names.get(n, n) for n in node.input]
        node.output[:] = [names.get(n, n) for n in node.output]
    for value in (*graph.input, *graph.output, *graph.value_info, *graph.initializer):
        value.name = names.get(value.name, value.name)
    return names


def prune(graph: onnx.GraphProto) -> int:
    """Drop every node, initializer and value_info no output needs; return how many nodes went."""
    needed = {o.name for o in graph.output}
    kept = []
    for node in reversed(graph.node):
        if needed & set(node.output):
            kept.append(node)
            needed.update(node.input)
            needed.update(subgraph_names(node))
    pruned = len(graph.node) - len(kept)
    del graph.node[:]
    graph.node.extend(reversed(kept))
    for field_name in ("initializer", "value_info", "input"):
        values = getattr(graph, field_name)
        keep = [v for v in values if v.name in needed or v.name == INPUT_NAME]
        del values[:]
        values.extend(keep)
    return pruned


def subgraph_names(node: onnx.NodeProto) -> set[str]:
    """Names a node's subgraphs (If, Loop, Scan) read, which may come from the outer graph."""
    names: set[str] = set()
    for attribute in node.attribute:
        for graph in (*([attribute.g] if attribute.HasField("g") else []), *attribute.graphs):
            for inner in graph.node:
                names.update(inner.input)
                names.update(subgraph_names(inner))
    return names
