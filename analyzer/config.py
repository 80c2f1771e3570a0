"""The analysis stage's configuration: one dataclass, one command-line flag per field.

`python -m analyzer --help` is generated from the fields below (name, default and help), so the
flags and the configuration cannot drift apart. The resolved configuration is recorded in
`results.json`.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from dataclasses import dataclass

from analyzer import animation, calibration, information, neighbours
from analyzer.onnx_model import available_cores
from fmnist_common.flags import add_flags, flag, option


class ConfigError(ValueError):
    """A flag's value is out of its range; the message names the flag and the range."""


@dataclass(frozen=True)
class AnalyzeConfig:
    model: str = option(None, "ONNX model following the interface (docs/model-interface.md)", required=True)
    data: str = option(None, "folder holding the Fashion-MNIST files (.gz or extracted), or a data root holding "
                             "them under FashionMNIST/raw/ (the test files; the training files too for the "
                             "nearest neighbours)", required=True)
    out: str = option(None, "folder for results.json and the figures, replaced whole on success", required=True)
    snapshots: str | None = option(None, "snapshots.npz from training, for the GIF, replay and information plane")
    history: str | None = option(None, "history.json from training, for the training curves")
    dynamics: str | None = option(None, "dynamics.npz from training, for the data map, forgetting and each test "
                                        "image's history")
    top_k: int = option(5, "hard negatives per class")
    neighbours: int = option(5, "nearest training images shown per hard negative")
    occlusion_patch: int = option(4, "side in pixels of the square patch slid over each hard negative "
                                         "for its occlusion maps")
    occlusion_stride: int = option(2, "step in pixels between two positions of the occlusion patch")
    calibration_bins: int = option(calibration.BINS, "equal-width confidence bins of the reliability diagram")
    information_bins: int = option(information.BINS, "bins per bottleneck unit of the binning estimator")
    information_noise: float = option(information.NOISE_VARIANCE,
                                       "noise variance of the KDE estimator (on standardised points)")
    gif_frame_ms: int = option(animation.FRAME_MS, "time each GIF frame shows, in ms (a multiple of 10)")
    batch_size: int = option(500, "images per onnxruntime call")
    threads: int = option(0, "onnxruntime threads (0: all available cores)")
    allow_other_data: bool = option(False, "analyse even if the test set differs from the model's dataset_sha256")

    def __post_init__(self) -> None:
        bounds = {"top_k": 1, "neighbours": 1, "calibration_bins": 1, "information_bins": 2, "batch_size": 1,
                  "threads": 0, "gif_frame_ms": 10,
                  "occlusion_patch": 1, "occlusion_stride": 1}
        for name, low in bounds.items():
            if getattr(self, name) < low:
                raise ConfigError(f"--{flag(name)} {getattr(self, name)} must be at least {low}")
        if self.gif_frame_ms % 10:
            raise ConfigError(
                f"--gif-frame-ms {self.gif_frame_ms} must be a multiple of 10 (GIF delays are in 1/100 s)"
            )
        limits = {"threads": (available_cores(), "the cores this process may use"),
                  "calibration_bins": (calibration.MAX_BINS, "bins of 1 percentage point"),
                  "neighbours": (neighbours.MAX_K, "a row of thumbnails under each hard negative"),
                  "gif_frame_ms": (animation.MAX_FRAME_MS, "the longest delay a GIF can store")}
        for name, (high, why) in limits.items():
            if getattr(self, name) > high:
                raise ConfigError(f"--{flag(name)} {getattr(self, name)} must be at most {high:,} ({why})")
        if self.occlusion_patch > 28:
            raise ConfigError(f"--occlusion-patch {self.occlusion_patch} must be at most 28 (the image's side)")
        if not (self.information_noise > 0 and math.isfinite(self.information_noise)):
            raise ConfigError(f"--information-noise {self.information_noise} must be positive and finite")


def build_parser(description: str) -> argparse.ArgumentParser:
    """One flag per field of AnalyzeConfig, with its default in the help."""
    parser = argparse.ArgumentParser(prog="python -m analyzer", description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_flags(parser, dataclasses.fields(AnalyzeConfig), None, keep_unset=False)
    return parser


def parse(argv: list[str] | None, description: str) -> AnalyzeConfig:
    """The configuration of a command line (argparse exits with status 2 on a malformed one)."""
    return AnalyzeConfig(**vars(build_parser(description).parse_args(argv)))
