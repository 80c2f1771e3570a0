"""Command line of the export stage: `python -m exporter --run RUN [--data-dir DIR] [--out FILE]`.

Reads `RUN/checkpoint.pt` and the test set; writes `RUN/model.onnx` and `RUN/export_report.json`,
the model only after every parity check has passed, so a good earlier model is never replaced by a
bad one. Expected failures print one `error: ...` line and exit with status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

from exporter.onnx_export import ExportError, export_onnx, load_trained, metadata
from exporter.parity import compare, failures, trainer_outputs
from fmnist_common.artifacts import write_bytes, write_json
from fmnist_common.idx import IdxError, load_test_set
from trainer.config import THREADS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m exporter", description=__doc__)
    parser.add_argument("--run", default="runs/default", help="run folder (default: %(default)s)")
    parser.add_argument("--data-dir", default="data", help="dataset root (default: %(default)s)")
    parser.add_argument("--out", help="ONNX file to write (default: RUN/model.onnx)")
    return parser


def check_output(out: Path) -> None:
    """Fail before the minutes of export and checks if the model could not be written anyway, or
    would replace something that is not an ONNX model (a checkpoint, a folder) named by mistake."""
    if out.suffix != ".onnx":
        raise ExportError(f"--out {out} does not end in .onnx; the exporter writes an ONNX model, choose a .onnx name")
    if out.is_dir() or (out.exists() and not out.is_file()):
        raise ExportError(f"--out {out} is a folder, not an ONNX file; choose a .onnx file name")
    folder = out.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot write into {folder} ({exc.strerror}); choose a writable --out") from exc
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ExportError(f"cannot write into {folder}; choose a writable --out")


def export(run: Path, data_dir: Path, out: Path) -> dict:
    """Export, verify and write; return the report."""
    started = time.perf_counter()
    model, checkpoint = load_trained(run / "checkpoint.pt")
    check_output(out)
    images, labels, sha256 = load_test_set(data_dir)
    proto = export_onnx(model, metadata(checkpoint, sha256))
    onnx_bytes = proto.SerializeToString()
    report = compare(model, onnx_bytes, images, labels, trainer_outputs(checkpoint, images))
    trainer_accuracy = checkpoint["history"][-1]["test_accuracy"]
    problems = failures(report, trainer_accuracy)
    report.update(
        trainer_accuracy=trainer_accuracy,
        opset=proto.opset_import[0].version,
        nodes=[n.op_type for n in proto.graph.node],
        model_bytes=len(onnx_bytes),
        seconds=time.perf_counter() - started,
        passed=not problems,
        problems=problems,
    )
    write_json(run / "export_report.json", report)
    if problems:
        raise ExportError(
            f"{out} not written, the export failed its checks: {'; '.join(problems)} "
            f"(details in {run / 'export_report.json'})"
        )
    write_bytes(out, onnx_bytes)
    return report


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    torch.set_num_threads(THREADS)
    run = Path(args.run)
    out = Path(args.out) if args.out else run / "model.onnx"
    try:
        report = export(run, Path(args.data_dir), out)
    except (ExportError, IdxError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"wrote {out}: {report['model_bytes']:,} bytes, test accuracy {report['onnx_accuracy']:.4f}, "
        f"max |diff| logits {report['max_abs_diff_logits']:.2e}, "
        f"bottleneck {report['max_abs_diff_bottleneck']:.2e}, {report['seconds']:.1f} s"
    )
    return 0
