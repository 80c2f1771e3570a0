"""The overview's findings, chosen from results.json: the most confused pair of classes, the best
and worst class, and how far the classes separated in the bottleneck; the run folder that
"Reproduce it" names; and where the model came from (trained here, adopted, or neither), which the
overview and the model page say instead of describing a model the project did not train.

Only the choices are made here (which pair, which class, which ratios); `index.md.j2` writes the
sentences, and every value it shows goes through `markup.finalize` like any other.
"""

from __future__ import annotations

import json
from pathlib import PurePath

from markupsafe import Markup


def confused_pair(results: dict) -> dict | None:
    """The unordered pair of classes with the most test images of one predicted as the other:
    {classes, indices, count, each_way: [a predicted as b, b predicted as a]}; None when nothing is
    wrong. The indices name the two cells the overview links to (`confusion.html#cell-a-b`)."""
    pairs = results["confusion"]["overlapping_pairs"]
    if not pairs:
        return None
    counts = results["confusion"]["matrix"]["counts"]
    a, b = pairs[0]["indices"]
    return {"classes": pairs[0]["classes"], "indices": [a, b], "count": pairs[0]["count"],
            "each_way": [counts[a][b], counts[b][a]]}


def best_and_worst(results: dict) -> dict | None:
    """The classes with the highest and lowest F1 score among those with test images (ties: the
    lower class index), or None when no class has any."""
    rows = [row for row in results["confusion"]["per_class"] if row["support"] > 0]
    if not rows:
        return None
    best = max(rows, key=lambda row: row["f1"])  # max and min keep the first of equal values
    worst = min(rows, key=lambda row: row["f1"])
    return {"best": best, "worst": worst, "equal": best["f1"] == worst["f1"]}


def separation(results: dict) -> dict:
    """How the classes separated: {state, ratio, first, last, first_step, grew}.

    state: "collapsed" (every test image on one point), "points" (each class on one point of its
    own, the ratio is infinite) or "ratio" (the between- over within-class spread of all test
    images). first/last: the probe images' ratio at the first and last snapshot, when the analysis
    had snapshots and both are finite.
    """
    block = results["bottleneck"]
    found = {"state": "ratio", "ratio": block["fisher_ratio"], "first": None, "last": None, "first_step": None,
             "grew": None}
    if block.get("collapsed"):
        found["state"] = "collapsed"
    elif block["fisher_ratio"] is None:
        found["state"] = "points"
    animation = block["animation"]
    if animation and animation["fisher_ratio"][0] is not None and animation["fisher_ratio"][-1] is not None:
        first, last = animation["fisher_ratio"][0], animation["fisher_ratio"][-1]
        found.update(first=first, last=last, first_step=animation["steps"][0], grew=last > first,
                     probes=animation["probe_images"])
    return found


def analysed_run(results: dict) -> str | None:
    """The run folder as the analysis named it: the folder of its `--out` when that is `RUN/analysis`
    (what `make` passes), else None. "Reproduce it" writes the run with it, so all the paths of its
    commands are of the kind the analysis was given, relative (from where it ran) or absolute,
    never a mix of the two."""
    out = PurePath(results["config"]["out"])
    return str(out.parent) if out.name == "analysis" else None


def origin(results: dict) -> dict:
    """Where the model came from, read from its metadata: `adopted` (the `adopted_from` that
    `python -m exporter.adopt` writes: source file, producer, sha256, tensors used) or None;
    `trained_here` when this project's exporter wrote it (`created_by`) and nothing adopted it;
    `file`, the analysed file's name as a Python string literal, for the model page's snippet."""
    meta = results["model"]["metadata"]
    try:
        adopted = json.loads(meta.get("adopted_from", "null"))
    except json.JSONDecodeError:
        adopted = None
    name = PurePath(results["model"]["path"].replace("\\", "/")).name
    return {"adopted": adopted if adoption_record(adopted) else None,
            "trained_here": meta.get("created_by", "").startswith("fmnist-bottleneck") and "adopted_from" not in meta,
            "file": Markup(json.dumps(name))}


def adoption_record(value: object) -> bool:
    """Whether `value` has the fields the pages show; metadata is data, and may be anything."""
    return (isinstance(value, dict) and all(isinstance(value.get(k), str) for k in ("source", "producer", "sha256"))
            and all(isinstance(value.get(k), dict) and isinstance(value[k].get("tensor"), str)
                    for k in ("logits", "bottleneck")))


def findings(results: dict) -> dict:
    return {"pair": confused_pair(results), "classes": best_and_worst(results), "separation": separation(results),
            "analysed_run": analysed_run(results), "origin": origin(results)}
