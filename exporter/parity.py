"""Proof that the ONNX graph computes what the PyTorch model computes, on the whole test set.

Compares the model's fp32 outputs on the 10,000 test images (eval mode; those of the trainer's last
test pass when the checkpoint holds them, else a pass of its own) with onnxruntime's on the CPU and
returns the figures that `RUN/export_report.json` records; `failures(report)` lists what is out of
tolerance, and the exporter refuses to write a model while that list is not empty.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import torch

from fmnist_common.interface import as_input, run_batches
from trainer.model import EVAL_BATCH

TOLERANCE = 1e-4  # largest allowed |torch - onnxruntime| of any logit or bottleneck coordinate
BATCH_SIZES = (1, 7, 1000)  # must all give the same outputs for the same images
BATCH_CHECK_IMAGES = 1000  # images run at every batch size
CONSISTENCY_TOLERANCE = 1e-5


@torch.no_grad()
def run_torch(model: torch.nn.Module, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """fp32 outputs of `model` (eval mode), channels-last: oneDNN's fp32 kernels run about 1.5x
    quicker in that layout than in NCHW, for the same values. Leaves `model` channels-last."""
    model = model.to(memory_format=torch.channels_last)
    batches = (torch.from_numpy(images[i : i + EVAL_BATCH]).contiguous(memory_format=torch.channels_last)
               for i in range(0, len(images), EVAL_BATCH))
    outputs = [model(x) for x in batches]
    return tuple(torch.cat([o[k] for o in outputs]).numpy() for k in range(2))


def trainer_outputs(checkpoint: dict, images: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The fp32 (logits, bottleneck) of the trainer's last test pass, which the checkpoint's weights
    computed as this module's own pass would (eval mode, batches of EVAL_BATCH, channels-last); None
    when the checkpoint predates them or holds another number of images."""
    if "test_logits" not in checkpoint or len(checkpoint["test_logits"]) != len(images):
        return None
    return checkpoint["test_logits"].numpy(), checkpoint["test_bottleneck"].numpy()


def compare(model: torch.nn.Module, onnx_bytes: bytes, images: np.ndarray, labels: np.ndarray,
            recorded: tuple[np.ndarray, np.ndarray] | None = None) -> dict:
    """Figures of agreement between `model` and the serialized graph on uint8 `images`; `recorded`,
    the model's own outputs when the trainer kept them, spares a second PyTorch pass."""
    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    torch_logits, torch_z = recorded or run_torch(model, as_input(images))
    onnx_logits, onnx_z = run_batches(session, images, 1000)
    disagree = np.flatnonzero(torch_logits.argmax(1) != onnx_logits.argmax(1))
    top2 = np.sort(torch_logits, axis=1)[:, -2:]
    ties = np.flatnonzero(top2[:, 1] - top2[:, 0] <= TOLERANCE)
    subset = images[:BATCH_CHECK_IMAGES]
    by_batch = {b: run_batches(session, subset, b) for b in BATCH_SIZES}
    reference = by_batch[BATCH_SIZES[-1]]
    batch_diff = max(
        float(np.abs(out[k] - reference[k]).max()) for out in by_batch.values() for k in range(2)
    )
    return {
        "images": int(len(labels)),
        "torch_outputs": "the trainer's last test pass" if recorded else "the exporter's own pass",
        "max_abs_diff_logits": float(np.abs(torch_logits - onnx_logits).max()),
        "max_abs_diff_bottleneck": float(np.abs(torch_z - onnx_z).max()),
        "tolerance": TOLERANCE,
        "tie_tolerance": TOLERANCE,  # a disagreement where torch's top two logits are this close is a tie
        "prediction_disagreements": [int(i) for i in disagree],
        "near_ties": [int(i) for i in ties],
        "torch_accuracy": float((torch_logits.argmax(1) == labels).mean()),
        "onnx_accuracy": float((onnx_logits.argmax(1) == labels).mean()),
        "batch_sizes": list(BATCH_SIZES),
        "batch_consistency_images": int(len(subset)),
        "max_abs_diff_across_batch_sizes": batch_diff,
        "consistency_tolerance": CONSISTENCY_TOLERANCE,
    }


def failures(report: dict, trainer_accuracy: float) -> list[str]:
    """Every check of `report` that failed, as a sentence; empty when the export is sound."""
    problems = []
    for key in ("max_abs_diff_logits", "max_abs_diff_bottleneck"):
        if report[key] > TOLERANCE:
            problems.append(f"{key} = {report[key]:.3g} exceeds {TOLERANCE}")
    untied = sorted(set(report["prediction_disagreements"]) - set(report["near_ties"]))
    if untied:
        problems.append(f"torch and onnxruntime predict different classes for test images {untied[:10]}")
    trainer_correct = round(trainer_accuracy * report["images"])
    onnx_correct = round(report["onnx_accuracy"] * report["images"])
    if abs(onnx_correct - trainer_correct) > len(report["near_ties"]):
        problems.append(
            f"ONNX test accuracy {report['onnx_accuracy']:.4f} differs from the trainer's last "
            f"recorded {trainer_accuracy:.4f}; was the checkpoint evaluated on this test set?"
        )
    if report["max_abs_diff_across_batch_sizes"] > CONSISTENCY_TOLERANCE:
        problems.append(
            f"outputs change with the batch size by up to {report['max_abs_diff_across_batch_sizes']:.3g}"
        )
    return problems
