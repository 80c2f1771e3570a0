"""Sweep grids and bad input: the points and flags of a grid, and every refusal as one `error:` line
before any run starts (no training here)."""

from __future__ import annotations

import json

import pytest

from sweep.cli import main
from sweep.grid import load

SMOKE_HEAD = 'preset = "smoke"\n'


def write_grid(tmp_path, text, name="grid"):
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


def test_shipped_grid_points_folders_and_flags():
    grid = load("width-and-activation")
    points = grid.points()
    assert grid.preset == "fast" and len(points) == 18
    assert [p.name for p in points[:4]] == [
        "bottleneck_dim-1__squeeze_activation-relu__seed-0", "bottleneck_dim-1__squeeze_activation-relu__seed-1",
        "bottleneck_dim-1__squeeze_activation-relu__seed-2", "bottleneck_dim-1__squeeze_activation-tanh__seed-0"]
    assert grid.train_flags(points[-1]) == ["--bottleneck-dim", "8", "--squeeze-activation", "tanh", "--seed", "2"]
    assert points[-1].configuration == (("bottleneck_dim", 8), ("squeeze_activation", "tanh"))


def test_fixed_fields_and_every_kind_of_value_become_trainer_flags(tmp_path):
    grid = load(str(write_grid(tmp_path, SMOKE_HEAD + "[set]\nepochs = 1\nflip = false\nlr = 1\n"
                                          "[vary]\nwidths = [[8, 16, 16], [4, 8, 8]]\n")))
    points = grid.points()
    assert [p.name for p in points] == ["widths-8x16x16", "widths-4x8x8"]
    assert grid.train_flags(points[1]) == ["--epochs", "1", "--no-flip", "--lr", "1", "--widths", "4", "8", "8"]


@pytest.mark.parametrize("text, message", [
    (SMOKE_HEAD + "[vary]\nbottleneck_width = [2]\n",
     "{path}: unknown field 'bottleneck_width' in [vary]; known: epochs, "),
    (SMOKE_HEAD + "[vary]\nsqueeze_activation = ['relu', 'sigmoid']\n",
     "{path}: squeeze_activation = 'sigmoid' is not one of relu, tanh"),
    (SMOKE_HEAD + "[vary]\nbottleneck_dim = ['two']\n",
     "{path}: bottleneck_dim = 'two' must be of type int, like its default 2"),
    (SMOKE_HEAD + "[vary]\nseed = [true]\n", "{path}: seed = True must be of type int, like its default 0"),
    (SMOKE_HEAD + "[vary]\nseed = []\n",
     "{path}: [vary] seed = [] has no values, so the grid is empty; give it a non-empty list"),
    (SMOKE_HEAD, "{path}: [vary] names no field, so the grid is empty; give at least one field a list of values"),
    (SMOKE_HEAD + "[vary]\nseed = [0, 0]\n", "{path}: [vary] seed = [0, 0] repeats a value; list each value once"),
    ('preset = "huge"\n[vary]\nseed = [0]\n', "{path}: unknown preset 'huge'; choose one of default, fast, smoke"),
    (SMOKE_HEAD + "[set]\nseed = 1\n[vary]\nseed = [0]\n",
     "{path}: seed is both in [set] and in [vary]; keep it in one of them"),
    (SMOKE_HEAD + "seeds = [0]\n", "{path}: unknown key 'seeds'; a grid holds preset, [set] and [vary]"),
])
def test_bad_grid_is_one_line_before_any_run(tmp_path, capsys, text, message):
    path = write_grid(tmp_path, text)
    out = tmp_path / "sweeps"
    assert main(["--grid", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: " + message.format(path=path)) and err.count("\n") == 1
    assert not out.exists()


def test_unknown_grid_name(tmp_path, capsys):
    assert main(["--grid", "widths", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err == ("error: sweep grid 'widths' not found; name one of sweep/grids "
                                       "(smoke, width-and-activation) or give the path of a TOML file\n")


def test_grid_of_more_than_500_points_needs_yes(tmp_path, capsys):
    path = write_grid(tmp_path, SMOKE_HEAD + f"[vary]\nseed = {list(range(501))}\n")
    assert main(["--grid", str(path), "--out", str(tmp_path / "sweeps")]) == 2
    assert capsys.readouterr().err == (f"error: {path} has 501 points, more than 500; add --yes to run them all, "
                                       "or vary fewer values\n")
    assert not (tmp_path / "sweeps").exists()


def test_name_clash_with_another_grids_sweep(tmp_path, capsys):
    out = tmp_path / "sweeps"
    (out / "grid").mkdir(parents=True)
    (out / "grid/sweep.json").write_text(json.dumps({"grid_text": "other", "grid_path": "elsewhere/grid.toml"}))
    path = write_grid(tmp_path, SMOKE_HEAD + "[vary]\nseed = [0]\n")
    assert main(["--grid", str(path), "--out", str(out)]) == 2
    assert capsys.readouterr().err == (f"error: {out}/grid holds the sweep of another grid named 'grid' "
                                       "(elsewhere/grid.toml); rename the grid file, or choose another --out\n")
    assert sorted(p.name for p in (out / "grid").iterdir()) == ["sweep.json"]


def test_folder_that_is_not_a_sweep_is_left_alone(tmp_path, capsys):
    out = tmp_path / "sweeps"
    (out / "grid").mkdir(parents=True)
    (out / "grid/notes.txt").write_text("mine")
    path = write_grid(tmp_path, SMOKE_HEAD + "[vary]\nseed = [0]\n")
    assert main(["--grid", str(path), "--out", str(out)]) == 2
    assert capsys.readouterr().err == (f"error: {out}/grid exists and holds no sweep.json, so it is not a sweep's "
                                       "folder; rename the grid file, or choose another --out\n")


def test_slurm_engine_without_sbatch(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch on it
    assert main(["--grid", "smoke", "--out", str(tmp_path / "sweeps"), "--engine", "slurm"]) == 2
    assert capsys.readouterr().err == ("error: --engine slurm needs SLURM's sbatch, which is not on PATH; run on a "
                                       "cluster's login node (docs/sweeps.md), or use --engine local\n")
    assert not (tmp_path / "sweeps").exists()
