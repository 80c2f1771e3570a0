"""The training-dynamics page's subject: the data map of the training images (dataset cartography,
Swayamdipta et al. 2020), their forgetting events (Toneva et al. 2019) and the test images'
histories, all from the trainer's `dynamics.npz` (`--dynamics`).

Per training image, over the E epochs: confidence c = mean true-label probability, variability
v = population standard deviation of it. Writes `data_map.png`, `forgetting.png` and, when the
training files are in the data folder, `dynamics/train_<index>.png` thumbnails of the hardest-to-learn
and the most ambiguous training images (the final model's prediction for them is run here: the
file records no predictions). Block None without `--dynamics`.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np

from analyzer import metrics
from analyzer.figures import DPI, plt, save_canvas, thumbnail
from analyzer.inputs import TIE_TOLERANCE, Dynamics, Inputs, Subject, near_ties
from analyzer.onnx_model import infer

FIGURES = {"data_map": "data_map.png", "forgetting": "forgetting.png"}
THUMBNAILS = "dynamics"
MAP_PIXELS = (535, 633)  # (rows, columns) of the rasterised data map: its axes' size in the PNG
# The region thresholds on (c, v): easy-to-learn c >= easy_at_least and v < variability_below,
# hard-to-learn c < hard_below and v < variability_below, ambiguous the rest.
THRESHOLDS = {"hard_below": 0.25, "easy_at_least": 0.75, "variability_below": 0.2}
HARDEST_PER_CLASS = 5
AMBIGUOUS_SHOWN = 10
REGIONS = ("easy-to-learn", "ambiguous", "hard-to-learn")
NO_TRAIN_FILES = ("the data folder holds no training files, so the training images' labels and pictures are "
                  "unknown: no per-class figures and no thumbnails")


def cartography(probability: np.ndarray, correct: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N,) confidence, variability (population std, ddof 0) and share of epochs correct, from
    (E, N) true-label probabilities and correctness."""
    return probability.mean(axis=0), probability.std(axis=0), correct.mean(axis=0)


def regions(confidence: np.ndarray, variability: np.ndarray, thresholds: dict) -> np.ndarray:
    """(N,) index into REGIONS of each image's region."""
    steady = variability < thresholds["variability_below"]
    region = np.ones(len(confidence), dtype=np.int64)  # ambiguous unless steady at one end
    region[steady & (confidence >= thresholds["easy_at_least"])] = 0
    region[steady & (confidence < thresholds["hard_below"])] = 2
    return region


def forgetting_events(correct: np.ndarray) -> np.ndarray:
    """(N,) number of epochs e at which an image was right and is wrong at e + 1."""
    return (correct[:-1] & ~correct[1:]).sum(axis=0)


def map_figure(confidence: np.ndarray, variability: np.ndarray, share: np.ndarray, epochs: int, counts: dict,
               thresholds: dict, path: Path) -> None:
    """Confidence against variability, every point coloured by its epochs right, with the regions'
    boundaries. The points are rasterised here into one image (2x2 pixels each, in random order so
    that no colour is drawn over the others throughout): matplotlib draws it in one step, where a
    scatter of 60,000 markers took over 1 s on 2 cores."""
    fig, ax = plt.subplots(figsize=(7.2, 5.6), layout="constrained", dpi=DPI)  # saved as laid out
    cmap = plt.get_cmap("viridis", epochs + 1)
    norm = matplotlib.colors.Normalize(-0.5, epochs + 0.5)
    order = np.random.default_rng(0).permutation(len(confidence))
    columns = np.minimum((variability[order] / 0.5 * MAP_PIXELS[1]).astype(np.int64), MAP_PIXELS[1] - 2)
    rows = np.minimum(((1 - confidence[order]) * MAP_PIXELS[0]).astype(np.int64), MAP_PIXELS[0] - 2)
    picture = np.zeros((*MAP_PIXELS, 4))  # transparent where no image lies
    colours = cmap(norm(np.rint(share[order] * epochs)))
    for dr in (0, 1):
        for dc in (0, 1):
            picture[rows + dr, columns + dc] = colours
    ax.imshow(picture, extent=(0, 0.5, 0, 1), aspect="auto", interpolation="nearest")
    bar = fig.colorbar(matplotlib.cm.ScalarMappable(norm, cmap), ax=ax, ticks=range(epochs + 1), pad=0.02)
    bar.set_label(f"epochs right (of {epochs})")
    low, high, steady = thresholds["hard_below"], thresholds["easy_at_least"], thresholds["variability_below"]
    edge = {"color": "crimson", "linewidth": 1.2}
    ax.plot([0, steady, steady, 0], [high, high, 1, 1], **edge)
    ax.plot([0, steady, steady, 0], [0, 0, low, low], **edge)
    box = {"boxstyle": "round,pad=0.2", "facecolor": "white", "alpha": 0.85, "edgecolor": "none"}
    ax.text(steady / 2, (high + 1) / 2, f"easy-to-learn\n{counts['easy-to-learn']:,}", ha="center", va="center",
            fontsize=9, bbox=box)
    ax.text(steady / 2, low / 2, f"hard-to-learn\n{counts['hard-to-learn']:,}", ha="center", va="center",
            fontsize=9, bbox=box)
    ax.text(0.38, 0.5, f"ambiguous\n{counts['ambiguous']:,}", ha="center", va="center", fontsize=9, bbox=box)
    ax.set_xlim(0, 0.5)  # a probability's population std is at most 0.5
    ax.set_ylim(0, 1)
    ax.set_xlabel("variability (std of the true-label probability over epochs)")
    ax.set_ylabel("confidence (mean true-label probability)")
    ax.set_title(f"Data map of {len(confidence):,} training images over {epochs} epochs")
    save_canvas(fig, path)  # no "tight" box: it would draw the figure twice more


def forgetting_figure(histogram: list[dict], path: Path) -> None:
    """Training images by their number of forgetting events, the never-learned ones apart."""
    fig, ax = plt.subplots(figsize=(6.4, 3.6), layout="constrained", dpi=DPI)
    labels = [row["events"] for row in histogram]
    counts = [row["images"] for row in histogram]
    bars = ax.bar(range(len(labels)), counts, color=["grey"] + ["tab:blue"] * (len(labels) - 1))
    # "unforgettable" names the 0 bar above it, not under it: a long run has a dozen bars, and a second
    # line under the 0 tick ran into the "never learned" beside it
    ax.bar_label(bars, [f"{n:,}" + ("\nunforgettable" if k == 1 else "") for k, n in enumerate(counts)], fontsize=8)
    ax.set_xticks(range(len(labels)), ["never\nlearned"] + [str(label) for label in labels[1:]])
    ax.set_yscale("symlog", linthresh=10)
    ax.set_xlabel("forgetting events (right at one epoch, wrong at the next)")
    ax.set_ylabel("training images")
    ax.set_ylim(0, max(counts) * 10 if max(counts) else 1)  # a decade above the tallest bar for its two lines
    ax.set_title("Forgetting events per training image")
    save_canvas(fig, path)  # no "tight" box: it would draw the figure twice more


def forgetting_block(correct: np.ndarray, labels: np.ndarray | None, names: list[str]) -> dict:
    """The totals, the histogram and (with the training labels) the classes forgotten most."""
    events = forgetting_events(correct)
    learned = correct.any(axis=0)
    forgotten = events > 0
    histogram = [{"events": "never learned", "images": int((~learned).sum())}]
    histogram += [{"events": k, "images": int((learned & (events == k)).sum())} for k in range(len(correct) // 2 + 1)]
    per_class = None
    if labels is not None:
        per_class = []
        for c, name in enumerate(names):
            mine = labels == c
            n = int(mine.sum())
            per_class.append({
                "class": name, "images": n, "events": int(events[mine].sum()),
                "forgotten_at_least_once": int(forgotten[mine].sum()),
                "share_forgotten": float(forgotten[mine].mean()) if n else 0.0,
                "never_learned": int((~learned[mine]).sum()),
            })
        per_class.sort(key=lambda row: -row["share_forgotten"])
    return {
        "events_total": int(events.sum()),
        "never_learned": int((~learned).sum()),
        "unforgettable": int((learned & ~forgotten).sum()),
        "forgotten_at_least_once": int(forgotten.sum()),
        "histogram": histogram,
        "per_class": per_class,
    }


def training_images(inputs: Inputs, indices: list[int], stats: dict, out: Path) -> list[dict]:
    """Each chosen training image: its thumbnail, label, measured dynamics and the final model's
    prediction (run here on these few images)."""
    train, names = inputs.train, inputs.evaluation.class_names
    logits, _, _ = infer(inputs.model, train.images[indices], inputs.config.batch_size, "training images shown on "
                         "the training dynamics page", lambda k: f"training image {indices[k]}")
    probabilities = metrics.softmax(logits)
    rows = []
    for index, p in zip(indices, probabilities, strict=True):
        name = f"{THUMBNAILS}/train_{index}.png"
        thumbnail(train.images[index], out / name)
        predicted = int(p.argmax())
        rows.append({
            "train_index": int(index), "label": names[train.labels[index]], "image": name,
            "confidence": float(stats["confidence"][index]), "variability": float(stats["variability"][index]),
            "correct_epochs": int(stats["right"][index]), "region": REGIONS[stats["region"][index]],
            "final_prediction": names[predicted], "final_probability": float(p[predicted]),
        })
    return rows


def chosen(confidence: np.ndarray, variability: np.ndarray, labels: np.ndarray, classes: int) -> tuple[list, list]:
    """Per class the HARDEST_PER_CLASS lowest-confidence images (ties: steadier first, then index),
    and the AMBIGUOUS_SHOWN most variable images overall (ties by index)."""
    order = np.lexsort((np.arange(len(confidence)), variability, confidence))
    hardest = [[int(i) for i in order[labels[order] == c][:HARDEST_PER_CLASS]] for c in range(classes)]
    ambiguous = np.lexsort((np.arange(len(variability)), -variability))[:AMBIGUOUS_SHOWN]
    return hardest, [int(i) for i in ambiguous]


def shown_images(inputs: Inputs, stats: dict, labels: np.ndarray, out: Path) -> tuple[list[dict], list[dict]]:
    """Per class its hardest-to-learn images with the class's region count, and the most ambiguous."""
    names = inputs.evaluation.class_names
    hardest_indices, ambiguous_indices = chosen(stats["confidence"], stats["variability"], labels, len(names))
    flat = training_images(inputs, [i for row in hardest_indices for i in row] + ambiguous_indices, stats, out)
    hardest, start = [], 0
    for c, row in enumerate(hardest_indices):
        hardest.append({"class": names[c], "hard_to_learn": int(((labels == c) & (stats["region"] == 2)).sum()),
                        "images_of_class": int((labels == c).sum()), "items": flat[start:start + len(row)]})
        start += len(row)
    return hardest, flat[start:]


def test_images_block(dynamics: Dynamics, inputs: Inputs) -> dict:
    """The test images over training, and how the last epoch agrees with the model analysed."""
    ev = inputs.evaluation
    right = dynamics.test_correct
    ties = near_ties(ev)
    return {
        "images": int(right.shape[1]),
        "right_at_every_epoch": int(right.all(axis=0).sum()),
        "never_right": int((~right.any(axis=0)).sum()),
        "learned_then_lost": int((right.any(axis=0) & ~right[-1]).sum()),
        "wrong_then_right_at_the_end": int((~right.all(axis=0) & right[-1]).sum()),
        "last_epoch_accuracy": float(right[-1].mean()),
        "model_accuracy": ev.accuracy,
        "near_ties": int(ties.sum()),
        "tie_tolerance": TIE_TOLERANCE,
    }


def analyse(inputs: Inputs, out: Path) -> Subject:
    """The data map, forgetting and test histories under `out`; None when no dynamics were given."""
    dynamics = inputs.dynamics
    if dynamics is None:
        return Subject(None)
    names = inputs.evaluation.class_names
    epochs, width = dynamics.train_correct.shape
    confidence, variability, share = cartography(dynamics.train_true_probability, dynamics.train_correct)
    region = regions(confidence, variability, THRESHOLDS)
    counts = {name: int((region == r).sum()) for r, name in enumerate(REGIONS)}
    right = dynamics.train_correct
    late_only = ~right[0] & right[1:].all(axis=0) if epochs > 1 else np.zeros(width, dtype=bool)
    map_figure(confidence, variability, share, epochs, counts, THRESHOLDS, out / FIGURES["data_map"])
    labels = inputs.train.labels[:width] if inputs.train is not None else None
    forgetting = forgetting_block(dynamics.train_correct, labels, names)
    forgetting_figure(forgetting["histogram"], out / FIGURES["forgetting"])
    stats = {"confidence": confidence, "variability": variability, "right": right.sum(axis=0), "region": region}
    hardest, ambiguous = shown_images(inputs, stats, labels, out) if labels is not None else (None, None)
    return Subject({
        "epochs": epochs,
        "train_images": width,
        "train_images_note": None if labels is not None else NO_TRAIN_FILES,
        "cartography": {
            **THRESHOLDS,
            "counts": counts,
            "hardest_shown": HARDEST_PER_CLASS,
            "mean_confidence": float(confidence.mean()),
            # with few epochs one wrong first epoch alone makes an image ambiguous (the map's upper band)
            "ambiguous_wrong_only_at_first_epoch": int(((region == 1) & late_only).sum()),
            "hardest_per_class": hardest,
            "most_ambiguous": ambiguous,
        },
        "forgetting": forgetting,
        "test": test_images_block(dynamics, inputs),
    }, FIGURES)
