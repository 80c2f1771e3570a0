"""Command line of the analysis stage.

`python -m analyzer --model RUN/model.onnx --data DATA_DIR [--snapshots RUN/snapshots.npz]
[--history RUN/history.json] --out RUN/analysis [--top-k 5] [--allow-other-data]`

Needs onnxruntime, numpy, matplotlib and Pillow, never torch. Expected failures print one
`error: ...` line and exit with status 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analyzer.idx import IdxError
from analyzer.onnx_model import ModelError, load
from analyzer.report import Inputs, analyse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analyzer", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="ONNX model following the interface")
    parser.add_argument("--data", required=True, help="dataset root holding FashionMNIST/raw/")
    parser.add_argument("--out", required=True, help="folder for results.json and the figures")
    parser.add_argument("--snapshots", help="snapshots.npz from training, for the GIF")
    parser.add_argument("--history", help="history.json from training, for the curves")
    parser.add_argument("--top-k", type=int, default=5, help="hard negatives per class (default: %(default)s)")
    parser.add_argument("--allow-other-data", action="store_true",
                        help="analyse even if the test set differs from the model's dataset_sha256")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    for flag, value in (("--snapshots", args.snapshots), ("--history", args.history)):
        if value and not Path(value).is_file():
            print(f"error: {flag} {value} not found; run \"make train\" first or leave it out", file=sys.stderr)
            return 1
    if args.top_k < 1:
        print(f"error: --top-k {args.top_k} must be at least 1", file=sys.stderr)
        return 1
    try:
        model = load(args.model)
        results = analyse(Inputs(
            model=model,
            data_dir=Path(args.data),
            out=Path(args.out),
            snapshots=Path(args.snapshots) if args.snapshots else None,
            history=Path(args.history) if args.history else None,
            top_k=args.top_k,
            allow_other_data=args.allow_other_data,
        ))
    except (ModelError, IdxError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    timing = results["timing"]
    print(
        f"analysed {results['total']:,} test images: accuracy {results['accuracy']:.4f}, "
        f"{timing['images_per_second']:,.0f} img/s inference, {timing['total_seconds']:.1f} s in all; "
        f"results in {args.out}"
    )
    return 0
