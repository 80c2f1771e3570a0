"""The bottleneck CNN's contract: shapes, the bottleneck feeding a linear classifier, [0, 1] input."""

from __future__ import annotations

import pytest
import torch

from trainer.model import PIXEL_MEAN, PIXEL_STD, BottleneckCNN, multiply_accumulates


@pytest.mark.parametrize("width", [2, 3])
def test_forward_returns_logits_and_bottleneck(width):
    model = BottleneckCNN((8, 16, 16), bottleneck_dim=width).eval()
    logits, z = model(torch.rand(5, 1, 28, 28))
    assert logits.shape == (5, 10) and z.shape == (5, width)
    assert torch.allclose(logits, model.classifier(z), atol=1e-6)


def test_normalisation_is_inside_the_model():
    model = BottleneckCNN((8, 16, 16)).eval()
    assert float(model.pixel_mean) == pytest.approx(PIXEL_MEAN)
    assert float(model.pixel_std) == pytest.approx(PIXEL_STD)
    state = model.state_dict()
    assert "pixel_mean" in state and "pixel_std" in state  # travels with the checkpoint


def test_default_model_cost():
    assert multiply_accumulates((32, 64, 128)) == 21_902_100
