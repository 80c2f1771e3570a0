"""An exponential moving average of the weights and batch-norm buffers: the model a run evaluates.

Late in training the weights jitter around a minimum at every step; their average over the last
thousand or so steps sits nearer its centre, and it is what the trainer evaluates, saves as the
checkpoint's `model` and the exporter exports. The decay warms up as min(decay, (1 + n) / (10 + n))
after n updates, so that early in a run the average follows the weights instead of carrying the
random initialisation for thousands of steps (the snapshots and the per-epoch accuracy show it).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel


def warmed_up_ema(decay: float) -> Callable[[list[torch.Tensor], list[torch.Tensor], torch.Tensor], None]:
    """An AveragedModel `multi_avg_fn`: in-place EMA of same-dtype tensor lists, decay warmed up."""

    def update(averaged: list[torch.Tensor], current: list[torch.Tensor], updates: torch.Tensor) -> None:
        n = int(updates)
        rate = min(decay, (1 + n) / (10 + n))
        if torch.is_floating_point(averaged[0]):
            torch._foreach_lerp_(averaged, current, 1 - rate)
        else:  # batch norms' step counters: a count, not a quantity to average
            torch._foreach_copy_(averaged, current)

    return update


def make_ema(model: nn.Module, decay: float) -> AveragedModel | None:
    """The averaged copy of `model` (parameters and buffers), or None when `decay` is 0."""
    if decay == 0:
        return None
    return AveragedModel(model, multi_avg_fn=warmed_up_ema(decay), use_buffers=True)
