"""The bottleneck CNN: a small VGG-style feature extractor, a narrow bottleneck, a linear classifier.

`forward(x)` takes float images in [0, 1] of shape (N, 1, 28, 28) and returns
`(logits, bottleneck)`; the input normalisation lives inside the model, so the exported ONNX graph
needs no preprocessing outside it. The squeeze is a hidden layer of `squeeze_hidden` units, ReLU or
tanh (a 2-D plane can only hold classes that a map of the pooled features can pull apart; a nonlinear
map separates them better than a linear projection, measured in docs/recipe.md) and then the bottleneck,
`Linear -> BatchNorm1d`, whose output is what the classifier sees. Batch-normalising the D
coordinates keeps the points centred and on a stable scale while the classifier's weights, not the
features, carry the logit norm.

With `auxiliary`, training also scores a linear classifier on the pooled features (the trainer adds
its loss, weighted): the features then get a full-rank training signal, not only what passes
through D units. It is never used at inference, so the exported graph does not contain it.

With `tta_flip`, the model in eval mode places each image at the mean of its own bottleneck point and
its mirror image's, then classifies that point: clothes are left-right symmetric, so the two views
are two guesses of one point. The classifier is affine, so `logits == classifier(bottleneck)` still
holds exactly and every image is still one point on the plane, in the trainer's evaluation, in the
exported graph and in the analysis alike.
"""

from __future__ import annotations

import torch
from torch import nn

from trainer.config import TrainConfig

# Mean and standard deviation of the Fashion-MNIST training pixels in [0, 1].
PIXEL_MEAN = 0.2860
PIXEL_STD = 0.3530
# Images per eval-mode forward pass of the trainer and the exporter. Measured on 2 cores over the
# 10,000 flip-averaged test images: 200 takes 2.5 s in bf16 and 4.8 s in fp32, 1,000 takes 4.0 s and
# 8.3 s (smaller batches keep each layer's activations in cache).
EVAL_BATCH = 200
# The squeeze layer's activation by its config name; neither has parameters, so the state dict's keys
# are the same for both and ReLU (the default) builds exactly the network it always built.
ACTIVATIONS = {"relu": lambda: nn.ReLU(inplace=True), "tanh": nn.Tanh}


def conv_block(in_channels: int, out_channels: int, pool: bool = False) -> nn.Sequential:
    """3x3 convolution (same padding), then a 2x2 max-pool when `pool`, then batch norm and ReLU.

    Pooling before the normalisation and the activation, not after, picks the same pixels (ReLU and
    a batch norm of positive scale keep the order of values; the norm's statistics become those of
    the pooled pixels), and their memory-bound passes run over a quarter of them: 5% more training
    images per second on 2 cores. The global max pool stays after the last block's ReLU: before its
    batch norm, the early snapshots collapsed onto one point (docs/recipe.md).
    """
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        *([nn.MaxPool2d(2)] if pool else []),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class BottleneckCNN(nn.Module):
    """28x28 -> conv@28, pool -> 2 convs@14, pool -> 2 convs@7, global max -> hidden -> D -> classes."""

    def __init__(
        self,
        widths: tuple[int, int, int] = (32, 64, 128),
        bottleneck_dim: int = 2,
        num_classes: int = 10,
        tta_flip: bool = False,
        squeeze_hidden: int = 0,
        auxiliary: bool = False,
        squeeze_activation: str = "relu",
    ) -> None:
        super().__init__()
        self.tta_flip = tta_flip
        w0, w1, w2 = widths
        self.register_buffer("pixel_mean", torch.tensor(PIXEL_MEAN))
        self.register_buffer("pixel_std", torch.tensor(PIXEL_STD))
        self.features = nn.Sequential(
            conv_block(1, w0, pool=True),  # conv @28 -> (N, w0, 14, 14)
            conv_block(w0, w1),
            conv_block(w1, w1, pool=True),  # (N, w1, 7, 7)
            conv_block(w1, w2),
            conv_block(w2, w2),
            nn.AdaptiveMaxPool2d(1),
            nn.Flatten(),  # (N, w2)
        )
        hidden = (
            [nn.Linear(w2, squeeze_hidden, bias=False), nn.BatchNorm1d(squeeze_hidden),
             ACTIVATIONS[squeeze_activation]()]
            if squeeze_hidden else []
        )
        self.bottleneck = nn.Sequential(
            *hidden,
            nn.Linear(squeeze_hidden or w2, bottleneck_dim, bias=False),
            nn.BatchNorm1d(bottleneck_dim),
        )
        self.classifier = nn.Linear(bottleneck_dim, num_classes)
        # training only: a linear classifier on the pooled features, outside the exported graph
        self.auxiliary = nn.Linear(w2, num_classes) if auxiliary else None

    def pooled(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 1, 28, 28) images in [0, 1] -> (N, w2) globally pooled features."""
        return self.features((images - self.pixel_mean) / self.pixel_std)

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 1, 28, 28) images in [0, 1] -> (N, D) bottleneck points of the images as given."""
        return self.bottleneck(self.pooled(images))

    def training_logits(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(logits through the bottleneck, logits of the auxiliary classifier or None) for the loss."""
        pooled = self.pooled(images)
        logits = self.classifier(self.bottleneck(pooled))
        return logits, self.auxiliary(pooled) if self.auxiliary is not None else None

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.embed(images)  # (N, D)
        if self.tta_flip and not self.training:
            z = (z + self.embed(images.flip(3))) / 2
        return self.classifier(z), z


def build_model(config: TrainConfig, num_classes: int) -> BottleneckCNN:
    """The network a configuration describes, as the trainer trains it and the exporter rebuilds it."""
    return BottleneckCNN(config.widths, config.bottleneck_dim, num_classes, config.tta_flip, config.squeeze_hidden,
                         auxiliary=config.auxiliary_weight > 0, squeeze_activation=config.squeeze_activation)


def multiply_accumulates(widths: tuple[int, int, int], bottleneck_dim: int = 2, squeeze_hidden: int = 0) -> int:
    """Multiply-accumulates of one forward pass on one image (convolutions and linear layers)."""
    w0, w1, w2 = widths
    convs = 28 * 28 * 9 * w0 + 14 * 14 * 9 * (w0 * w1 + w1 * w1) + 7 * 7 * 9 * (w1 * w2 + w2 * w2)
    squeeze = w2 * squeeze_hidden + (squeeze_hidden or w2) * bottleneck_dim  # the layers of `bottleneck`
    return convs + squeeze + bottleneck_dim * 10
