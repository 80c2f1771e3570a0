"""Training configuration: one dataclass of defaults and the named presets built from it.

Every field is one command-line flag of `python -m trainer train` (generated from the fields, which
carry their help text) that overrides the preset's value; the resolved configuration
is printed at start, saved to `RUN/config.json` and stored in the checkpoint, so the exporter can
rebuild the model from the checkpoint alone.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from fmnist_common.flags import as_flag, option

THREADS = 2  # torch threads of every stage and benchmark: these machines have 2 cores; more only contend


class ConfigError(ValueError):
    """A configuration that names an unknown preset or field; the message lists what is known."""


@dataclass(frozen=True)
class TrainConfig:
    preset: str = option("default", "name of the preset these values came from")
    epochs: int = option(24, "passes over the training images")
    batch_size: int = option(256, "images per optimiser step")
    lr: float = option(0.1, "peak SGD learning rate (after warm-up)")
    momentum: float = option(0.9, "Nesterov momentum")
    weight_decay: float = option(5e-4, "L2 penalty on conv and linear weights (not on norms or biases)")
    warmup_epochs: float = option(1.0, "linear learning-rate warm-up, then linear decay to zero")
    label_smoothing: float = option(0.0, "cross-entropy label smoothing")
    widths: tuple[int, int, int] = option((32, 64, 128), "channels of the three convolution stages", nargs=3)
    bottleneck_dim: int = option(2, "width D of the bottleneck layer")
    squeeze_hidden: int = option(128, "units of a hidden layer between the pooled features and the bottleneck "
                                      "(0: none)")
    squeeze_activation: str = option("relu", "activation of that hidden layer: relu, or tanh (saturating, for the "
                                     "information-plane question of Saxe et al. 2018)", choices=["relu", "tanh"])
    auxiliary_weight: float = option(
        0.5, "weight of the training-only loss of a linear classifier on the pooled features (0: none)")
    flip: bool = option(True, "random horizontal flips (clothes are left-right symmetric)")
    translate: int = option(2, "random shifts of up to this many pixels in x and y")
    tta_flip: bool = option(True, "evaluate and export the mean bottleneck point of each image and its mirror")
    train_subset: int = option(0, "train on the first N training images (0: all 60,000)")
    snapshot_frames: int = option(150, "snapshots to aim for (fewer distinct steps may result early on)")
    amp: bool = option(True, "bf16 autocast in training, the per-epoch test passes and the snapshots "
                       "(the last test pass is fp32 either way, as the exported graph computes)")
    seed: int = option(0, "seeds the weights, the batch order and the augmentation")
    device: str = option("auto", "where to train: auto (CUDA when present), cpu or cuda",
                         choices=["auto", "cpu", "cuda"])

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, values: dict) -> TrainConfig:
        """Rebuild from `to_json()` output; unknown keys are an error, not silently dropped."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ConfigError(f"unknown configuration keys {unknown}; known: {', '.join(sorted(names))}")
        values = dict(values)
        if "widths" in values:
            values["widths"] = tuple(values["widths"])
        return cls(**values)


PRESETS: dict[str, TrainConfig] = {
    # The report's model in about 12 minutes on 2 cores. Fewer epochs lose accuracy faster than the
    # levers tried so far win it back, and more epochs gain little for their time (docs/recipe.md).
    "default": TrainConfig(),
    # A quick look: >= 90% in a few minutes on 2 CPU cores. Fewer snapshots (about 100 frames) keep
    # the recording cost small in a short run; shifts of 1 pixel, not 2, gained 0.3 points at 6 and
    # 8 epochs (docs/recipe.md).
    "fast": TrainConfig(preset="fast", epochs=6, lr=0.2, translate=1, snapshot_frames=110),
    # For tests and CI: a few thousand images, one short epoch; accuracy is not the point.
    # A short warm-up: 16 steps at full warm-up leave most classes unlearnt.
    "smoke": TrainConfig(
        preset="smoke", epochs=1, batch_size=128, lr=0.05, warmup_epochs=0.25, widths=(8, 16, 16), train_subset=2000,
        snapshot_frames=12,
    ),
}


def flags_beyond_preset(config: TrainConfig) -> list[str]:
    """The trainer's flags that make `config` from its preset: what `--preset P` needs besides to
    train it again (recorded in config.json for the report's "Reproduce it")."""
    preset = PRESETS[config.preset]
    return [word for spec in dataclasses.fields(config) if spec.name != "preset"
            and getattr(config, spec.name) != getattr(preset, spec.name)
            for word in as_flag(spec.name, getattr(config, spec.name))]


def resolve(preset: str, **overrides) -> TrainConfig:
    """The named preset with the given fields replaced (fields left as None keep the preset's)."""
    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    changes = {k: v for k, v in overrides.items() if v is not None}
    if "widths" in changes:
        changes["widths"] = tuple(changes["widths"])  # a list from the command line or JSON
    return dataclasses.replace(PRESETS[preset], **changes)
