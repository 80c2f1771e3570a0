"""Occlusion maps of the hard negatives: which part of the image made the model say the wrong class?

For every hard negative (the `hard_negatives` block's test indices) a P x P patch (P =
`--occlusion-patch`) set to 0, Fashion-MNIST's background, slides over the image in steps of
`--occlusion-stride`; the patch at position (i, j) covers rows i*stride ... i*stride + P - 1 and
the same columns, for i, j = 0 ... (28 - P) // stride. The model runs on every occluded copy in
batches (onnxruntime, `onnx_model.infer`); a copy whose patch covers only background is the image
itself and is not run (its change is exactly 0). Per position it records the drop of the
predicted (wrong) class's probability (original - occluded) and the rise of the true class's
(occluded - original).

Writes `occlusion.npz` (`test_index` (K,), `predicted_drop` and `true_rise` (K, H, W) float32),
and under `occlusion/` each image and its two maps overlaid (112 x 112 PNGs, numpy + PIL + a
colormap table) and one colour bar; the block says in words where covering changes most.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from PIL import Image

from analyzer import figures, hard_negatives, metrics
from analyzer.inputs import Inputs, Subject
from analyzer.onnx_model import infer
from fmnist_common.artifacts import atomic_path

FILE = "occlusion.npz"
FOLDER = "occlusion"
FILL = 0  # the patch's pixel value: the background of Fashion-MNIST
SIDE = 28
COLORMAP = "bwr"  # diverging, saturated early: red where covering helps the true class, blue the wrong one
LUT = (colormaps[COLORMAP](np.linspace(0, 1, 256))[:, :3] * 255).astype(np.uint8)  # (256, 3)
NICE_SCALES = (0.05, 0.1, 0.2, 0.25, 0.5, 1.0)  # the colour scale: the smallest holding every value
OPAQUE_FROM = 0.02  # a change of at least 2% of the scale is drawn opaque; smaller ones fade out
NOTICEABLE = 0.005  # a change under half a percentage point is not named as the largest


def grid_size(patch: int, stride: int) -> int:
    """Patch positions along one side: i = 0 ... (28 - patch) // stride."""
    return (SIDE - patch) // stride + 1


def occluded_copies(images: np.ndarray, patch: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """(K, H, W, 28, 28) uint8 copies, one per patch position, and (K, H, W) whether the patch
    covers any non-background pixel (otherwise the copy equals the image)."""
    size = grid_size(patch, stride)
    copies = np.repeat(images[:, None, None], size, axis=1).repeat(size, axis=2)
    changed = np.zeros((len(images), size, size), bool)
    for i in range(size):
        rows = slice(i * stride, i * stride + patch)
        for j in range(size):
            cols = slice(j * stride, j * stride + patch)
            changed[:, i, j] = images[:, rows, cols].any(axis=(1, 2))
            copies[:, i, j, rows, cols] = FILL
    return copies, changed


def occluded_probabilities(inputs: Inputs, indices: np.ndarray) -> tuple[np.ndarray, int]:
    """(K, H, W, C) softmax of the model on every occluded copy of the test images `indices`, and
    how many copies were run (those whose patch covers some non-background pixel)."""
    ev, config = inputs.evaluation, inputs.config
    copies, changed = occluded_copies(ev.images[indices], config.occlusion_patch, config.occlusion_stride)
    probabilities = np.broadcast_to(ev.probabilities[indices][:, None, None], (*changed.shape, len(ev.class_names)))
    probabilities = probabilities.copy()
    if changed.any():
        where = np.argwhere(changed)  # (copies, 3): hard negative, patch row, patch column of each copy run

        def copy(k: int) -> str:
            row, i, j = where[k]
            top, left = i * config.occlusion_stride, j * config.occlusion_stride
            return (f"test image {indices[row]} with the patch over rows {top}-{top + config.occlusion_patch - 1}, "
                    f"columns {left}-{left + config.occlusion_patch - 1}")

        logits, _, _ = infer(inputs.model, copies[changed], config.batch_size,
                             "copies of the hard negatives with one patch hidden, made for the occlusion maps, "
                             "although its outputs on the test images themselves are finite", copy)
        probabilities[changed] = metrics.softmax(logits)
    return probabilities, int(changed.sum())


def pixel_map(values: np.ndarray, patch: int, stride: int) -> np.ndarray:
    """(H, W) per-position values -> (28, 28): each pixel the mean over the patches covering it
    (0 where none does)."""
    total, count = np.zeros((SIDE, SIDE)), np.zeros((SIDE, SIDE))
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            total[i * stride : i * stride + patch, j * stride : j * stride + patch] += values[i, j]
            count[i * stride : i * stride + patch, j * stride : j * stride + patch] += 1
    return np.divide(total, count, out=np.zeros_like(total), where=count > 0)


def colour_position(values: np.ndarray, scale: float) -> np.ndarray:
    """Where on the colour bar (0 ... 1, 0.5 for no change) a change lies: the square root of
    |value| / scale, signed, so that changes of a few percentage points show and +-scale (or
    beyond) takes the bar's ends."""
    return 0.5 + 0.5 * np.sign(values) * np.sqrt(np.clip(np.abs(values) / scale, 0, 1))


def overlay(image: np.ndarray, values: np.ndarray, scale: float) -> np.ndarray:
    """(28, 28, 3) uint8: the image dimmed to grey under the map's colour from the colour bar.
    The colour is opaque from OPAQUE_FROM of the scale on and fades out below it, so a change of 0
    leaves the image as it is."""
    grey = np.repeat(image[..., None].astype(np.float64) * 0.75, 3, axis=2)
    colour = LUT[np.rint(colour_position(values, scale) * 255).astype(int)].astype(np.float64)
    alpha = np.clip(np.abs(values) / (OPAQUE_FROM * scale), 0, 1)[..., None] * 0.85
    return np.rint(grey * (1 - alpha) + colour * alpha).astype(np.uint8)


def ticks(scale: float) -> list[dict]:
    """The colour bar's ticks: value (probability) and place along the bar (0 ... 1)."""
    values = [-scale, -scale / 4, 0.0, scale / 4, scale]
    return [{"value": v, "at": float(colour_position(np.array(v), scale))} for v in values]


def save_png(pixels: np.ndarray, path: Path) -> None:
    """An RGB (28, 28, 3) array at the thumbnails' scale, nearest neighbour."""
    scale = figures.THUMBNAIL_SCALE
    picture = Image.fromarray(pixels, mode="RGB").resize((pixels.shape[1] * scale, pixels.shape[0] * scale),
                                                         Image.Resampling.NEAREST)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        picture.save(tmp, format="PNG")


def colour_bar(path: Path) -> None:
    """The colormap from -scale (left) to +scale (right), 256 x 12 px."""
    save_png(np.repeat(LUT[None], 3, axis=0), path)


def colour_scale(*maps: np.ndarray) -> float:
    """The colour bar's end: the smallest of NICE_SCALES holding the largest |change| of at least
    half the images (the median of their largest changes), so a few images whose answer flips do
    not wash out all the others; larger changes take the bar's end colours (and the page says so)."""
    largest = [float(np.abs(m[k]).max()) for m in maps for k in range(len(m))]
    typical = float(np.median(largest)) if largest else 0.0
    return next((s for s in NICE_SCALES if typical <= s), NICE_SCALES[-1])


def region(i: int, j: int, patch: int, stride: int) -> str:
    """Where the patch at (i, j) sits, in words: upper/centre/lower and left/centre/right by thirds."""
    def third(centre: float, words: tuple[str, str, str]) -> str:
        return words[min(int(centre * 3 / SIDE), 2)]

    vertical = third(i * stride + patch / 2, ("upper", "centre", "lower"))
    horizontal = third(j * stride + patch / 2, ("left", "centre", "right"))
    if vertical == horizontal == "centre":
        return "the centre"
    return f"the {vertical} {horizontal}" if horizontal != "centre" else f"the {vertical} centre"


def percent(p: float) -> str:
    """A probability as a percentage that never rounds 0.4% to "0%" or 99.96% to "100%"."""
    x = 100 * p
    return f"{x:.0f}%" if 1 <= x <= 99 else f"{x:.2f}%" if x >= 0.01 else f"{x:.1g}%"


def place(i: int, j: int, patch: int, stride: int) -> dict:
    r, c = i * stride, j * stride
    return {"row": i, "column": j, "rows": [r, r + patch - 1], "columns": [c, c + patch - 1],
            "region": region(i, j, patch, stride)}


def describe(drop: np.ndarray, rise: np.ndarray, p_pred: float, p_true: float, pred: str, true: str,
             patch: int, stride: int) -> dict:
    """The largest drop and rise, where they are, and one sentence saying so."""
    i, j = np.unravel_index(int(np.argmax(drop)), drop.shape)
    a, b = np.unravel_index(int(np.argmax(rise)), rise.shape)
    largest_drop, largest_rise = float(drop[i, j]), float(rise[a, b])
    lowered = {**place(int(i), int(j), patch, stride), "original": p_pred, "occluded": p_pred - largest_drop}
    raised = {**place(int(a), int(b), patch, stride), "original": p_true, "occluded": p_true + largest_rise}
    size = f"{patch}×{patch}"
    if largest_drop >= NOTICEABLE:
        first = (f"Covering {lowered['region']} (rows {lowered['rows'][0]}–{lowered['rows'][1]}, columns "
                 f"{lowered['columns'][0]}–{lowered['columns'][1]}) lowers {pred} from {percent(p_pred)} to "
                 f"{percent(lowered['occluded'])}")
    else:
        first = f"No {size} patch lowers {pred} ({percent(p_pred)}) by half a percentage point or more"
    same = (int(a), int(b)) == (int(i), int(j)) and largest_drop >= NOTICEABLE
    if largest_rise >= NOTICEABLE:
        second = (f"covering {'the same patch' if same else raised['region']} raises {true} from {percent(p_true)} to "
                  f"{percent(raised['occluded'])}")
    else:
        second = f"none raises {true} ({percent(p_true)}) by half a percentage point or more"
    return {"lowered": lowered, "raised": raised, "sentence": f"{first}; {second}."}


def analyse(inputs: Inputs, out: Path) -> Subject:
    """`occlusion.npz`, the overlays under `out/occlusion/` and the block: per hard negative its
    sentence, largest changes and image files."""
    started = time.perf_counter()
    ev, config = inputs.evaluation, inputs.config
    patch, stride = config.occlusion_patch, config.occlusion_stride
    size = grid_size(patch, stride)
    indices = np.array(hard_negatives.test_indices(inputs.blocks["hard_negatives"]), dtype=np.int64)
    probabilities, run = occluded_probabilities(inputs, indices)  # (K, H, W, C)
    predicted, true = ev.predictions[indices], ev.labels[indices]
    k = np.arange(len(indices))
    original = ev.probabilities[indices]  # (K, C)
    predicted_drop = (original[k, predicted][:, None, None] - probabilities[k, :, :, predicted]).astype(np.float32)
    true_rise = (probabilities[k, :, :, true] - original[k, true][:, None, None]).astype(np.float32)
    answers = probabilities.argmax(axis=-1)  # (K, H, W)
    with atomic_path(out / FILE) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, test_index=indices, predicted_drop=predicted_drop, true_rise=true_rise)
    scale = colour_scale(predicted_drop, true_rise)
    colour_bar(out / FOLDER / "colour_bar.png")
    names = ev.class_names
    items = []
    for row, index in enumerate(indices.tolist()):
        image = ev.images[index]
        files = {"image": f"{FOLDER}/test_{index}.png", "predicted_map": f"{FOLDER}/test_{index}_predicted_drop.png",
                 "true_map": f"{FOLDER}/test_{index}_true_rise.png"}
        save_png(np.repeat(image[..., None], 3, axis=2), out / files["image"])
        save_png(overlay(image, pixel_map(predicted_drop[row], patch, stride), scale), out / files["predicted_map"])
        save_png(overlay(image, pixel_map(true_rise[row], patch, stride), scale), out / files["true_map"])
        items.append({
            "test_index": index,
            "predicted_class": names[predicted[row]],
            "true_class": names[true[row]],
            **describe(predicted_drop[row], true_rise[row], float(original[row, predicted[row]]),
                       float(original[row, true[row]]), names[predicted[row]], names[true[row]], patch, stride),
            "positions_answering_true": int((answers[row] == true[row]).sum()),
            **files,
        })
    return Subject({
        "patch": patch,
        "stride": stride,
        "fill": FILL,
        "positions": [size, size],
        "file": FILE,
        "colormap": COLORMAP,
        "scale": scale,  # the colour bar runs from -scale to +scale (probability); beyond: its ends
        "largest_change": float(max(np.abs(predicted_drop).max(initial=0), np.abs(true_rise).max(initial=0))),
        "colour_bar": f"{FOLDER}/colour_bar.png",
        "opaque_from": OPAQUE_FROM,
        "colour_position": "0.5 + 0.5 sign(change) sqrt(min(|change| / scale, 1))",
        "ticks": ticks(scale),
        "copies_run": run,  # the others cover only background: the image itself
        "seconds": time.perf_counter() - started,
        "items": items,
    })
