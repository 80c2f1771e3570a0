"""The analysis run: model + test set (+ snapshots, history) -> `OUT/` files.

Writes `results.json` (everything the site shows), `embeddings.npz`, the hard-negative thumbnails
under `hard_neg/<Class>/hard_neg_<k>(<Pred>).png`, and the figures. Reads nothing from the trainer
but files, and imports no torch.
"""

from __future__ import annotations

import json
import re
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from analyzer import animation, explorer, figures, information, metrics
from analyzer.artifacts import atomic_path, write_json
from analyzer.idx import load_test_set
from analyzer.onnx_model import LoadedModel, ModelError, infer

UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


@dataclass
class Inputs:
    model: LoadedModel
    data_dir: Path
    out: Path
    snapshots: Path | None = None
    history: Path | None = None
    top_k: int = 5
    allow_other_data: bool = False


def safe_name(name: str) -> str:
    """A class name as a file or folder name: path separators and reserved characters become '_'."""
    cleaned = UNSAFE.sub("_", name).strip().strip(".")
    return cleaned or "_"


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


def plane_of(coords: np.ndarray) -> tuple[np.ndarray, str, tuple[str, str]]:
    """2-D points to draw, the projection's name and the axis labels (PCA when D > 2)."""
    if coords.shape[1] == 2:
        return coords, "identity", ("bottleneck unit 1", "bottleneck unit 2")
    mean, axes = metrics.pca_projection(coords)
    return (coords - mean) @ axes.T, "pca", ("principal axis 1", "principal axis 2")


def hard_negatives(images, labels, predictions, probabilities, class_names, k, out: Path) -> list[dict]:
    """Per true class, its top-k confidently wrong images, with thumbnails written under `out`."""
    folder_names = [safe_name(n) for n in class_names]
    if len(set(folder_names)) != len(folder_names):
        folder_names = [f"{i}_{n}" for i, n in enumerate(folder_names)]
    classes = []
    for c, name in enumerate(class_names):
        chosen, missed = metrics.hard_negative_indices(labels, predictions, probabilities, c, k)
        items = []
        for rank, index in enumerate(chosen, start=1):
            predicted = int(predictions[index])
            relative = f"hard_neg/{folder_names[c]}/hard_neg_{rank}({folder_names[predicted]}).png"
            figures.thumbnail(images[index], out / relative)
            items.append({
                "rank": rank,
                "test_index": int(index),
                "true_class": name,
                "predicted_class": class_names[predicted],
                "confidence": float(probabilities[index, predicted]),
                "top3": metrics.top_classes(probabilities[index], class_names),
                "image": relative,
            })
        note = None if len(items) == k else f"only {len(items)} of {name}'s test images are misclassified"
        classes.append({"class": name, "index": c, "misclassified": missed, "items": items, "note": note})
    return classes


def animate(snapshots_path: Path, class_names: list[str], out: Path) -> tuple[dict, dict]:
    """The GIF and the per-frame separation of the probe points, from `snapshots.npz`; and the
    projected frames for the explorer's replay."""
    with np.load(snapshots_path) as snap:
        coords, labels = snap["coords"], snap["labels"]
        steps, epochs, names = snap["steps"], snap["epochs"], [str(n) for n in snap["class_names"]]
        info = (snap["info_coords"], snap["info_labels"]) if "info_coords" in snap.files else None
    if names != class_names:
        raise ModelError(f"{snapshots_path} names classes {names}, the model {class_names}")
    frames, probes, dim = coords.shape
    flat, projection, axis_labels = plane_of(coords.reshape(-1, dim))
    plane = flat.reshape(frames, probes, 2)
    gif = animation.write_gif(plane, labels, epochs, steps, names, axis_labels, out / "information_bottleneck.gif")
    separation = [metrics.fisher_ratio(coords[f], labels) for f in range(frames)]
    half = next(f for f, ratio in enumerate(separation) if ratio >= separation[-1] / 2)
    replay = explorer.replay_data(plane, labels, steps, epochs)
    plane_info = None
    if info is not None:
        plane_info = information.information_plane(*info)
        figures.information_plane_figure(plane_info, epochs.tolist(), out / "information_plane.png")
        figures.information_curves_figure(plane_info, steps.tolist(), out / "information_curves.png")
    return {
        **gif,
        "projection": projection,
        "probe_images": int(probes),
        "steps": steps.tolist(),
        "epochs": epochs.tolist(),
        "fisher_ratio": separation,
        "half_separation_frame": half,  # first frame with at least half the final ratio
        "information_plane": plane_info,
    }, replay


def analyse(inputs: Inputs) -> dict:
    """Run the whole analysis; return the results that `results.json` holds."""
    started = time.perf_counter()
    out, model, names = inputs.out, inputs.model, inputs.model.class_names
    images, labels, sha256 = load_test_set(inputs.data_dir)
    same_data = check_dataset(model, sha256, inputs.allow_other_data)
    if labels.max() >= len(names):
        raise ModelError(f"the test labels go up to {labels.max()}, but the model names {len(names)} classes")
    inference_started = time.perf_counter()
    logits, coords = infer(model, images)
    inference_seconds = time.perf_counter() - inference_started
    probabilities = metrics.softmax(logits)
    predictions = probabilities.argmax(axis=1)
    counts = metrics.confusion_matrix(labels, predictions, len(names))
    accuracy = float((predictions == labels).mean())

    with atomic_path(out / "embeddings.npz") as tmp:
        np.savez_compressed(
            tmp, indices=np.arange(len(labels)), labels=labels, predictions=predictions,
            probabilities=probabilities.astype(np.float32), coords=coords,
        )
    figures.confusion_figure(counts, names, accuracy, out / "confusion_matrix.png")
    head = metrics.fit_linear_head(coords, logits)
    plane, projection, axis_labels = plane_of(coords)
    regions_drawn = coords.shape[1] == 2 and head["linear"]
    xlim, ylim = figures.padded_limits(plane)
    regions = figures.region_image(head["weight"], head["bias"], xlim, ylim) if regions_drawn else None
    figures.bottleneck_map(
        plane, labels, names, regions,
        f"All {len(labels):,} test images in the bottleneck" + (" (PCA)" if projection == "pca" else ""),
        axis_labels, out / "bottleneck_map.png",
    )
    hard = hard_negatives(images, labels, predictions, probabilities, names, inputs.top_k, out)
    calibration = metrics.reliability(probabilities, labels)
    listed = [item["confidence"] for cls in hard for item in cls["items"]]
    calibration["mean_confidence_hard_negatives"] = float(np.mean(listed)) if listed else None
    figures.calibration_figure(calibration, out / "calibration.png")
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
        "dataset": {"images": int(len(labels)), "sha256": sha256, "matches_model": same_data},
        "class_names": names,
        "accuracy": accuracy,
        "correct": int((predictions == labels).sum()),
        "total": int(len(labels)),
        "confusion_matrix": {
            "class_names": names,
            "rows": "true class",
            "columns": "predicted class",
            "counts": counts.tolist(),
            "row_normalised": metrics.row_normalised(counts).tolist(),
        },
        "per_class": metrics.per_class_metrics(counts, names),
        "most_confused": metrics.most_confused(counts, names),
        "overlapping_pairs": metrics.overlapping_pairs(counts, names),
        "hard_negatives": {
            "k": inputs.top_k,
            "ranking": "softmax probability of the wrong predicted class, highest first; ties by test index",
            "classes": hard,
        },
        "bottleneck": {
            "dim": int(coords.shape[1]),
            "projection": projection,
            "head": head,
            "regions_drawn": regions_drawn,
            "class_centres": [plane[labels == c].mean(axis=0).tolist() for c in range(len(names))],
            "fisher_ratio": metrics.fisher_ratio(coords, labels),
        },
        "calibration": calibration,
        "figures": {
            "confusion_matrix": "confusion_matrix.png",
            "bottleneck_map": "bottleneck_map.png",
            "calibration": "calibration.png",
        },
        "snapshots": None,
        "history": None,
    }
    replay = None
    if inputs.snapshots:
        results["snapshots"], replay = animate(inputs.snapshots, names, out)
        results["figures"]["information_bottleneck"] = "information_bottleneck.gif"
        if results["snapshots"]["information_plane"]:
            results["figures"]["information_plane"] = "information_plane.png"
            results["figures"]["information_curves"] = "information_curves.png"
    results["explorer"] = explorer.write_explorer(
        out, images, labels, predictions, probabilities.max(axis=1), plane, names, replay
    )
    if inputs.history:
        history = json.loads(Path(inputs.history).read_text(encoding="utf-8"))
        figures.training_curves(history, out / "training_curves.png")
        results["figures"]["training_curves"] = "training_curves.png"
        results["history"] = history
    results["timing"] = {
        "inference_seconds": inference_seconds,
        "images_per_second": len(labels) / inference_seconds,
        "total_seconds": time.perf_counter() - started,
    }
    write_json(out / "results.json", results)
    return results
