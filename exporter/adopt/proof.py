"""Proof that the adopted model computes what the original computes, over the whole test set.

The original runs as it was given (one image at a time when its batch is fixed, so the check also
covers the batch axis made dynamic), fed in its own layout, range and float type, with the chosen
tensors as extra outputs; the adopted model runs in batches through the analyzer's own loop. The
figures go into `adopt_report.json`; `problems(report)` lists what is out of tolerance.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort

from exporter.adopt.rewrite import Plan
from exporter.adopt.source import AdoptError, Source, feed, session
from fmnist_common.interface import OUTPUT_NAMES, run_batches

BATCH = 500  # images per run of a model with a dynamic batch axis
PROBABILITY_TOLERANCE = 1e-4  # largest allowed |difference| of any softmax probability
BOTTLENECK_TOLERANCE = 1e-4  # largest allowed |difference| of a bottleneck value, relative to max(1, max |value|)
NEAR_TIE = 1e-5  # original's probabilities of two classes closer than this: either may be the prediction


def original_run(source: Source, plan: Plan, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(scores (N, C_in), bottleneck (N, D)) float64 of the original model, run as it was exported."""
    names = [plan.scores, plan.bottleneck]
    run = session(source.model, names)
    step = source.batch or BATCH
    parts = []
    for start in range(0, len(images), step):
        chunk = images[start : start + step]
        padded = np.concatenate([chunk, np.zeros((step - len(chunk), 28, 28), np.uint8)]) if source.batch else chunk
        scores, coords = run.run(names, {source.input_name: feed(source, padded, plan.scale, plan.shift)})
        parts.append((scores[: len(chunk)], coords[: len(chunk)].reshape(len(chunk), -1)))
    return tuple(np.concatenate([p[i] for p in parts]).astype(np.float64) for i in range(2))


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def compare(source: Source, plan: Plan, adopted: bytes, images: np.ndarray, labels: np.ndarray) -> dict:
    """The figures of the proof: predictions image by image, softmax probabilities, bottleneck."""
    scores, coords = original_run(source, plan, images)
    probabilities = scores if plan.log else softmax(scores)  # (N, C_in), the original's
    ordered = np.zeros((len(images), len(plan.columns)))  # in class order; 0 for a class the model lacks
    for index, column in enumerate(plan.columns):
        if column is not None:
            ordered[:, index] = probabilities[:, column]
    options = ort.SessionOptions()
    options.log_severity_level = 3
    adopted_session = ort.InferenceSession(adopted, options, providers=["CPUExecutionProvider"])
    try:
        logits, bottleneck = run_batches(adopted_session, images, BATCH)
    except Exception as exc:  # onnxruntime raises several unrelated types for a failed run
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise AdoptError(f"the adopted model fails on a batch of {BATCH} images ({first}); a batch size may be "
                         f"baked into {source.path} beyond its input and Reshapes: export it with a dynamic "
                         "batch axis") from exc
    expected, predicted = ordered.argmax(axis=1), logits.argmax(axis=1)
    rows = np.arange(len(images))
    differ = expected != predicted
    ties = differ & (ordered[rows, expected] - ordered[rows, predicted] < NEAR_TIE)
    return {
        "images": len(images),
        "predictions_equal": int((~differ).sum()),
        "near_ties": int(ties.sum()),
        "predictions_differ": int((differ & ~ties).sum()),
        "max_abs_diff_probabilities": float(np.abs(softmax(logits.astype(np.float64)) - ordered).max()),
        "max_abs_diff_bottleneck": float(np.abs(bottleneck - coords).max()),
        "bottleneck_scale": float(max(1.0, np.abs(coords).max())),
        "original_run": "one image at a time" if source.batch == 1 else f"in batches of {source.batch or BATCH}",
        "adopted_run": f"in batches of {BATCH}",
        "test_accuracy_original": float((expected == labels).mean()),
        "test_accuracy": float((predicted == labels).mean()),
        "outputs": list(OUTPUT_NAMES),
    }


def problems(report: dict) -> list[str]:
    """What is out of tolerance, in words; empty when the adopted model computes what the original does."""
    found = []
    if report["predictions_differ"]:
        found.append(f"{report['predictions_differ']:,} of {report['images']:,} predictions differ")
    if report["max_abs_diff_probabilities"] > PROBABILITY_TOLERANCE:
        found.append(f"softmax probabilities differ by up to {report['max_abs_diff_probabilities']:.2e} "
                     f"(tolerance {PROBABILITY_TOLERANCE:g})")
    if report["max_abs_diff_bottleneck"] > BOTTLENECK_TOLERANCE * report["bottleneck_scale"]:
        found.append(f"the bottleneck differs from the chosen tensor by up to {report['max_abs_diff_bottleneck']:.2e}")
    return found
