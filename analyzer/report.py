"""The analysis run: model + test set (+ snapshots, history) -> the `OUT/` folder.

Reads every input once, checks what can be checked before any work (the model's interface with a
trial run, the snapshots and history, that `OUT` can be written), then calls each subject module
of `SUBJECTS` in turn: each writes its files and returns its block of results.json and its
figures. The folder is built aside and swapped in whole, under a lock: a rerun never mixes
its files with an earlier model's, a failed run leaves the previous folder as it was, and two
runs never write one folder at once. Imports no torch.
"""

from __future__ import annotations

import dataclasses
import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort

from analyzer import (
    atlas,
    bottleneck,
    calibration,
    confusion,
    dynamics,
    explorer,
    hard_negatives,
    information,
    near_copies,
    neighbours,
    occlusion,
    training_curves,
)
from analyzer.config import AnalyzeConfig
from analyzer.figures import figure_font, glyph_warnings_silenced, undrawable
from analyzer.inputs import (
    Inputs,
    Subject,
    check_dynamics_answers,
    check_epochs_agree,
    evaluate,
    read_dynamics,
    read_history,
    read_snapshots,
    read_train_set,
)
from analyzer.onnx_model import LoadedModel, ModelError, load
from fmnist_common.artifacts import check_replaceable, folder_lock, published_folder, write_json
from fmnist_common.idx import load_test_set

# a run folder mistaken for --out: a trainer's, or one holding only an analysis and its report (journey 2)
RUN_FILES = ("model.onnx", "checkpoint.pt", "snapshots.npz", "dynamics.npz", "history.json", "analysis", "site")
# (block of results.json, its subject's analyse): in order, a subject after those whose blocks it reads
SUBJECTS: tuple[tuple[str, Callable[[Inputs, Path], Subject]], ...] = (
    ("confusion", confusion.analyse),
    ("hard_negatives", hard_negatives.analyse),
    ("occlusion", occlusion.analyse),  # reads the hard negatives' test indices
    ("near_copies", near_copies.analyse),
    ("neighbours", neighbours.analyse),  # reads the hard negatives' test indices and near_copies' base rate
    ("bottleneck", bottleneck.analyse),
    ("atlas", atlas.analyse),  # the map's plane, tiled
    ("information_plane", information.analyse),
    ("calibration", calibration.analyse),
    ("explorer", explorer.analyse),
    ("training_curves", training_curves.analyse),
    ("dynamics", dynamics.analyse),
)


class OutputError(OSError):
    """The output folder cannot be written; found before any work is done."""


def check_output(out: Path) -> None:
    """Refuse an output that is a file, lies under a file, or would sit in a folder we cannot write.
    Creates nothing: the folders it lacks are made when the analysis publishes, so a run that fails
    before then leaves no empty folders behind."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out} is a file; choose a folder")
    existing = out.parent
    while not (existing.exists() or existing.is_symlink()) and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"--out {out} lies under a file ({existing}); choose another folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write into {existing}; choose a writable --out")
    run_files = [name for name in RUN_FILES if (out / name).exists()]
    hint = (f"Did you mean --out {out / 'analysis'}?" if run_files
            else "Choose a new or empty folder for --out, or an analysis folder to replace.")
    check_replaceable(out, "analysis", hint)


def check_dataset(model: LoadedModel, sha256: str, allow_other: bool) -> bool | None:
    """Whether the test files are those the model was exported with (None: model does not say)."""
    expected = model.metadata.get("dataset_sha256")
    if not expected:
        return None
    if expected == sha256:
        return True
    message = (
        f"the test set's sha256 {sha256[:12]}... differs from the model's dataset_sha256 "
        f"{expected[:12]}...; the figures would not describe the data the model was checked on"
    )
    if not allow_other:
        raise ModelError(f"{message}. Pass --allow-other-data to analyse anyway")
    warnings.warn(message, stacklevel=2)
    return False


def run_subjects(inputs: Inputs, staging: Path) -> tuple[dict, dict[str, str]]:
    """Every subject's block, {name: block}, and their figures, each subject seeing the blocks before it."""
    blocks, figures = {}, {}
    for name, subject in SUBJECTS:
        done = subject(dataclasses.replace(inputs, blocks=dict(blocks)), staging)
        blocks[name] = done.block
        figures.update(done.figures)
    return blocks, figures


def analyse(config: AnalyzeConfig) -> dict:
    """Run the whole analysis into `config.out`; return what `results.json` holds."""
    started = time.perf_counter()
    out = Path(config.out)
    check_output(out)
    model = load(config.model, config.threads)
    names = model.class_names
    history = read_history(Path(config.history)) if config.history else None
    images, labels, sha256 = load_test_set(config.data)
    snapshots = (read_snapshots(Path(config.snapshots), names, model.bottleneck_dim, len(labels))
                 if config.snapshots else None)
    same_data = check_dataset(model, sha256, config.allow_other_data)
    if labels.max() >= len(names):
        raise ModelError(f"the test labels go up to {labels.max()}, but the model names {len(names)} classes")
    train = read_train_set(config.data)
    training_dynamics = (read_dynamics(Path(config.dynamics), len(labels), None if train is None else len(train.labels),
                                       len(names))
                 if config.dynamics else None)
    if training_dynamics and history:
        check_epochs_agree(Path(config.dynamics), training_dynamics, Path(config.history), history)
    font = {"file": Path(figure_font()).name, "undrawable": undrawable(names)}
    if font["undrawable"]:
        warnings.warn(f"the figures' font {font['file']} has no glyph for {font['undrawable']!r} in the class names: "
                      "the figures show boxes there, the pages show the names as text", stacklevel=2)

    with folder_lock(out), published_folder(out, "analysis") as staging, glyph_warnings_silenced():
        ev = evaluate(model, images, labels, config.batch_size)
        if training_dynamics:
            check_dynamics_answers(Path(config.dynamics), training_dynamics, ev)
        plane = bottleneck.projection_of(ev.coords, len(ev.class_names))
        inputs = Inputs(config, model, ev, plane, snapshots, history, train, out, dynamics=training_dynamics)
        blocks, figures = run_subjects(inputs, staging)
        results = {
            "model": {
                "path": str(model.path),
                "sha256": model.sha256,
                "bytes": model.path.stat().st_size,
                "metadata": model.metadata,
                "inputs": model.inputs,
                "outputs": model.outputs,
            },
            "software": {"onnxruntime": ort.__version__, "numpy": np.__version__},
            "config": dataclasses.asdict(config),
            "dataset": {"images": int(len(labels)), "sha256": sha256, "matches_model": same_data},
            "class_names": names,
            "figure_font": font,
            "accuracy": ev.accuracy,
            "correct": int((ev.predictions == labels).sum()),
            "total": int(len(labels)),
            **blocks,
            "figures": figures,
            "timing": {
                "inference_seconds": ev.inference_seconds,
                "images_per_second": len(labels) / ev.inference_seconds,
                "total_seconds": time.perf_counter() - started,
            },
        }
        write_json(staging / "results.json", results)
    return results
