"""The benchmark's pieces: the usual recipe's network and data, the squeeze controls, the ratios."""

from __future__ import annotations

import json

import pytest
import torch

from bench import controls
from bench.baseline import baseline_model, loaders
from bench.measure import evaluation_candidates, remove_published
from bench.run import merge, ratios
from fmnist_common.artifacts import published_folder
from trainer.config import resolve


def test_usual_recipe_network_and_its_per_sample_data(data_dir):
    model = baseline_model().eval()
    logits = model(torch.rand(3, 1, 28, 28))
    assert logits.shape == (3, 10) and model[-2].out_features == 2  # the 2-unit bottleneck
    strides = [block[0].stride[0] for block in model[:4]]
    assert strides == [2, 1, 2, 1] and [block[0].out_channels for block in model[:4]] == [64, 64, 128, 128]
    train_loader, test_loader = loaders(str(data_dir), workers=0)
    x, y = next(iter(train_loader))
    assert x.shape == (1024, 1, 28, 28) and y.shape == (1024,) and 0 <= x.min() and x.max() <= 1
    assert len(test_loader.dataset) == 10_000


@pytest.mark.parametrize(("variant", "width"), [("no-squeeze", 16), ("3-units", 3)])
def test_control_trains_on_a_subset(variant, width, tmp_path, data_dir):
    run = tmp_path / variant
    args = ["--variant", variant, "--run", str(run), "--preset", "smoke", "--train-subset", "256",
            "--data-dir", str(data_dir)]
    assert controls.main(args) == 0
    history = json.loads((run / "history.json").read_text())
    assert len(history) == 1 and history[0]["step"] == 2
    checkpoint = torch.load(run / "checkpoint.pt", weights_only=True)
    assert checkpoint["snapshot_coords"].shape[-1] == width
    config = controls.control_config(variant, "smoke", 0)
    model = controls.control_model(variant, config, 10).eval()
    model.load_state_dict(checkpoint["model"])
    logits, z = model(torch.rand(2, 1, 28, 28))
    assert z.shape == (2, width) and torch.allclose(logits, model.classifier(z), atol=1e-6)


def test_ratios_and_merge():
    runs = [
        {"preset": "usual-recipe", "variant": "usual-recipe", "seed": 0, "projected_seconds": 4000.0},
    ]
    summary = {"default/2-units": {"wall_seconds_median": 480.0}, "fast/2-units": {"wall_seconds_median": 100.0}}
    stages = {"default": {"after_training_seconds": 20.0}, "fast": {"after_training_seconds": 25.0}}
    assert ratios(summary, runs, stages) == {
        "baseline_projected_seconds": 4000.0,
        "default_make_all_seconds": 500.0, "over_default_make_all": 8.0,
        "fast_make_all_seconds": 125.0, "over_fast_make_all": 32.0,
    }
    assert ratios(summary, runs, {"fast": stages["fast"]}) == {
        "baseline_projected_seconds": 4000.0, "fast_make_all_seconds": 125.0, "over_fast_make_all": 32.0}
    assert ratios(summary, [], stages) == {}
    old = [{"preset": "fast", "variant": "2-units", "seed": s, "wall_seconds": 1.0} for s in (0, 1)]
    new = [{"preset": "fast", "variant": "2-units", "seed": 1, "wall_seconds": 2.0}]
    assert merge(old, new) == [old[0], new[0]]


def test_control_config_keeps_the_recipe():
    base = resolve("default", seed=3)
    for variant, width in (("no-squeeze", 128), ("3-units", 3)):
        config = controls.control_config(variant, "default", 3)
        assert config.bottleneck_dim == width and config.snapshot_frames == 2
        assert (config.epochs, config.lr, config.tta_flip) == (base.epochs, base.lr, base.tta_flip)


def test_evaluation_candidates_include_the_run_as_trained(smoke_run, data_dir):
    accuracies = evaluation_candidates(smoke_run, str(data_dir))
    assert list(accuracies) == ["trained", "trained+flip"]
    history = json.loads((smoke_run / "history.json").read_text())
    assert accuracies["trained+flip"] == history[-1]["test_accuracy"]  # the smoke preset's own choice


def test_the_first_analysis_is_timed_with_nothing_of_an_earlier_one_left(tmp_path):
    """A published analysis is a link to a hidden build; both go, or the analyzer would publish the
    build again and reuse its training points."""
    for text in ("old", "new"):
        with published_folder(tmp_path / "analysis", "analysis") as build:
            (build / "train_points.npz").write_text(text)
    assert (tmp_path / "analysis").is_symlink()
    (tmp_path / ".analysis-leftover").mkdir()  # a killed build's leftover
    (tmp_path / "model.onnx").write_text("kept")
    remove_published(tmp_path / "analysis")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]
