"""The weight average: its warmed-up decay, what it averages, and that it can be turned off."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from trainer.ema import make_ema


def test_first_update_copies_then_the_decay_warms_up_to_its_ceiling():
    model = nn.Linear(1, 1, bias=False)
    ema = make_ema(model, decay=0.999)
    with torch.no_grad():
        model.weight.fill_(0.0)
        ema.update_parameters(model)  # copy: the average starts at the weights
        model.weight.fill_(1.0)
        ema.update_parameters(model)  # 1 update so far: decay (1 + 1) / (10 + 1)
    assert ema.module.weight.detach().item() == pytest.approx(9 / 11)
    ema.n_averaged.fill_(100_000)  # long past the warm-up: decay 0.999
    with torch.no_grad():
        model.weight.fill_(1001 / 11)
        ema.update_parameters(model)
    assert ema.module.weight.detach().item() == pytest.approx(9 / 11 * 0.999 + 1001 / 11 * 0.001)


def test_batch_norm_statistics_are_averaged_and_step_counts_copied():
    model = nn.BatchNorm1d(2)
    ema = make_ema(model, decay=0.999)
    ema.update_parameters(model)
    with torch.no_grad():
        model.running_mean.fill_(1.0)
    model.num_batches_tracked.fill_(7)
    ema.update_parameters(model)
    assert ema.module.running_mean.tolist() == pytest.approx([9 / 11] * 2)
    assert int(ema.module.num_batches_tracked) == 7


def test_decay_zero_means_no_average():
    assert make_ema(nn.Linear(1, 1), decay=0.0) is None
