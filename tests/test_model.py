"""The bottleneck CNN's contract: shapes, the bottleneck feeding a linear classifier, [0, 1] input,
flip averaging in eval mode only."""

from __future__ import annotations

import pytest
import torch

from trainer.config import resolve
from trainer.model import PIXEL_MEAN, PIXEL_STD, BottleneckCNN, build_model, multiply_accumulates


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


def test_model_cost():
    assert multiply_accumulates((32, 64, 128)) == 21_902_100
    # a 128-unit layer before the squeeze: 128 * 128 + 128 * 2 in place of 128 * 2
    assert multiply_accumulates((32, 64, 128), squeeze_hidden=128) == 21_902_100 + 128 * 128


@pytest.mark.parametrize("hidden", [0, 24])
def test_the_bottleneck_is_the_last_layer_before_the_classifier(hidden):
    torch.manual_seed(0)
    model = BottleneckCNN((8, 16, 16), squeeze_hidden=hidden).eval()
    assert model.bottleneck[0].out_features == (hidden or 2)  # a hidden ReLU layer only when asked
    logits, z = model(torch.rand(4, 1, 28, 28))
    assert z.shape == (4, 2) and torch.allclose(logits, model.classifier(z), atol=1e-6)


def test_flip_averaging_places_an_image_and_its_mirror_on_one_point():
    torch.manual_seed(0)
    model = BottleneckCNN((8, 16, 16), tta_flip=True).eval()
    x = torch.rand(6, 1, 28, 28)
    with torch.no_grad():
        logits, z = model(x)
        mirrored_logits, mirrored_z = model(x.flip(3))
        assert torch.allclose(z, (model.embed(x) + model.embed(x.flip(3))) / 2, atol=1e-6)
        assert torch.allclose(logits, model.classifier(z), atol=1e-6)  # still one point per image
        assert torch.allclose(mirrored_z, z, atol=1e-6) and torch.allclose(mirrored_logits, logits, atol=1e-5)


def test_flip_averaging_is_off_in_training():
    torch.manual_seed(0)
    model = BottleneckCNN((8, 16, 16), tta_flip=True).train()
    x = torch.rand(6, 1, 28, 28)
    _, z = model(x)
    assert torch.allclose(z, model.embed(x), atol=1e-6)


@pytest.mark.parametrize("preset", ["default", "fast", "smoke"])
def test_build_model_follows_the_config(preset):
    config = resolve(preset)
    model = build_model(config, 10)
    assert model.tta_flip is config.tta_flip and model.classifier.in_features == config.bottleneck_dim
    assert model.features[0][0].out_channels == config.widths[0]
    assert model.bottleneck[0].out_features == (config.squeeze_hidden or config.bottleneck_dim)


@pytest.mark.parametrize("name, layer", [("relu", torch.nn.ReLU), ("tanh", torch.nn.Tanh)])
def test_squeeze_activation_changes_only_the_hidden_layers_function(name, layer):
    torch.manual_seed(0)
    reference = build_model(resolve("smoke"), 10).eval()  # the default: ReLU, as before the field existed
    torch.manual_seed(0)
    model = build_model(resolve("smoke", squeeze_activation=name), 10).eval()
    assert type(model.bottleneck[2]) is layer and [type(m) for m in model.bottleneck].count(layer) == 1
    assert reference.bottleneck[2].inplace is True  # the module the default always had
    for key, value in reference.state_dict().items():  # same parameters from the same seed
        assert torch.equal(model.state_dict()[key], value), key
    x = torch.rand(4, 1, 28, 28)
    with torch.no_grad():
        same = torch.equal(model(x)[1], reference(x)[1])
    assert same is (name == "relu")

