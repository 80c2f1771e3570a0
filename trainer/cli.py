"""Command line of the training stage: `python -m trainer data|train ...`.

Parses arguments, resolves the configuration, and turns expected failures into one
`error: ...` line on stderr with exit status 2; anything unexpected keeps its traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import sys
from pathlib import Path

import torch
import torchvision

from fmnist_common.flags import add_flags
from trainer import data
from trainer.checkpoint import TrainError
from trainer.config import PRESETS, THREADS, ConfigError, TrainConfig, flags_beyond_preset, resolve
from trainer.console import start_lines
from trainer.train import pick_device, train


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m trainer", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    data_cmd = commands.add_parser("data", help="fetch or copy Fashion-MNIST and verify it")
    train_cmd = commands.add_parser("train", help="train the bottleneck CNN into a run folder")
    for cmd in (data_cmd, train_cmd):
        cmd.add_argument("--data-dir", default="data", help="dataset root (default: %(default)s)")
        cmd.add_argument(
            "--local-dir",
            default=os.environ.get("FASHION_MNIST_DIR") or None,
            help="folder with the four official .gz files, used instead of downloading "
            "(default: $FASHION_MNIST_DIR)",
        )
    train_cmd.add_argument("--run", default="runs/default", help="run folder (default: %(default)s)")
    train_cmd.add_argument("--preset", default="default", choices=list(PRESETS),
                           help="named recipe the flags below override (default: %(default)s)")
    add_flags(train_cmd, FLAG_FIELDS, PRESETS["default"], keep_unset=True)
    train_cmd.add_argument("--resume", action="store_true", help="continue the run's checkpoint")
    return parser


# Every TrainConfig field but `preset`, which names the values the others override.
FLAG_FIELDS = tuple(spec for spec in dataclasses.fields(TrainConfig) if spec.name != "preset")


def overrides(args: argparse.Namespace) -> dict:
    """The TrainConfig fields given on the command line."""
    return {spec.name: getattr(args, spec.name) for spec in FLAG_FIELDS}


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return platform.processor() or platform.machine()


def run_train(args: argparse.Namespace) -> None:
    config = resolve(args.preset, **overrides(args))
    torch.set_num_threads(THREADS)
    data.prepare(args.data_dir, args.local_dir)
    train_split = data.load(args.data_dir, train=True)
    test_split = data.load(args.data_dir, train=False)
    run = Path(args.run)
    run.mkdir(parents=True, exist_ok=True)
    device = pick_device(config.device)
    resolved = {
        "config": config.to_json(),
        "flags": flags_beyond_preset(config),
        "device": str(device),
        "device_name": device_name(device),
        "threads": torch.get_num_threads(),
        "torch_version": torch.__version__,
        "torchvision_version": torchvision.__version__,
        "python_version": platform.python_version(),
    }
    print("\n".join(start_lines(resolved, run)), flush=True)
    last = train(config, train_split, test_split, run, resume=args.resume, record=resolved)
    print(f"done: test accuracy {last['test_accuracy']:.4f}; outputs in {run}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "data":
            raw = data.prepare(args.data_dir, args.local_dir)
            print(f"Fashion-MNIST verified in {raw}")
        else:
            run_train(args)
    except (data.DataError, TrainError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C: what is kept and how to go on, not a traceback through torch
        what = (f"{args.run}/checkpoint.pt keeps every finished epoch; add --resume (make: RESUME=1) to continue"
                if args.command == "train" else "run it again")
        print(f"interrupted: {what}", file=sys.stderr)
        return 130
    return 0
