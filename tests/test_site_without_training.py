"""A report from the analysis alone: pages whose inputs are absent are left out, and the overview says so.

A model trained elsewhere has no config.json, export_report.json, history or snapshots; the site
builds the pages it has the inputs for, leaves the others out of the navigation, omits the
sections it cannot fill, and never shows a value it does not have.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest

from analyzer.cli import main as analyze
from site_renderer.cli import main as render
from tests.handmade import FMNIST, linear_pixel_model, write_test_set
from tests.html_pages import read_page

WITHOUT_TRAINING = ["index", "bottleneck", "explorer", "confusion", "hard_negatives", "calibration", "model"]


def nav(run: Path) -> list[str]:
    return [json.loads(file) for file in re.findall(r"^  - .+: (.+)$", (run / "mkdocs.yml").read_text(), flags=re.M)]


def left_out(run: Path) -> list[str]:
    text = read_page(run / "site" / "index.html").text
    section = text.split("Left out of this report")[1].split("Reproduce it")[0]
    lines = [line.strip() for line in section.splitlines() if line.strip()]
    intro = "This run folder does not hold every input of the report, so these parts are not shown:"
    return lines[lines.index(intro) + 1:]


def reproduce_commands(run: Path) -> list[list[str]]:
    """The commands of the overview's last code block ("Reproduce it"), as shell words."""
    section = (run / "docs" / "index.md").read_text().split("## Reproduce it")[1]
    block = section.split("```bash\n")[-1].split("```")[0]
    return [shlex.split(line) for line in block.replace("\\\n", " ").splitlines()]


def assert_no_missing_value(run: Path) -> None:
    for page in (run / "site").glob("*.html"):
        text = read_page(page).text
        assert not re.search(r"\b(None|nan|NaN|inf)\b", text), page.name
        assert "{{" not in text and "{%" not in text, page.name


def test_pages_without_their_inputs_are_left_out(foreign_run):
    assert nav(foreign_run) == [f"{page}.md" for page in WITHOUT_TRAINING]
    assert sorted(p.stem for p in (foreign_run / "site").glob("*.html")) == sorted(WITHOUT_TRAINING)
    assert not (foreign_run / "docs" / "information_plane.md").exists()
    assert left_out(foreign_run) == [
        "Overview: the training configuration and the commands that retrain the model; "
        "the run folder holds no config.json (the trainer writes it).",
        "Overview: the training curves and the training time; the analysis was given no history.json (--history).",
        "Information bottleneck, Explorer: the GIF of training and the replay; "
        "the analysis was given no snapshots.npz (--snapshots).",
        "Information plane: the whole page; the analysis was given no snapshots.npz (--snapshots).",
        "Training dynamics, Confusion matrix: the whole Training dynamics page (data map, forgetting) and, in the "
        "Confusion matrix's gallery, each test image's history over training; the analysis was given no "
        "dynamics.npz (--dynamics).",
        "Model: the export parity checks; the run folder holds no export_report.json (the exporter writes it).",
        "Model, Try it: the model download and the Try it page, which runs it; the run folder holds no model.onnx.",
    ]
    assert_no_missing_value(foreign_run)


def test_sections_without_their_inputs_are_omitted(foreign_run):
    site = foreign_run / "site"
    index = read_page(site / "index.html")
    assert [row[0] for row in index.tables[0]] == ["Property", "Test accuracy", "Bottleneck width", "Software"]
    assert "Training curves" not in index.text and "information_plane.html" not in index.links
    bottleneck = read_page(site / "bottleneck.html")
    assert [src for src in bottleneck.sources if not src.endswith(".js")] == ["bottleneck_map.png", "atlas.png"]
    assert "frame by frame" not in bottleneck.text
    assert 'id="explorer-replay' not in (site / "explorer.html").read_text()
    model = read_page(site / "model.html")
    assert "Export parity" not in model.text and "model.onnx" not in model.links
    assert len(model.tables) == 2  # interface and metadata only
    assert not (site / "model.onnx").exists()


def test_trainer_files_are_optional(smoke_site, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(smoke_site / "analysis", run / "analysis")
    assert render(["--run", str(run)]) == 0
    assert len(nav(run)) == 9  # the analysis had snapshots, with the information subset, and dynamics
    assert [line.split(":")[0] for line in left_out(run)] == ["Overview", "Model", "Model, Try it"]
    rows = dict(read_page(run / "site" / "index.html").tables[0][1:])
    history = json.loads((smoke_site / "history.json").read_text())
    assert rows["Training time"] == f"{sum(e['seconds'] for e in history) / 60:.1f} min"
    assert "Training" not in rows
    assert_no_missing_value(run)


def test_site_builds_when_history_was_not_given(smoke_site, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(smoke_site / "analysis", run / "analysis")
    for name in ("config.json", "export_report.json", "model.onnx"):
        shutil.copy2(smoke_site / name, run / name)
    results = json.loads((run / "analysis" / "results.json").read_text())
    results["training_curves"] = None  # what the analyzer writes without --history
    del results["figures"]["training_curves"]
    (run / "analysis" / "results.json").write_text(json.dumps(results))
    assert render(["--run", str(run)]) == 0
    rows = dict(read_page(run / "site" / "index.html").tables[0][1:])
    assert "Training time" not in rows and rows["Training"].startswith("2 epochs, preset smoke")
    record, analysed = json.loads((run / "config.json").read_text()), results["config"]
    assert record["flags"] == ["--epochs", "2"]  # the smoke run's only change to its preset
    # the commands rebuild the run the analysis wrote into, named as it was given (absolute here)
    written = str(Path(analysed["out"]).parent)
    assert Path(written).is_absolute()
    assert reproduce_commands(run) == [
        ["python", "-m", "trainer", "train", "--run", written, "--preset", "smoke", "--epochs", "2"],
        ["python", "-m", "exporter", "--run", written],
        ["python", "-m", "analyzer", "--model", analysed["model"], "--data", analysed["data"], "--snapshots",
         analysed["snapshots"], "--history", analysed["history"], "--dynamics", analysed["dynamics"], "--out",
         analysed["out"]],
        ["python", "-m", "site_renderer", "--run", written],
    ]
    assert not (run / "site" / "training_curves.png").exists()


@pytest.mark.slow  # over 2 s: left out of make test-quick
def test_reproduce_shows_the_paths_actually_used(tmp_path, monkeypatch):
    rng = np.random.default_rng(2)
    labels = np.repeat(np.arange(10), 3)
    data = tmp_path / "data; rm -rf ~"
    write_test_set(data, rng.integers(0, 256, size=(len(labels), 28, 28)), labels)
    model = tmp_path / "models $(id)" / "it's `the` model.onnx"
    model.parent.mkdir()
    onnx.save(linear_pixel_model(rng.normal(size=(2, 10)), rng.normal(size=10), FMNIST), model)
    monkeypatch.chdir(tmp_path)
    given = ["--model", str(model), "--data", data.name, "--out", "odd run/analysis"]  # relative, as typed
    assert analyze(given) == 0
    assert render(["--run", "odd run"]) == 0
    assert reproduce_commands(tmp_path / "odd run") == [
        ["python", "-m", "analyzer", *given],
        ["python", "-m", "site_renderer", "--run", "odd run"],  # relative, like every path the analysis was given
    ]
    assert "runs/" not in (tmp_path / "odd run" / "docs" / "index.md").read_text()


@pytest.mark.parametrize("config", [["not", "an", "object"], {"config": {}, "flags": "--seed 1; rm -rf ~"},
                                    {"config": {}, "flags": ["--seed", 1]}])
def test_a_config_json_that_is_not_the_trainers_is_one_line(smoke_site, tmp_path, capsys, config):
    run = tmp_path / "run"
    shutil.copytree(smoke_site / "analysis", run / "analysis")
    (run / "config.json").write_text(json.dumps(config))
    assert render(["--run", str(run)]) == 2
    assert capsys.readouterr().err == (f"error: {run / 'config.json'} is not the trainer's: it must be an object whose "
                                       "'flags', if any, are a list of strings; train the run again, or remove the "
                                       "file\n")
    assert not (run / "site").exists()
