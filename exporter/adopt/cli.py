"""Command line of adoption: `python -m exporter.adopt IN.onnx --out OUT.onnx [options]`.

Turns a Fashion-MNIST classifier exported to ONNX elsewhere (PyTorch, Keras through tf2onnx,
scikit-learn through skl2onnx) into one that follows docs/model-interface.md, proves over the test
set that it computes the same, and writes OUT.onnx with adopt_report.json beside it. Needs onnx and
onnxruntime, no torch. Expected failures print one `error: ...` line and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from exporter.adopt.adoption import REPORT_NAME, Request, adopt_file, tensor_table
from exporter.adopt.source import LAYOUTS, AdoptError
from fmnist_common.idx import IdxError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m exporter.adopt", description=__doc__.split("\n\n")[1])
    add = parser.add_argument
    add("model", type=Path, metavar="IN.onnx", help="the ONNX classifier to adopt")
    add("--out", type=Path, metavar="OUT.onnx", help="ONNX file to write (required but with --list-tensors); "
        "adopt_report.json goes beside it; a rerun replaces both, anything else there is refused")
    add("--data", type=Path, default=Path("data"), metavar="DIR",
        help="Fashion-MNIST test files (.gz or not) or a data root (default: %(default)s)")
    add("--bottleneck", metavar="TENSOR", help="the tensor to draw, or <NODE for the input of that node "
        "(default: the input of the last Gemm or MatMul before the scores)")
    add("--logits", metavar="TENSOR", help="the scores (default: the one score output, before its Softmax)")
    add("--class-names", metavar="NAMES", help="comma-separated class names in index order (default: the "
        "model's metadata, else Fashion-MNIST's)")
    add("--input-layout", choices=list(LAYOUTS), help="the input's layout (default: from its shape)")
    add("--input-range", metavar="RANGE", help="the pixels the model was trained on: 0..1, 0..255, -1..1 or "
        "MEAN,STD such as 0.2860,0.3530 (default: the model's metadata, else 0..1; a graph cannot say)")
    add("--list-tensors", action="store_true", help="list every float tensor with its shape and producing op, "
        "the default choices marked, and stop")
    return parser


def summary(report: dict) -> list[str]:
    """The short report printed after a successful adoption."""
    source = report["adopted_from"]
    opsets = ", ".join(f"{domain} {version}" for domain, version in source["opsets"].items())
    given = "" if source["input"]["range_given"] else ", assumed"
    logits, bottleneck, classes = source["logits"], source["bottleneck"], source["classes"]
    shape = source["input"]["shape"]
    lines = [
        f"adopted {source['source']} (sha256 {source['sha256'][:12]}, {source['producer']}, IR "
        f"{source['ir_version']}, opsets {opsets})",
        f"  input       '{source['input']['name']}' {source['input']['type']} [{', '.join(map(str, shape))}]: layout "
        f"{source['input']['layout']}, range {source['input']['range']}{given}",
        f"  logits      '{logits['tensor']}': {logits['derived']}",
        f"  bottleneck  '{bottleneck['tensor']}': {bottleneck['dim']} units, {bottleneck['derived']}",
    ]
    if classes["labels"] is not None:
        lines.append(f"  classes     by the labels {classes['labels']}")
    if classes["missing"]:
        lines.append(f"  missing     {', '.join(classes['missing'])}: never predicted")
    lines += [f"  rewritten   {change}" for change in source["rewritten"]]
    lines += [f"  renamed     '{old}' -> '{new}'" for old, new in source["renamed"].items()]
    count = source["pruned_nodes"]
    lines.append(f"  pruned      {count} node{'' if count == 1 else 's'} no output needs")
    lines.append(
        f"proof on {report['images']:,} test images (original {report['original_run']}): predictions equal "
        f"{report['predictions_equal']:,} of {report['images']:,} ({report['near_ties']} near ties), max |diff| "
        f"softmax {report['max_abs_diff_probabilities']:.1e}, bottleneck {report['max_abs_diff_bottleneck']:.1e}; "
        f"test accuracy {report['test_accuracy']:.4f}")
    return lines


def warnings(report: dict) -> list[str]:
    source = report["adopted_from"]
    found = []
    if not source["input"]["range_given"]:
        found.append(f"warning: a graph does not say which pixel values it was trained on; assumed "
                     f"{source['input']['range']}: pass --input-range if the model was trained on others")
    if "probabilities with no Softmax" in source["logits"]["derived"]:
        found.append(f"warning: '{source['logits']['tensor']}' holds probabilities with no Softmax in the graph; "
                     "their log serves as logits (a probability of 0 becomes about -85)")
    return found


def joined(argv: list[str]) -> list[str]:
    """`--input-range -1..1` as `--input-range=-1..1`: argparse reads a value that starts with '-' as a flag."""
    out: list[str] = []
    for arg in argv:
        if out and out[-1] == "--input-range" and arg.startswith("-"):
            out[-1] = f"--input-range={arg}"
        else:
            out.append(arg)
    return out


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(joined(sys.argv[1:] if argv is None else argv))
    names = [n.strip() for n in args.class_names.split(",")] if args.class_names else None
    request = Request(args.model, args.out, args.data, args.bottleneck, args.logits, names, args.input_layout,
                      args.input_range)
    try:
        if args.list_tensors:
            print("\n".join(tensor_table(request)))
            return 0
        if args.out is None:
            raise AdoptError("--out is missing; name the ONNX file to write, e.g. --out adopted/model.onnx")
        report = adopt_file(request)
    except (AdoptError, IdxError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for line in warnings(report):
        print(line, file=sys.stderr)
    print("\n".join(summary(report)))
    print(f"wrote {args.out} and {args.out.parent / REPORT_NAME}")
    return 0
