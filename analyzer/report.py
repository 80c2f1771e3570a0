"""The analysis run: model + test set (+ snapshots, history) -> the `OUT/` folder.

Reads every input once, checks what can be checked before any work (the model's interface with a
trial run, the snapshots and history, that `OUT` can be written), then calls each page's subject
module in turn. The folder is built aside and swapped in whole, under a lock: a rerun never mixes
its files with an earlier model's, a failed run leaves the previous folder as it was, and two
runs never write one folder at once. Imports no torch.
"""

from __future__ import annotations

import dataclasses
import os
import time
import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort

from analyzer import (
    bottleneck,
    calibration,
    confusion,
    explorer,
    hard_negatives,
    information,
    neighbours,
    training_curves,
)
from analyzer.config import AnalyzeConfig
from analyzer.figures import figure_font, glyph_warnings_silenced, undrawable
from analyzer.inputs import evaluate, read_history, read_snapshots
from analyzer.onnx_model import LoadedModel, ModelError, load
from fmnist_common.artifacts import atomic_path, check_replaceable, folder_lock, published_folder, write_json
from fmnist_common.idx import load_test_set

RUN_FILES = ("model.onnx", "checkpoint.pt", "snapshots.npz", "history.json")  # a run folder mistaken for --out


class OutputError(OSError):
    """The output folder cannot be written; found before any work is done."""


def check_output(out: Path) -> None:
    """Refuse an output that is a file, lies under a file, or sits in a folder we cannot write."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out} is a file; choose a folder")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        raise OutputError(f"--out {out} lies under a file ({exc.filename}); choose another folder") from exc
    except OSError as exc:
        raise OutputError(f"cannot create {out.parent} ({exc.strerror}); choose a writable --out") from exc
    if not os.access(out.parent, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write into {out.parent}; choose a writable --out")
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
    font = {"file": Path(figure_font()).name, "undrawable": undrawable(names)}
    if font["undrawable"]:
        warnings.warn(f"the figures' font {font['file']} has no glyph for {font['undrawable']!r} in the class names: "
                      "the figures show boxes there, the pages show the names as text", stacklevel=2)

    with folder_lock(out), published_folder(out, "analysis") as staging, glyph_warnings_silenced():
        ev = evaluate(model, images, labels, config.batch_size)
        with atomic_path(staging / "embeddings.npz") as tmp:
            np.savez_compressed(
                tmp, indices=np.arange(len(labels)), labels=labels, predictions=ev.predictions,
                probabilities=ev.probabilities.astype(np.float32), coords=ev.coords,
            )
        projection = bottleneck.projection_of(ev.coords)
        figures = {**confusion.FIGURES, **bottleneck.FIGURES, **calibration.FIGURES}
        hard = hard_negatives.analyse(ev, config.top_k, staging)
        nearest = neighbours.analyse(model, ev, hard, config.neighbours, config.batch_size, config.data,
                                     out, staging)
        if nearest["available"]:
            figures.update(neighbours.FIGURES)
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
            **confusion.analyse(ev, staging),
            "hard_negatives": hard,
            "neighbours": nearest,
            "bottleneck": bottleneck.analyse(ev, projection, staging),
            "calibration": calibration.analyse(ev, config.calibration_bins, hard, staging),
            "snapshots": None,
            "history": None,
        }
        replay = None
        if snapshots is not None:
            results["snapshots"], replay = bottleneck.animate(snapshots, projection, names, config.gif_frame_ms,
                                                              staging)
            figures.update(bottleneck.ANIMATION)
            results["snapshots"]["information_plane"] = None
            if snapshots.info_coords is not None:
                results["snapshots"]["information_plane"] = information.analyse(
                    snapshots, config.information_bins, config.information_noise, staging)
                figures.update(information.FIGURES)
        results["explorer"] = explorer.analyse(ev, projection(ev.coords), replay, staging)
        if history is not None:
            results["history"] = training_curves.analyse(history, staging)
            figures.update(training_curves.FIGURES)
        results["figures"] = figures
        results["timing"] = {
            "inference_seconds": ev.inference_seconds,
            "images_per_second": len(labels) / ev.inference_seconds,
            "total_seconds": time.perf_counter() - started,
        }
        write_json(staging / "results.json", results)
    return results
