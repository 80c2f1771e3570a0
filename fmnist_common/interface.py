"""The ONNX model's interface, which every stage shares: names, input scaling, the batched run.

The exporter writes a graph with these names, checks it with this loop and the analyzer reads any
model through it, so the contract is stated once. Needs numpy and an onnxruntime session, no torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import onnxruntime as ort

INPUT_NAME = "image"
OUTPUT_NAMES = ("logits", "bottleneck")
INPUT_SHAPE = (1, 28, 28)  # after the batch axis
INPUT_RANGES = {"0..1": 255.0, "0..255": 1.0}  # metadata input_range -> divisor of the uint8 pixels
DEFAULT_RANGE = "0..1"  # a model without input_range metadata: the documented interface
PROBABILITY_TOLERANCE = 1e-3  # rows within this of summing to 1 (and non-negative) are probabilities


def as_input(images: np.ndarray, input_range: str = DEFAULT_RANGE) -> np.ndarray:
    """uint8 images (N, 28, 28) as the graph's input: float32 (N, 1, 28, 28) in [0, 1] (or [0, 255])."""
    return images[:, None].astype(np.float32) / INPUT_RANGES[input_range]


def run_batches(session: ort.InferenceSession, images: np.ndarray, batch_size: int,
                input_range: str = DEFAULT_RANGE) -> tuple[np.ndarray, np.ndarray]:
    """(logits, bottleneck) float32 of uint8 images (N, 28, 28), run `batch_size` at a time: the one
    batched-inference loop of the project (analysis, export parity, benchmark). Outputs of another
    numeric type are read as float32 here, so no later step meets integers or float16."""
    parts = [session.run(list(OUTPUT_NAMES), {INPUT_NAME: as_input(images[start : start + batch_size], input_range)})
             for start in range(0, len(images), batch_size)]
    logits, coords = (np.concatenate([p[i] for p in parts]).astype(np.float32, copy=False) for i in range(2))
    return logits, coords


def looks_like_probabilities(logits: np.ndarray) -> bool:
    """Whether every row of (N, C) is non-negative and sums to 1: a softmax (or sigmoid) output.

    Taking the log would make their softmax exact again, but it would hide what the model exports:
    the head stops being affine in the bottleneck (no decision regions), a probability that rounded
    to 0 becomes -inf, and confidences saturated at 1.0 in float32 no longer rank the hard negatives.
    """
    return bool((logits >= 0).all() and np.allclose(logits.sum(axis=1, dtype=np.float64), 1.0,
                                                    rtol=0, atol=PROBABILITY_TOLERANCE))
