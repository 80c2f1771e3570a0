"""What the squeeze costs: the same recipe through a wider bottleneck, or through none at all.

`no-squeeze` replaces the bottleneck (with the ReLU layer before it) by the identity, so the
classifier reads the 128 pooled features directly; `3-units` is the same network with D = 3.
Both train with the trainer's own loop and a preset's recipe, into a benchmark run folder; they
are never exported. Snapshots are cut to the first steps: 128-wide points would make every
checkpoint tens of megabytes.

    python bench/controls.py --variant no-squeeze --run bench/runs/no-squeeze --preset default
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import torch
from torch import nn

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from trainer import data  # noqa: E402
from trainer.config import PRESETS, THREADS, TrainConfig, resolve  # noqa: E402
from trainer.model import BottleneckCNN, build_model  # noqa: E402
from trainer.train import train  # noqa: E402

VARIANTS = ("no-squeeze", "3-units")


def control_config(variant: str, preset: str, seed: int, **overrides) -> TrainConfig:
    """The preset's recipe for a control (the no-squeeze width is that of the pooled features)."""
    config = resolve(preset, seed=seed, snapshot_frames=2, **overrides)
    width = config.widths[-1] if variant == "no-squeeze" else 3
    return dataclasses.replace(config, bottleneck_dim=width)


def control_model(variant: str, config: TrainConfig, num_classes: int) -> BottleneckCNN:
    model = build_model(config, num_classes)
    if variant == "no-squeeze":
        model.bottleneck = nn.Identity()  # (N, 128) pooled features straight to the classifier
    return model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variant", choices=VARIANTS, required=True)
    parser.add_argument("--run", required=True, help="run folder to train into")
    parser.add_argument("--preset", default="default", choices=list(PRESETS), help="default: %(default)s")
    parser.add_argument("--seed", type=int, default=0, help="default: %(default)s")
    parser.add_argument("--epochs", type=int, help="override the preset's epoch count")
    parser.add_argument("--train-subset", type=int, help="train on the first N images only")
    parser.add_argument("--data-dir", default="data", help="dataset root (default: %(default)s)")
    args = parser.parse_args(argv)
    torch.set_num_threads(THREADS)
    config = control_config(args.variant, args.preset, args.seed, epochs=args.epochs,
                            train_subset=args.train_subset)
    train_split = data.load(args.data_dir, train=True)
    test_split = data.load(args.data_dir, train=False)
    torch.manual_seed(config.seed)
    model = control_model(args.variant, config, len(train_split.class_names))
    run = Path(args.run)
    run.mkdir(parents=True, exist_ok=True)
    last = train(config, train_split, test_split, run, resume=False,
                 record={"config": config.to_json(), "control": args.variant}, model=model)
    print(f"{args.variant}: test accuracy {last['test_accuracy']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
