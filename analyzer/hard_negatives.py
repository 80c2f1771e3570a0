"""The hard-negatives page's subject: for each true class, the test images the model gets wrong
with the most confidence, their thumbnails, and the mean confidence of those shown (which the
calibration page quotes); their nearest training images are the `neighbours` subject's.

Ranked by the probability given to the (wrong) predicted class, highest first; equal
probabilities keep test-set order; a class with fewer misses says so and is never padded. With the
training dynamics (`--dynamics`), each item also gets its history over training ("right at epochs
3–17 of 24, wrong since").
Thumbnails go to `hard_neg/<Class>/hard_neg_<k>(<Pred>).png`, with class names made safe as file
names, cut to MAX_NAME_BYTES (and numbered when cut or when two names would collide).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from analyzer import figures, metrics
from analyzer.inputs import Inputs, Subject

UNSAFE = re.compile(r"[^\w .()-]+")  # anything but letters, digits, space, '.', '(', ')', '-'
# a folder name, and twice inside hard_neg_<k>(<Pred>).png: well under the 255 bytes file systems allow
MAX_NAME_BYTES = 100


def safe_name(name: str) -> str:
    """A class name as a file or folder name: separators, reserved and URL-special characters
    become '_', and leading or trailing dots and spaces go (no '..', no hidden files)."""
    cleaned = UNSAFE.sub("_", name).strip(" .")
    return cleaned or "_"


def shortened(name: str, index: int) -> str:
    """`name` if it fits in MAX_NAME_BYTES of UTF-8, else its longest head that does with `_<index>`
    appended, so that two long names sharing their first 100 bytes stay apart."""
    if len(name.encode()) <= MAX_NAME_BYTES:
        return name
    suffix = f"_{index}"
    head = name.encode()[: MAX_NAME_BYTES - len(suffix)].decode(errors="ignore")  # never half a character
    return head.rstrip(" .") + suffix


def folder_names(class_names: list[str]) -> list[str]:
    """One distinct safe name per class, at most MAX_NAME_BYTES (plus an index prefix): prefixed with
    the class index when two would collide."""
    names = [shortened(safe_name(n), i) for i, n in enumerate(class_names)]
    if len(set(names)) != len(names):
        names = [f"{i}_{n}" for i, n in enumerate(names)]
    return names


def hard_negative_indices(
    labels: np.ndarray, predictions: np.ndarray, probabilities: np.ndarray, true_class: int, k: int
) -> tuple[np.ndarray, int]:
    """Test indices of the top-k misclassified images of `true_class` and how many there are."""
    missed = np.flatnonzero((labels == true_class) & (predictions != true_class))
    confidence = probabilities[missed, predictions[missed]]
    order = np.lexsort((missed, -confidence))  # last key is primary
    return missed[order][:k], len(missed)


def test_indices(block: dict) -> list[int]:
    """The test index of every hard negative listed, class by class, rank by rank."""
    return [item["test_index"] for cls in block["classes"] for item in cls["items"]]


def analyse(inputs: Inputs, out: Path) -> Subject:
    """Thumbnails under `out`; the page's block of results.json."""
    ev, k = inputs.evaluation, inputs.config.top_k
    folders = folder_names(ev.class_names)
    classes = []
    for c, name in enumerate(ev.class_names):
        chosen, missed = hard_negative_indices(ev.labels, ev.predictions, ev.probabilities, c, k)
        items = []
        for rank, index in enumerate(chosen, start=1):
            predicted = int(ev.predictions[index])
            relative = f"hard_neg/{folders[c]}/hard_neg_{rank}({folders[predicted]}).png"
            figures.thumbnail(ev.images[index], out / relative)
            items.append({
                "rank": rank,
                "test_index": int(index),
                "true_class": name,
                "predicted_class": ev.class_names[predicted],
                "confidence": float(ev.probabilities[index, predicted]),
                "top3": metrics.top_classes(ev.probabilities[index], ev.class_names),
                "image": relative,
                **({"history": inputs.dynamics.test_history(int(index))} if inputs.dynamics else {}),
            })
        note = None if len(items) == k else f"only {len(items)} of {name}'s test images are misclassified"
        classes.append({"class": name, "index": c, "misclassified": missed, "items": items, "note": note})
    listed = [item["confidence"] for cls in classes for item in cls["items"]]
    return Subject({
        "k": k,
        "ranking": "softmax probability of the wrong predicted class, highest first; ties by test index",
        "classes": classes,
        "mean_confidence": float(np.mean(listed)) if listed else None,
    })
